"""Static checks of the content against docs/content-format.md and the content guide."""

from __future__ import annotations

import ast
import difflib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from pymastery.core.lesson import PARTS, Include, outline
from pymastery.core.model import (
    Catalog,
    DiscussionKind,
    Project,
    QuestionKind,
    Section,
    SectionContent,
    SectionPlan,
)
from pymastery.core.plan import LEARNING_PATHS, SECTION_COUNTS, TOTAL_SECTIONS
from pymastery.core.problems import Problems
from pymastery.core.textfiles import YamlDocument, read_yaml

MIN_PART_WORDS = 80
MIN_LESSON_LINES = 400
MIN_EXPLANATION_WORDS = 10
MIN_STEM_WORDS = 8
SAMPLE_ANSWER_WORDS = (300, 500)
TESTS_PER_EXERCISE = (5, 15)
LEARNER_LINES = (20, 80)
MIN_INSTRUCTION_WORDS = 50
DESIGN_HEADINGS = ("Goal", "Objectives", "Out of scope")
BANNED_OPTIONS = re.compile(r"\b(all|none) of the above\b", re.IGNORECASE)
BANNED_PHRASES = re.compile(r"\bin this (section|lesson),? we will\b", re.IGNORECASE)


def words(text: str) -> int:
    return len(text.split())


