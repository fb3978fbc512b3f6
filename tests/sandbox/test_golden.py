"""Golden cases for sandboxed grading (`grade --sandbox --json`): every outcome is a result."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pymastery.core.model import Grading
from tests.conftest import CLI
from tests.sandbox.conftest import ALL_FAIL, EXERCISE, grade_file, statuses


def write(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "invoice_total.py"
    path.write_text(source)
    return path


@pytest.mark.parametrize("grading", [Grading.VERIFIED, Grading.PRACTICE])
def test_the_reference_solution_passes_every_test_in_file_order(grading: Grading) -> None:
    result = grade_file(EXERCISE / ".meta" / "invoice_total.py", grading=grading)
    assert result.status == "pass", result.model_dump_json(indent=1)
    assert list(statuses(result)) == list(ALL_FAIL)


def test_a_wrong_answer_fails_with_the_tests_own_message(tmp_path: Path) -> None:
    result = grade_file(
        write(
            tmp_path,
            "def invoice_total(lines):\n    return 0\n\n"
            "def largest_line(lines):\n    return None\n",
        )
    )
    assert result.status == "fail"
    assert "two lines of 100 and 250 cents make 350" in (result.tests[0].message or "")


def test_a_learner_exception_crosses_as_its_builtin_type(tmp_path: Path) -> None:
    source = (
        "class InvalidLine(ValueError):\n    pass\n\n"
        "def invoice_total(lines):\n"
        "    if min(lines, default=0) < 0:\n        raise InvalidLine('negative line')\n"
        "    return sum(lines)\n\n"
        "def largest_line(lines):\n"
        "    if not lines:\n        return None\n"
        "    i = lines.index(max(lines))\n    return {'index': i, 'cents': lines[i]}\n"
    )
    result = grade_file(write(tmp_path, source))
    assert result.status == "pass", result.model_dump_json(indent=1)


def test_prints_during_a_call_reach_that_tests_output(tmp_path: Path) -> None:
    source = (
        "def invoice_total(lines):\n    print('looking at', lines)\n    return 0\n\n"
        "def largest_line(lines):\n    return None\n"
    )
    result = grade_file(write(tmp_path, source))
    assert result.tests[0].output == "looking at [100, 250]\n"


def test_a_syntax_error_is_an_error_result_naming_the_line(tmp_path: Path) -> None:
    result = grade_file(write(tmp_path, "def invoice_total(lines)\n    return 0\n"))
    assert result.status == "error"
    assert result.message and "SyntaxError" in result.message
    assert "invoice_total.py, line 1" in result.message


def test_a_missing_function_is_an_import_error_result(tmp_path: Path) -> None:
    result = grade_file(write(tmp_path, "def invoice_total(lines):\n    return 0\n"))
    assert result.status == "error"
    assert result.message and "cannot import name 'largest_line'" in result.message


def test_an_empty_file_is_an_error_before_any_sandbox_starts(tmp_path: Path) -> None:
    result = grade_file(write(tmp_path, "\n"))
    assert result.status == "error" and result.message and "is empty" in result.message


def run_cli(*args: str) -> tuple[int, dict[str, object]]:
    completed = subprocess.run(
        [str(CLI), "grade", *args, "--sandbox", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return completed.returncode, json.loads(completed.stdout)


def test_the_cli_says_a_service_exercise_cannot_be_graded_in_the_sandbox(tmp_path: Path) -> None:
    code, document = run_cli("5.3", str(write(tmp_path, "def f():\n    pass\n")))
    assert code == 1
    assert document == {
        "version": 3,
        "status": "error",
        "message": "This exercise needs PostgreSQL; the cohort sandbox has no network, so it "
        "cannot grade it. Check it locally with `pymastery exercise check`.",
        "tests": [],
    }


def test_the_cli_reports_a_missing_submission_as_a_result(tmp_path: Path) -> None:
    code, document = run_cli("5.3", str(tmp_path / "nowhere.py"))
    assert code == 1 and document["status"] == "error"
    assert "Cannot read" in str(document["message"])


def test_the_grading_field_defaults_to_verified_and_rejects_other_values() -> None:
    from pydantic import ValidationError

    from pymastery.core.model import ExerciseFile

    base = {"title": "T", "file": "t.py", "hints": ["a", "b"]}
    assert ExerciseFile.model_validate(base).grading is Grading.VERIFIED
    assert ExerciseFile.model_validate({**base, "grading": "practice"}).grading is Grading.PRACTICE
    with pytest.raises(ValidationError):
        ExerciseFile.model_validate({**base, "grading": "trusted"})
