"""`pymastery validate`: every problem as `file:line: message`, never a traceback."""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pymastery.core.loader import load_catalog
from pymastery.core.render import render_lesson
from tests.conftest import Learner

PROBLEM_LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+): (?P<message>.+)$")
MODULE_5 = "05-sqlalchemy-database-mastery"
SECTION_1 = f"{MODULE_5}/01-database-fundamentals-for-python"
SECTION_2 = f"{MODULE_5}/02-sqlalchemy-core-concepts"


def problems(learner: Learner, root: Path) -> list[tuple[str, int, str]]:
    result = learner.run("validate", str(root))
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    found = []
    for line in result.stdout.splitlines():
        match = PROBLEM_LINE.match(line)
        assert match, f"not a file:line: message line: {line!r}"
        found.append((match["file"], int(match["line"]), match["message"]))
    assert (result.returncode == 1) == bool(found), result.stderr
    return found


def edit_yaml(path: Path, change: Callable[[Any], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_project_curriculum_validates_cleanly(learner: Learner) -> None:
    result = learner.run("validate")
    assert result.returncode == 0, result.stdout
    assert "no problems in 16 modules, 231 sections" in result.stderr


def test_it_names_file_and_line_of_malformed_yaml(learner: Learner, curriculum_copy: Path) -> None:
    module_yaml = curriculum_copy / MODULE_5 / "module.yaml"
    lines = module_yaml.read_text(encoding="utf-8").splitlines()
    lines[5] = "title: [unclosed"
    module_yaml.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = problems(learner, curriculum_copy)
    assert any(
        file.endswith(f"{MODULE_5}/module.yaml") and "malformed YAML" in message
        for file, _, message in found
    ), found


def test_it_names_the_field_and_line_of_a_wrong_type(
    learner: Learner, curriculum_copy: Path
) -> None:
    quiz = curriculum_copy / SECTION_1 / "quiz.yaml"
    text = quiz.read_text(encoding="utf-8")
    quiz.write_text(re.sub(r"correct: true", "correct: [yes]", text, count=1), encoding="utf-8")
    found = problems(learner, curriculum_copy)
    hits = [(line, message) for file, line, message in found if file.endswith("quiz.yaml")]
    assert any("options" in message and "correct" in message for _, message in hits), found
    expected_line = next(
        number
        for number, line in enumerate(quiz.read_text(encoding="utf-8").splitlines(), start=1)
        if "correct: [yes]" in line
    )
    assert any(line == expected_line for line, _ in hits), (expected_line, hits)


def test_it_reports_bad_encoding_empty_and_missing_files(
    learner: Learner, curriculum_copy: Path
) -> None:
    (curriculum_copy / SECTION_1 / "lesson.md").write_bytes(b"## Why\n\xff\xfe broken\n")
    (curriculum_copy / SECTION_2 / "quiz.yaml").write_text("", encoding="utf-8")
    (curriculum_copy / SECTION_2 / "exercise" / "instructions.md").unlink()
    found = problems(learner, curriculum_copy)
    messages = {(Path(file).name, message) for file, _, message in found}
    assert any(
        name == "lesson.md" and "not valid UTF-8" in message for name, message in messages
    ), found
    assert ("quiz.yaml", "empty file") in messages, found
    assert ("instructions.md", "missing file") in messages, found


def test_it_reports_lesson_structure_problems(learner: Learner, curriculum_copy: Path) -> None:
    lesson = curriculum_copy / SECTION_1 / "lesson.md"
    edit(lesson, "## Common pitfalls", "## Gotchas")
    text = lesson.read_text(encoding="utf-8")
    first_include = re.search(r"```python file=(\w+\.py)", text)
    assert first_include
    lesson.write_text(
        text.replace(first_include[0], first_include[0] + " lines=1-99999", 1), encoding="utf-8"
    )
    found = problems(learner, curriculum_copy)
    messages = " | ".join(message for _, _, message in found)
    assert "part 6 must be '## Common pitfalls', found '## Gotchas'" in messages
    assert "is past the end of" in messages


def test_it_checks_quiz_rules(learner: Learner, curriculum_copy: Path) -> None:
    def shorten(quiz: Any) -> None:
        quiz["multiple_choice"][1]["options"][2]["explanation"] = "Wrong."
        quiz["discussion"][0]["sample_answer"] = "Too short to teach anything."

    edit_yaml(curriculum_copy / SECTION_2 / "quiz.yaml", shorten)
    found = problems(learner, curriculum_copy)
    messages = " | ".join(message for _, _, message in found)
    assert "multiple_choice[1].options[2]: the explanation must say exactly why" in messages
    assert "discussion[0]: the sample answer has 5 words; it needs 300–500" in messages


def test_it_finds_a_question_stem_repeated_in_another_section(
    learner: Learner, curriculum_copy: Path
) -> None:
    import yaml

    first = yaml.safe_load((curriculum_copy / SECTION_1 / "quiz.yaml").read_text())
    stem = first["multiple_choice"][0]["question"]
    second_path = curriculum_copy / SECTION_2 / "quiz.yaml"
    second = yaml.safe_load(second_path.read_text())
    second["multiple_choice"][2]["question"] = stem
    second_path.write_text(yaml.safe_dump(second, allow_unicode=True, sort_keys=False))
    found = problems(learner, curriculum_copy)
    assert any("the same question stands in section 5.1" in message for _, _, message in found), (
        found
    )


def test_it_finds_unbalanced_correct_positions(learner: Learner, curriculum_copy: Path) -> None:
    import yaml

    for section in (SECTION_1, SECTION_2):
        path = curriculum_copy / section / "quiz.yaml"
        quiz = yaml.safe_load(path.read_text())
        for question in quiz["multiple_choice"]:
            correct = next(o for o in question["options"] if o.get("correct"))
            question["options"].remove(correct)
            question["options"].insert(0, correct)
        path.write_text(yaml.safe_dump(quiz, allow_unicode=True, sort_keys=False))
    found = problems(learner, curriculum_copy)
    assert any("unbalanced" in message for _, _, message in found), found


def test_it_finds_a_prerequisite_cycle_and_a_path_to_nowhere(
    learner: Learner, curriculum_copy: Path
) -> None:
    edit_yaml(
        curriculum_copy / MODULE_5 / "module.yaml", lambda module: module.update(prerequisites=[6])
    )
    shutil.rmtree(curriculum_copy / "13-redis-caching-mastery")
    found = problems(learner, curriculum_copy)
    messages = " | ".join(message for _, _, message in found)
    assert "prerequisites form a cycle: 5 -> 6 -> 5" in messages, messages
    assert any(
        file.endswith("paths.yaml") and "names module 13, which does not exist" in message
        for file, _, message in found
    ), found
    assert "module 13 is missing" in messages


def test_it_checks_coverage_of_every_subtopic(learner: Learner, curriculum_copy: Path) -> None:
    def rename(section: Any) -> None:
        coverage = section["coverage"]
        coverage["DB-API 3.0 specification"] = coverage.pop("DB-API 2.0 specification")

    edit_yaml(curriculum_copy / SECTION_1 / "section.yaml", rename)
    found = problems(learner, curriculum_copy)
    messages = " | ".join(message for _, _, message in found)
    assert "subtopic 'DB-API 2.0 specification' from module.yaml is not mapped" in messages
    assert "'DB-API 3.0 specification' is not a subtopic of this section" in messages


def test_it_reports_every_problem_in_one_run(learner: Learner, curriculum_copy: Path) -> None:
    (curriculum_copy / SECTION_1 / "section.yaml").write_text("examples: [\n")
    (curriculum_copy / SECTION_2 / "exercise" / "exercise.yaml").write_text(
        "title: x\nfile: NotAModule.py\nhints: []\n"
    )
    (curriculum_copy / "paths.yaml").write_bytes(b"\x80\x81")
    found = problems(learner, curriculum_copy)
    files = {Path(file).name for file, _, _ in found}
    assert {"section.yaml", "exercise.yaml", "paths.yaml"} <= files, found


def test_json_output_lists_problems_for_machines(learner: Learner, curriculum_copy: Path) -> None:
    (curriculum_copy / SECTION_1 / "quiz.yaml").write_text("multiple_choice: 3\n")
    result = learner.run("validate", str(curriculum_copy), "--json")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert all(set(p) == {"file", "line", "message"} for p in document["problems"])
    assert any(p["file"].endswith("quiz.yaml") for p in document["problems"])


@pytest.mark.parametrize("seed", range(6))
def test_random_corruption_never_produces_a_traceback(
    learner: Learner, curriculum_copy: Path, seed: int
) -> None:
    chooser = random.Random(seed)
    files = sorted(
        p for p in curriculum_copy.rglob("*") if p.is_file() and p.suffix in {".yaml", ".md"}
    )
    for path in chooser.sample(files, 4):
        data = bytearray(path.read_bytes())
        for _ in range(8):
            position = chooser.randrange(len(data))
            data[position] = chooser.choice(b":-[{\n\t\x00\xff#`")
        path.write_bytes(bytes(data))
    result = learner.run("validate", str(curriculum_copy))
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode in (0, 1)
    for line in result.stdout.splitlines():
        assert PROBLEM_LINE.match(line), line


def module_5_problems(learner: Learner, root: Path) -> list[tuple[str, int, str]]:
    return [problem for problem in problems(learner, root) if MODULE_5 in problem[0]]


def test_unchanged_sections_keep_their_problems_and_edited_ones_are_checked_again(
    learner: Learner, curriculum_copy: Path
) -> None:
    lesson = curriculum_copy / SECTION_2 / "lesson.md"
    edit(lesson, "## Best practices", "## Good habits")
    first = module_5_problems(learner, curriculum_copy)
    assert any("Best practices" in message for _, _, message in first), first
    assert module_5_problems(learner, curriculum_copy) == first, (
        "a second run reports the same problems"
    )

    edit(lesson, "## Good habits", "## Best practices")
    assert module_5_problems(learner, curriculum_copy) == [], "the fixed section is checked again"

    module_file = curriculum_copy / MODULE_5 / "module.yaml"
    edit_yaml(module_file, lambda data: data["sections"][1]["subtopics"].append("Row caching"))
    found = module_5_problems(learner, curriculum_copy)
    assert any("Row caching" in message for _, _, message in found), (
        "a changed plan entry re-checks the section's coverage"
    )


def test_a_configuration_file_is_shown_only_when_an_example_checks_it(
    learner: Learner, curriculum_copy: Path
) -> None:
    section = curriculum_copy / SECTION_1
    (section / "examples" / "pgbouncer.ini").write_text(
        "[pgbouncer]\npool_mode = transaction\ndefault_pool_size = 20\n", encoding="utf-8"
    )
    edit(
        section / "lesson.md",
        "## Common pitfalls",
        "```ini file=pgbouncer.ini lines=2-3\n```\n\n## Common pitfalls",
    )
    found = problems(learner, curriculum_copy)
    assert [message for _, _, message in found] == [
        "examples/pgbouncer.ini is shown but no example names it: an example must parse and "
        "check it, so that CI proves what the learner reads"
    ], found
    example = next((section / "examples").glob("*.py"))
    example.write_text(
        example.read_text(encoding="utf-8") + "\n# pool settings: see pgbouncer.ini\n",
        encoding="utf-8",
    )
    assert problems(learner, curriculum_copy) == []
    lesson = learner.run("read", "5.1", "--root", str(curriculum_copy))
    assert "pool_mode = transaction" in lesson.stdout
    assert "# pgbouncer.ini" in lesson.stdout
    catalog, _ = load_catalog(curriculum_copy)
    shown = catalog.section("5.1")
    assert shown is not None and shown.content is not None
    page = render_lesson(shown.content).html
    assert "pgbouncer.ini, lines 2–3" in page, "the web lesson captions the file and its lines"
    assert "default_pool_size" in page and "[pgbouncer]" not in page