class YamlLines:
    """Line numbers inside a YAML file, parsed only when a problem needs one."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @cached_property
    def document(self) -> YamlDocument | None:
        return read_yaml(self.path, Problems())

    def line(self, *location: int | str) -> int:
        return self.document.line_of(location) if self.document else 1


def check_section(content: SectionContent, plan: SectionPlan, problems: Problems) -> None:
    check_lesson(content, plan, problems)
    check_examples(content, problems)
    check_exercise(content, problems)
    check_quiz(content, problems)


def check_lesson(content: SectionContent, plan: SectionPlan, problems: Problems) -> None:
    path = content.folder / "lesson.md"
    lesson = outline(content.lesson)
    for line, message in lesson.bad_includes:
        problems.add(path, line, message)

    for heading in lesson.headings:
        if heading.level == 1:
            problems.add(
                path, heading.line, "no '#' title in a lesson: the title comes from module.yaml"
            )
    parts = [h for h in lesson.headings if h.level == 2]
    found = [h.text for h in parts]
    if found != list(PARTS):
        for position, expected in enumerate(PARTS):
            actual = parts[position] if position < len(parts) else None
            if actual is None:
                problems.add(
                    path, lesson.line_count, f"missing part {position + 1}: '## {expected}'"
                )
            elif actual.text != expected:
                problems.add(
                    path,
                    actual.line,
                    f"part {position + 1} must be '## {expected}', found '## {actual.text}'",
                )
        for extra in parts[len(PARTS) :]:
            problems.add(
                path,
                extra.line,
                f"unexpected '## {extra.text}': a lesson has exactly "
                "the eight parts; use ### below them",
            )
    for heading in parts:
        count = lesson.prose_words.get(heading.text, 0)
        if heading.text in PARTS and count < MIN_PART_WORDS:
            problems.add(
                path,
                heading.line,
                f"part '{heading.text}' has {count} words of prose; "
                f"a real part has at least {MIN_PART_WORDS}",
            )
    for number, text in enumerate(content.lesson.splitlines(), start=1):
        if BANNED_PHRASES.search(text):
            problems.add(
                path, number, "do not announce the section ('In this section we will'): teach"
            )

    examples_folder = content.folder / "examples"
    included_lines = 0
    shown: dict[str, set[str]] = defaultdict(set)
    for include in lesson.includes:
        if include.body.strip():
            problems.add(
                path,
                include.line,
                f"an include block must be empty: the learner reads "
                f"the {include.kind} itself, never a copy",
            )
        example = content.example(include.target)
        supporting = content.supporting_file(include.target) if include.kind == "file" else None
        if supporting is not None:
            if not any(
                supporting.name in (examples_folder / reader.file).read_text(errors="replace")
                for reader in content.spec.examples
                if (examples_folder / reader.file).is_file()
            ):
                problems.add(
                    path,
                    include.line,
                    f"examples/{supporting.name} is shown but no example names it: an example "
                    "must parse and check it, so that CI proves what the learner reads",
                )
            included_lines += included_line_count(supporting, include, path, problems)
            continue
        if example is None or not include.target.endswith(".py"):
            problems.add(
                path,
                include.line,
                f"{include.kind}={include.target} names no example in section.yaml "
                "(nor a configuration file in examples/)",
            )
            continue
        shown[example.file].add(include.kind)
        source = examples_folder / example.file
        if include.kind == "file" and source.is_file():
            included_lines += included_line_count(source, include, path, problems)
    for example in content.spec.examples:
        for kind, how in (("file", "```python file="), ("output", "```text output=")):
            if kind not in shown[example.file]:
                problems.add(
                    path,
                    lesson.line_count,
                    f"example {example.file} is never "
                    f"{'included' if kind == 'file' else 'shown with its output'} "
                    f"(add {how}{example.file} + closing fence)",
                )
    total_lines = lesson.line_count + included_lines
    if total_lines < MIN_LESSON_LINES:
        problems.add(
            path,
            1,
            f"lesson is {total_lines} lines with its included examples; the "
            f"plan asks at least {MIN_LESSON_LINES}",
        )

    section_yaml = YamlLines(content.folder / "section.yaml")
    headings = {h.text for h in lesson.headings if h.level in (2, 3)}
    covered = content.spec.coverage
    for subtopic in plan.subtopics:
        if subtopic not in covered:
            problems.add(
                section_yaml.path,
                section_yaml.line("coverage"),
                f"coverage: subtopic {subtopic!r} from module.yaml is not mapped to a "
                "lesson heading",
            )
    for subtopic, target in covered.items():
        if subtopic not in plan.subtopics:
            problems.add(
                section_yaml.path,
                section_yaml.line("coverage", subtopic),
                f"coverage: {subtopic!r} is not a subtopic of this section in module.yaml",
            )
        if target not in headings:
            problems.add(
                section_yaml.path,
                section_yaml.line("coverage", subtopic),
                f"coverage: heading {target!r} is not a ## or ### heading of lesson.md",
            )


def check_examples(content: SectionContent, problems: Problems) -> None:
    folder = content.folder / "examples"
    section_yaml = YamlLines(content.folder / "section.yaml")
    declared = {e.file for e in content.spec.examples}
    names = Counter(e.file for e in content.spec.examples)
    for index, example in enumerate(content.spec.examples):
        if names[example.file] > 1:
            problems.add(
                section_yaml.path,
                section_yaml.line("examples", index),
                f"example {example.file} is declared twice",
            )
        source = folder / example.file
        if not source.is_file():
            problems.add(
                section_yaml.path,
                section_yaml.line("examples", index, "file"),
                f"example file examples/{example.file} does not exist",
            )
        else:
            check_python_syntax(source, problems)
        expected = folder / f"{example.name}.out"
        if not expected.is_file():
            problems.add(
                section_yaml.path,
                section_yaml.line("examples", index, "file"),
                f"no recorded output examples/{example.name}.out (record it with "
                f"'pymastery run SECTION {example.name} --record')",
            )
    if folder.is_dir():
        for child in sorted(folder.iterdir()):
            if child.suffix == ".py" and child.name not in declared:
                problems.add(
                    child,
                    1,
                    "example is not declared in section.yaml (every example "
                    "is declared, included in the lesson and run)",
                )
            elif child.suffix == ".out" and f"{child.stem}.py" not in declared:
                problems.add(child, 1, "recorded output of no declared example")


def included_line_count(source: Path, include: Include, lesson: Path, problems: Problems) -> int:
    """How many of the file's lines the include shows; a range past its end is a problem."""
    total = len(source.read_text(encoding="utf-8", errors="replace").splitlines())
    if include.lines is not None and include.lines[1] > total:
        problems.add(
            lesson,
            include.line,
            f"lines={include.lines[0]}-{include.lines[1]} "
            f"is past the end of {source.name} ({total} lines)",
        )
    first, last = include.lines or (1, total)
    return min(last, total) - first + 1


def check_python_syntax(path: Path, problems: Problems) -> ast.Module | None:
    try:
        return ast.parse(path.read_bytes(), filename=str(path))
    except SyntaxError as error:
        problems.add(path, error.lineno or 1, f"Python syntax error: {error.msg}")
    except ValueError as error:
        problems.add(path, 1, f"cannot parse: {error}")
    return None


