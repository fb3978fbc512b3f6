"""`pymastery status`: completion computed from the checks, never set by hand."""

from __future__ import annotations

import json
from pathlib import Path

from pymastery.core.loader import load_catalog
from tests.conftest import Learner


def test_status_json_has_exactly_the_documented_shape(learner: Learner) -> None:
    result = learner.run("status", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == ["sections", "complete", "modules"]
    assert document["sections"] == 231
    assert [m["number"] for m in document["modules"]] == list(range(5, 21))
    for module in document["modules"]:
        assert list(module) == ["number", "id", "title", "sections", "complete"]
    assert document["complete"] == sum(m["complete"] for m in document["modules"])
    catalog, _ = load_catalog()
    assert document["complete"] == sum(s.complete for s in catalog.sections)
    assert document["modules"][0]["complete"] >= 3, "the pilot sections 5.1–5.3 are complete"


def test_a_broken_section_stops_counting_as_complete(
    learner: Learner, curriculum_copy: Path
) -> None:
    before = json.loads(learner.run("status", "--root", str(curriculum_copy), "--json").stdout)
    lesson = next(curriculum_copy.glob("05-*/01-*/lesson.md"))
    lesson.write_text(lesson.read_text().replace("## Best practices", "## Tips"))
    after = json.loads(learner.run("status", "--root", str(curriculum_copy), "--json").stdout)
    assert after["complete"] == before["complete"] - 1
    assert after["modules"][0]["complete"] == before["modules"][0]["complete"] - 1


def test_status_table_shows_modules_and_the_plan_progress_line(learner: Learner) -> None:
    result = learner.run("status")
    assert result.returncode == 0, result.stderr
    assert "/16 modules complete" in result.stdout
    assert "SQLAlchemy & Database Mastery" in result.stdout
    assert "Software Architecture & Design Patterns" in result.stdout


def test_the_home_screen_lists_how_to_start(learner: Learner) -> None:
    result = learner.run()
    assert result.returncode == 0, result.stderr
    assert "pymastery read 5.1" in result.stdout
    assert "Backend Engineer Path" in result.stdout


def test_reading_a_lesson_shows_the_example_files_own_text(learner: Learner) -> None:
    catalog, _ = load_catalog()
    section = catalog.section("5.1")
    assert section is not None and section.content is not None
    example = section.content.spec.examples[0]
    result = learner.run("read", "5.1")
    assert result.returncode == 0, result.stderr
    assert "Why this matters in production" in result.stdout
    first_code_line = next(
        line
        for line in section.content.example_path(example).read_text().splitlines()
        if line.strip() and not line.startswith(("#", '"""', "from", "import"))
    )
    assert first_code_line.strip()[:40] in result.stdout


def test_a_planned_section_reads_as_its_subtopics(learner: Learner) -> None:
    result = learner.run("read", "20.16")
    assert result.returncode == 0, result.stderr
    assert "Planned" in result.stdout


def test_an_unknown_section_gets_a_clear_message(learner: Learner) -> None:
    result = learner.run("read", "5.99")
    assert result.returncode == 1
    assert "no section '5.99'" in result.stderr
    assert "Traceback" not in result.stderr
