"""The warm grader gives the cold grader's results, keeps the limits, and forgets every run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pymastery.core import grading
from pymastery.core.warm_grader import WarmGrader
from tests.sandbox.conftest import EXERCISE, exercise

SOLUTION = (EXERCISE / ".meta" / "invoice_total.py").read_text()


@pytest.fixture
def grader() -> Iterator[WarmGrader]:
    warm = WarmGrader()
    yield warm
    warm.close()


def submission(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "invoice_total.py"
    path.write_text(source)
    return path


def test_it_gives_the_same_result_as_a_cold_run(grader: WarmGrader, tmp_path: Path) -> None:
    wrong = SOLUTION.replace("return sum(", "return 1 + sum(")
    assert wrong != SOLUTION
    for source in (SOLUTION, wrong, "def invoice_total(:\n"):
        path = submission(tmp_path, source)
        cold = grading.grade(exercise(), path)
        warm = grader.grade(exercise(), path)
        assert warm.status == cold.status, source
        assert [(t.name, t.status) for t in warm.tests] == [(t.name, t.status) for t in cold.tests]
    assert grader.grade(exercise(), submission(tmp_path, SOLUTION)).passed


def test_a_runaway_loop_is_stopped_and_the_grader_goes_on(
    grader: WarmGrader, tmp_path: Path
) -> None:
    looping = SOLUTION + "\n\ndef invoice_total(lines):\n    while True:\n        pass\n"
    result = grader.grade(exercise(), submission(tmp_path, looping), time_limit=2)
    assert result.status == "error"
    assert result.message is not None and "more than 2 seconds" in result.message
    assert grader.grade(exercise(), submission(tmp_path, SOLUTION)).passed


def test_nothing_a_run_changes_reaches_the_next_run(grader: WarmGrader, tmp_path: Path) -> None:
    vandal = "import builtins, json\nbuiltins.sum = lambda *a: -1\njson.dumps = None\n" + SOLUTION
    assert not grader.grade(exercise(), submission(tmp_path, vandal)).passed
    assert grader.grade(exercise(), submission(tmp_path, SOLUTION)).passed, (
        "the next run starts from the grader's clean state, not the vandal's"
    )


def test_a_grader_that_died_is_replaced(grader: WarmGrader, tmp_path: Path) -> None:
    assert grader.grade(exercise(), submission(tmp_path, SOLUTION)).passed
    assert grader.process is not None
    grader.process.kill()
    grader.process.wait()
    assert grader.grade(exercise(), submission(tmp_path, SOLUTION)).passed