def count_tests(tree: ast.Module) -> int:
    count = 0
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            count += 1
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            count += sum(
                isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef)
                and member.name.startswith("test")
                for member in node.body
            )
    return count


def learner_lines(starter: str, solution: str) -> int:
    """Non-blank lines the solution adds to the starter."""
    old, new = starter.splitlines(), solution.splitlines()
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return sum(
        1
        for tag, _, _, start, end in matcher.get_opcodes()
        if tag in ("insert", "replace")
        for line in new[start:end]
        if line.strip()
    )


def check_exercise(content: SectionContent, problems: Problems) -> None:
    exercise = content.exercise
    yaml_lines = YamlLines(exercise.folder / "exercise.yaml")
    if words(exercise.instructions) < MIN_INSTRUCTION_WORDS:
        problems.add(
            exercise.folder / "instructions.md",
            1,
            f"instructions have "
            f"{words(exercise.instructions)} words; a task needs at least "
            f"{MIN_INSTRUCTION_WORDS}",
        )
    texts: dict[str, str] = {}
    for role, path in (
        ("starter", exercise.starter),
        ("solution", exercise.solution),
        ("tests", exercise.tests),
    ):
        if not path.is_file():
            problems.add(
                yaml_lines.path,
                yaml_lines.line("file"),
                f"the {role} {path.relative_to(content.folder)} does not exist",
            )
            continue
        tree = check_python_syntax(path, problems)
        texts[role] = path.read_text(encoding="utf-8", errors="replace")
        if role == "tests" and tree is not None:
            low, high = TESTS_PER_EXERCISE
            found = count_tests(tree)
            if not low <= found <= high:
                problems.add(path, 1, f"{found} tests; an exercise has {low}–{high}")
    if "starter" in texts and "TODO" not in texts["starter"]:
        problems.add(exercise.starter, 1, "the starter has no TODO for the learner")
    if "starter" in texts and "solution" in texts:
        added = learner_lines(texts["starter"], texts["solution"])
        low, high = LEARNER_LINES
        if not low <= added <= high:
            problems.add(
                exercise.solution,
                1,
                f"the solution adds {added} lines to the starter; "
                f"the learner should write {low}–{high}",
            )
    design = exercise.folder / ".meta" / "design.md"
    if not design.is_file():
        problems.add(design, 1, "missing design notes (## Goal, ## Objectives, ## Out of scope)")
    else:
        text = design.read_text(encoding="utf-8", errors="replace")
        for heading in DESIGN_HEADINGS:
            if not re.search(rf"^## {re.escape(heading)}\s*$", text, re.MULTILINE):
                problems.add(design, 1, f"design notes lack '## {heading}'")


def check_quiz(content: SectionContent, problems: Problems) -> None:
    quiz = content.quiz
    where = YamlLines(content.folder / "quiz.yaml")
    kinds = Counter(question.kind for question in quiz.multiple_choice)
    for kind in QuestionKind:
        if kinds[kind] != 1:
            problems.add(
                where.path,
                where.line("multiple_choice"),
                f"multiple_choice: needs exactly one '{kind}' question, found {kinds[kind]}",
            )
    for index, question in enumerate(quiz.multiple_choice):
        if words(question.question) < MIN_STEM_WORDS:
            problems.add(
                where.path,
                where.line("multiple_choice", index, "question"),
                f"multiple_choice[{index}]: the question is too short to test understanding",
            )
        correct = sum(option.correct for option in question.options)
        if correct != 1:
            problems.add(
                where.path,
                where.line("multiple_choice", index, "options"),
                f"multiple_choice[{index}]: exactly one option is correct, found {correct}",
            )
        texts = [option.text.strip().lower() for option in question.options]
        if len(set(texts)) != len(texts):
            problems.add(
                where.path,
                where.line("multiple_choice", index, "options"),
                f"multiple_choice[{index}]: two options have the same text",
            )
        for number, option in enumerate(question.options):
            loc = ("multiple_choice", index, "options", number)
            if BANNED_OPTIONS.search(option.text):
                problems.add(
                    where.path,
                    where.line(*loc, "text"),
                    f"multiple_choice[{index}].options[{number}]: no 'all/none of the "
                    "above' options",
                )
            if words(option.explanation) < MIN_EXPLANATION_WORDS:
                problems.add(
                    where.path,
                    where.line(*loc, "explanation"),
                    f"multiple_choice[{index}].options[{number}]: the explanation must "
                    f"say exactly why (at least {MIN_EXPLANATION_WORDS} words)",
                )
    discussion_kinds = Counter(question.kind for question in quiz.discussion)
    for discussion_kind in DiscussionKind:
        if discussion_kinds[discussion_kind] != 1:
            problems.add(
                where.path,
                where.line("discussion"),
                f"discussion: needs exactly one "
                f"'{discussion_kind}' question, found {discussion_kinds[discussion_kind]}",
            )
    for index, discussion in enumerate(quiz.discussion):
        if not re.search(r"\d", discussion.question):
            problems.add(
                where.path,
                where.line("discussion", index, "question"),
                f"discussion[{index}]: a scenario gives numbers (load, data size, team, "
                "constraints)",
            )
        count = words(discussion.sample_answer)
        low, high = SAMPLE_ANSWER_WORDS
        if not low <= count <= high:
            problems.add(
                where.path,
                where.line("discussion", index, "sample_answer"),
                f"discussion[{index}]: the sample answer has {count} words; it needs {low}–{high}",
            )


