"""The sandbox's test exercise, graded as cohort mode does; hostile submissions are real files."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pymastery.core.grading import GradeResult, grade, grade_in_sandbox
from pymastery.core.model import Exercise, ExerciseFile, Grading
from pymastery.core.sandbox import supervisor

HERE = Path(__file__).parent
EXERCISE = HERE / "exercise"
HOSTILE = HERE / "hostile"

collect_ignore_glob = ["exercise/*", "hostile/*"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = supervisor.unavailable_reason()
    for item in items:
        if item.path.parent != HERE:
            continue
        item.add_marker(pytest.mark.sandbox)
        if reason is not None and not os.environ.get("CI"):  # CI runs as root: there it must run
            item.add_marker(pytest.mark.skip(reason=f"no grading sandbox here: {reason}"))


def exercise(grading: Grading = Grading.VERIFIED) -> Exercise:
    import yaml

    raw: dict[str, Any] = yaml.safe_load((EXERCISE / "exercise.yaml").read_text())
    spec = ExerciseFile.model_validate({**raw, "grading": grading})
    return Exercise(spec=spec, folder=EXERCISE, instructions="(see instructions.md)")


def grade_file(
    path: Path, time_limit: float = 10, grading: Grading = Grading.VERIFIED
) -> GradeResult:
    return grade(exercise(grading), path, time_limit=time_limit, sandbox=True)


def hostile(
    name: str,
    time_limit: float = 10,
    grading: Grading = Grading.VERIFIED,
    limits: supervisor.Limits | None = None,
) -> GradeResult:
    path = HOSTILE / f"{name}.py"
    assert path.is_file(), f"no hostile submission {path}"
    if limits is not None:
        return grade_in_sandbox(exercise(grading), path.read_bytes(), time_limit, limits)
    return grade_file(path, time_limit, grading)


def observed(result: GradeResult) -> Any:
    """What the hostile code printed on a line `OBSERVED <json>` during a call."""
    for test in result.tests:
        for line in (test.output or "").splitlines():
            if line.startswith("OBSERVED "):
                return json.loads(line.removeprefix("OBSERVED "))
    raise AssertionError(f"the submission reported nothing: {result.model_dump_json(indent=1)}")


def statuses(result: GradeResult) -> dict[str, str]:
    return {test.name: test.status for test in result.tests}


ALL_FAIL = {
    "test_it_sums_the_lines": "fail",
    "test_an_empty_invoice_totals_zero": "fail",
    "test_it_rejects_negative_lines": "fail",
    "test_it_finds_the_largest_line": "fail",
}


@pytest.fixture(autouse=True)
def nothing_outlives_the_run() -> Iterator[None]:
    """After every sandboxed grade, no process of a slot's uids is left (slots that another
    grader on this machine holds right now are its business)."""
    yield
    assert supervisor.leftovers() == {}
