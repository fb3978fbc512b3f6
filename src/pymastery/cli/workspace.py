"""The learner's workspace: where their exercise files live, outside the curriculum."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pymastery.core.model import Project, Section


def root() -> Path:
    return Path(os.environ.get("PYMASTERY_WORKSPACE") or Path.home() / "pymastery-workspace")


def folder(section: Section) -> Path:
    return root() / f"{section.key}-{section.plan.slug}"


def learner_file(section: Section) -> Path:
    assert section.content is not None
    return folder(section) / section.content.exercise.spec.file


def start(section: Section, force: bool = False) -> dict[str, tuple[Path, bool]]:
    """Place starter, tests and instructions; never overwrite the learner's code unless forced."""
    assert section.content is not None
    exercise = section.content.exercise
    target = folder(section)
    target.mkdir(parents=True, exist_ok=True)
    placed: dict[str, tuple[Path, bool]] = {}
    code = target / exercise.spec.file
    created = force or not code.exists()
    if created:
        shutil.copyfile(exercise.starter, code)
    placed["your code"] = (code, created)
    tests = target / exercise.tests.name
    shutil.copyfile(exercise.tests, tests)
    placed["tests"] = (tests, True)
    instructions = target / "README.md"
    instructions.write_text(
        f"# {section.key} {exercise.spec.title}\n\n{exercise.instructions}", encoding="utf-8"
    )
    placed["instructions"] = (instructions, True)
    return placed


def project_folder(project: Project) -> Path:
    return root() / "projects" / project.slug


def start_project(project: Project, force: bool = False) -> tuple[Path, bool]:
    """Copy spec, starter and acceptance suite; keep the learner's work unless forced."""
    target = project_folder(project)
    created = force or not target.exists()
    if created:
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(project.starter, target)
    shutil.copyfile(project.folder / "spec.md", target / "SPEC.md")
    shutil.rmtree(target / "acceptance", ignore_errors=True)
    shutil.copytree(project.acceptance, target / "acceptance")
    return target, created