MIN_SPEC_WORDS = 300
MIN_ACCEPTANCE_TESTS = 8


def check_project(project: Project, problems: Problems) -> None:
    where = project.folder / "project.yaml"
    expected = f"{project.spec.capstone:02}-"
    if not project.folder.name.startswith(expected):
        problems.add(
            where, 1, f"the folder of capstone {project.spec.capstone} starts with {expected!r}"
        )
    if words(project.specification) < MIN_SPEC_WORDS:
        problems.add(
            project.folder / "spec.md",
            1,
            f"the specification has "
            f"{words(project.specification)} words; a learner builds from it, so it needs "
            f"at least {MIN_SPEC_WORDS}",
        )
    for role, root in (("starter", project.starter), ("reference", project.reference)):
        package = root / project.spec.package
        if not (package / "__init__.py").is_file():
            problems.add(
                where,
                1,
                f"the {role} has no package {project.spec.package}/ "
                f"(expected {package.relative_to(project.folder)}/__init__.py)",
            )
        for source in sorted(root.rglob("*.py")) if root.is_dir() else ():
            check_python_syntax(source, problems)
    tests = 0
    test_files = sorted(project.acceptance.glob("test_*.py")) if project.acceptance.is_dir() else []
    for test_file in test_files:
        tree = check_python_syntax(test_file, problems)
        tests += count_tests(tree) if tree is not None else 0
    if tests < MIN_ACCEPTANCE_TESTS:
        problems.add(
            where,
            1,
            f"the acceptance suite has {tests} tests; a capstone needs at "
            f"least {MIN_ACCEPTANCE_TESTS}",
        )


def normalized_stem(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9_]+", text.lower()))


