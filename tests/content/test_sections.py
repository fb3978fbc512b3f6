"""Every written section and capstone, proven the way `pymastery verify` proves them, against
real services."""

from __future__ import annotations

from functools import cache

import pytest

from pymastery.core import services, verify
from pymastery.core.loader import load_catalog
from pymastery.core.model import Project, Section, SectionContent
from tests.conftest import PROJECT

pytestmark = [pytest.mark.content, pytest.mark.services]


def written_sections() -> list[Section]:
    catalog, _ = load_catalog()
    return [section for section in catalog.sections if section.content is not None]


@cache
def lint_findings() -> dict[str, list[str]]:
    sections = written_sections()
    files = [path for s in sections if s.content for path in verify.code_files(s.content)]
    return {str(path): found for path, found in verify.lint(files, PROJECT).items()}


@pytest.fixture(scope="module", autouse=True)
def services_ready() -> None:
    needed = set().union(
        *(verify.section_services(s.content) for s in written_sections() if s.content)
    )
    blocked = services.prepare(needed)
    assert not blocked, "\n".join(blocked)


def written_projects() -> list[Project]:
    catalog, _ = load_catalog()
    return list(catalog.projects)


def content_of(section: Section) -> SectionContent:
    assert section.content is not None
    return section.content


@pytest.mark.parametrize("section", written_sections(), ids=lambda s: s.key)
def test_examples_print_their_recorded_output(section: Section) -> None:
    check = verify.verify_examples(content_of(section), worker=None)
    assert check.ok, "\n\n".join(check.details)


@pytest.mark.parametrize("section", written_sections(), ids=lambda s: s.key)
def test_reference_solution_passes_and_starter_fails(section: Section) -> None:
    checks = verify.verify_exercise(content_of(section))
    failures = [f"{c.name}: " + "\n".join(c.details) for c in checks if not c.ok]
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("section", written_sections(), ids=lambda s: s.key)
def test_examples_and_solutions_are_ruff_and_mypy_strict_clean(section: Section) -> None:
    findings = lint_findings()
    problems = [
        f"{path}: {finding}"
        for path in map(str, verify.code_files(content_of(section)))
        for finding in findings.get(path, [])
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("project", written_projects(), ids=lambda p: f"capstone-{p.spec.capstone}")
def test_capstone_reference_passes_its_acceptance_suite_and_the_starter_fails(
    project: Project,
) -> None:
    report = verify.verify_project(project, PROJECT)
    failures = [f"{c.name}: " + "\n".join(c.details) for c in report.checks if not c.ok]
    assert not failures, "\n\n".join(failures)
