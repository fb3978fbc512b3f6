"""The tree holds the whole plan of record: every module, section and listed subtopic."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pymastery.core.loader import load_catalog
from pymastery.core.plan import SECTION_COUNTS, TOTAL_SECTIONS
from tests.conftest import PROJECT

PLAN = PROJECT.parent / "shared" / "curriculum-plan.md"


def clean(text: str) -> str:
    text = re.sub(r"\*\*(aenter|aexit)\*\*", r"__\1__", text)
    text = text.replace("\\_", "_").replace("**", "")
    text = re.sub(r"\b(and|or)\*", r"\1_", text)
    return text.strip()


def parse_plan(path: Path) -> dict[int, list[tuple[str, list[str]]]]:
    modules: dict[int, list[tuple[str, list[str]]]] = {}
    current: list[tuple[str, list[str]]] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^## Module (\d+):", line)
        if heading:
            current = modules.setdefault(int(heading[1]), [])
            continue
        if line.startswith("## "):
            current = None
            continue
        if current is None:
            continue
        section = re.match(r"^\d+\. \*\*(.+)\*\*\s*$", line)
        if section:
            current.append((clean(section[1]), []))
            continue
        subtopic = re.match(r"^\s+- (.+)$", line)
        if subtopic and current:
            current[-1][1].append(clean(subtopic[1]))
    return modules


@pytest.fixture(scope="module")
def plan() -> dict[int, list[tuple[str, list[str]]]]:
    if not PLAN.is_file():
        pytest.skip(f"the plan of record is not beside the project ({PLAN})")
    return parse_plan(PLAN)


def test_the_plan_parser_finds_the_231_sections(
    plan: dict[int, list[tuple[str, list[str]]]],
) -> None:
    assert {number: len(sections) for number, sections in plan.items()} == SECTION_COUNTS
    assert sum(SECTION_COUNTS.values()) == TOTAL_SECTIONS == 231


def test_every_planned_section_exists_with_its_title(
    plan: dict[int, list[tuple[str, list[str]]]],
) -> None:
    catalog, _ = load_catalog()
    for number, sections in plan.items():
        module = catalog.module(number)
        assert module is not None, f"module {number} is missing"
        assert [s.title for s in module.sections] == [title for title, _ in sections]


def test_modules_5_to_8_carry_the_plans_subtopics_verbatim(
    plan: dict[int, list[tuple[str, list[str]]]],
) -> None:
    catalog, _ = load_catalog()
    for number in (5, 6, 7, 8):
        module = catalog.module(number)
        assert module is not None
        for section, (_, subtopics) in zip(module.sections, plan[number], strict=True):
            assert list(section.plan.subtopics) == subtopics, section.key


def test_modules_9_to_20_have_subtopics_at_the_same_depth() -> None:
    catalog, _ = load_catalog()
    for module in catalog.modules:
        if module.number >= 9:
            for section in module.sections:
                assert 8 <= len(section.plan.subtopics) <= 12, section.key


def test_the_nine_capstones_are_listed_once_each() -> None:
    catalog, _ = load_catalog()
    capstones = sorted(
        project.capstone
        for module in catalog.modules
        for project in module.meta.practical_projects
        if project.capstone
    )
    assert capstones == list(range(1, 10))