def position_bounds(total: int) -> tuple[int, int]:
    return max(total // 4 - 1, 0), math.ceil(total / 4) + 1


def check_catalog(catalog: Catalog, problems: Problems) -> None:
    root = catalog.root
    numbers = [module.number for module in catalog.modules]
    for number, expected in SECTION_COUNTS.items():
        module = catalog.module(number)
        if module is None:
            problems.add(
                root,
                1,
                f"module {number} is missing (expected a folder {number:02}-<id> with module.yaml)",
            )
        elif len(module.sections) != expected:
            problems.add(
                module.folder / "module.yaml",
                1,
                f"module {number} has {len(module.sections)} sections; the plan has {expected}",
            )
    for number, count in Counter(numbers).items():
        if count > 1:
            problems.add(root, 1, f"module number {number} is used by {count} folders")
    total = sum(len(module.sections) for module in catalog.modules)
    if catalog.modules and total != TOTAL_SECTIONS and len(catalog.modules) == len(SECTION_COUNTS):
        problems.add(root, 1, f"{total} sections in all; the plan has {TOTAL_SECTIONS}")

    check_prerequisites(catalog, problems)

    paths_file = root / "paths.yaml"
    if len(catalog.paths) != LEARNING_PATHS and paths_file.is_file():
        problems.add(
            paths_file, 1, f"{len(catalog.paths)} learning paths; the plan has {LEARNING_PATHS}"
        )
    paths_lines = YamlLines(paths_file)
    for path_index, learning_path in enumerate(catalog.paths):
        for module_index, number in enumerate(learning_path.modules):
            if number not in numbers:
                problems.add(
                    paths_file,
                    paths_lines.line(path_index, "modules", module_index),
                    f"path {learning_path.id!r} names module {number}, which does not exist",
                )

    stems: dict[str, str] = {}
    for section in catalog.sections:
        if section.content is None:
            continue
        for index, question in enumerate(section.content.quiz.multiple_choice):
            stem = normalized_stem(question.question)
            quiz_path = section.content.folder / "quiz.yaml"
            if stem in stems:
                problems.add(
                    quiz_path,
                    YamlLines(quiz_path).line("multiple_choice", index),
                    f"multiple_choice[{index}]: the same question stands in {stems[stem]}",
                )
            else:
                stems[stem] = f"section {section.key}"
    for module in catalog.modules:
        check_position_balance(module.sections, problems)
    check_capstones(catalog, problems)


def check_position_balance(sections: Sequence[Section], problems: Problems) -> None:
    positions: Counter[int] = Counter()
    last_quiz: Path | None = None
    for section in sections:
        content = section.content
        if content is None:
            continue
        last_quiz = content.folder / "quiz.yaml"
        for question in content.quiz.multiple_choice:
            if sum(option.correct for option in question.options) == 1:
                positions[question.correct_index] += 1
    total = sum(positions.values())
    if last_quiz is None or total == 0:
        return
    low, high = position_bounds(total)
    for position in range(4):
        if not low <= positions[position] <= high:
            counts = ", ".join(f"{'ABCD'[p]}={positions[p]}" for p in range(4))
            problems.add(
                last_quiz,
                1,
                f"correct options across the module are unbalanced "
                f"({counts}); each position should be correct {low}–{high} times of "
                f"{total}",
            )
            return


def check_prerequisites(catalog: Catalog, problems: Problems) -> None:
    graph = {module.number: set(module.meta.prerequisites) for module in catalog.modules}
    for module in catalog.modules:
        meta_path = module.folder / "module.yaml"
        for prerequisite in module.meta.prerequisites:
            if prerequisite == module.number:
                problems.add(
                    meta_path,
                    YamlLines(meta_path).line("prerequisites"),
                    "a module cannot be its own prerequisite",
                )
            elif prerequisite not in graph:
                problems.add(
                    meta_path,
                    YamlLines(meta_path).line("prerequisites"),
                    f"prerequisite module {prerequisite} does not exist",
                )
    visiting: set[int] = set()
    done: set[int] = set()
    reported: set[frozenset[int]] = set()

    def visit(number: int, trail: list[int]) -> None:
        if number in done:
            return
        if number in visiting:
            cycle = [*trail[trail.index(number) :], number]
            if frozenset(cycle) not in reported:
                reported.add(frozenset(cycle))
                module = catalog.module(number)
                where = module.folder / "module.yaml" if module else catalog.root
                line = YamlLines(where).line("prerequisites") if module else 1
                problems.add(
                    where, line, "prerequisites form a cycle: " + " -> ".join(str(n) for n in cycle)
                )
            return
        visiting.add(number)
        for prerequisite in sorted(graph.get(number, ())):
            if prerequisite in graph and prerequisite != number:
                visit(prerequisite, [*trail, number])
        visiting.discard(number)
        done.add(number)

    for number in sorted(graph):
        visit(number, [])


def check_capstones(catalog: Catalog, problems: Problems) -> None:
    """Each project is a capstone its module announces, and no capstone is written twice."""
    announced = {
        project.capstone: module.number
        for module in catalog.modules
        for project in module.meta.practical_projects
        if project.capstone
    }
    seen: set[int] = set()
    for project in catalog.projects:
        where = project.folder / "project.yaml"
        number = project.spec.capstone
        if number in seen:
            problems.add(where, 1, f"capstone {number} is written twice")
        seen.add(number)
        if announced.get(number) != project.spec.module:
            problems.add(
                where,
                1,
                f"capstone {number} belongs to module "
                f"{announced.get(number)} in its module.yaml, not {project.spec.module}",
            )
