"""Golden cases for the grader: every kind of broken submission becomes a result."""

from __future__ import annotations

from pathlib import Path

import pytest

from pymastery.core.grading import GradeResult, grade
from pymastery.core.model import Exercise, ExerciseFile

TESTS = """\
from invoice_total import invoice_total


def test_it_sums_the_lines() -> None:
    assert invoice_total([100, 250]) == 350, "two lines of 100 and 250 cents make 350"


def test_an_empty_invoice_totals_zero() -> None:
    assert invoice_total([]) == 0


def test_it_rejects_negative_lines() -> None:
    import pytest

    with pytest.raises(ValueError):
        invoice_total([100, -5])
"""

CORRECT = """\
def invoice_total(lines: list[int]) -> int:
    if any(line < 0 for line in lines):
        raise ValueError("negative line")
    return sum(lines)
"""


@pytest.fixture
def exercise(tmp_path: Path) -> Exercise:
    folder = tmp_path / "exercise"
    folder.mkdir()
    (folder / "test_invoice_total.py").write_text(TESTS)
    spec = ExerciseFile(title="Invoice total", file="invoice_total.py", hints=("a", "b"))
    return Exercise(spec=spec, folder=folder, instructions="Sum the invoice lines.")


def submit(exercise: Exercise, tmp_path: Path, source: str, time_limit: float = 30) -> GradeResult:
    submission = tmp_path / "invoice_total.py"
    submission.write_text(source)
    return grade(exercise, submission, time_limit=time_limit)


def test_a_correct_submission_passes_every_test_in_file_order(
    exercise: Exercise, tmp_path: Path
) -> None:
    result = submit(exercise, tmp_path, CORRECT)
    assert result.status == "pass"
    assert [t.name for t in result.tests] == [
        "test_it_sums_the_lines",
        "test_an_empty_invoice_totals_zero",
        "test_it_rejects_negative_lines",
    ]
    assert result.model_dump()["version"] == 3


def test_a_wrong_answer_fails_with_the_tests_own_message(
    exercise: Exercise, tmp_path: Path
) -> None:
    result = submit(exercise, tmp_path, "def invoice_total(lines):\n    return 0\n")
    assert result.status == "fail"
    first = result.tests[0]
    assert first.status == "fail"
    assert first.message and "two lines of 100 and 250 cents make 350" in first.message


def test_a_syntax_error_is_an_error_result_naming_the_line(
    exercise: Exercise, tmp_path: Path
) -> None:
    result = submit(exercise, tmp_path, "def invoice_total(lines)\n    return sum(lines)\n")
    assert result.status == "error"
    assert result.message and "SyntaxError" in result.message
    assert "invoice_total.py" in result.message and "line 1" in result.message


def test_an_empty_file_is_an_error_with_advice(exercise: Exercise, tmp_path: Path) -> None:
    result = submit(exercise, tmp_path, "\n\n")
    assert result.status == "error"
    assert result.message and "is empty" in result.message


def test_a_missing_function_is_an_import_error_result(exercise: Exercise, tmp_path: Path) -> None:
    result = submit(exercise, tmp_path, "def total(lines):\n    return sum(lines)\n")
    assert result.status == "error"
    assert result.message and "cannot import name 'invoice_total'" in result.message


def test_an_endless_loop_is_stopped_with_a_friendly_message(
    exercise: Exercise, tmp_path: Path
) -> None:
    source = "def invoice_total(lines):\n    while True:\n        pass\n"
    result = submit(exercise, tmp_path, source, time_limit=3)
    assert result.status == "error"
    assert result.message and "ran for more than 3 seconds" in result.message


def test_print_spam_is_capped_with_a_notice(exercise: Exercise, tmp_path: Path) -> None:
    source = "def invoice_total(lines):\n    print('x' * 100_000)\n    return -1\n"
    result = submit(exercise, tmp_path, source)
    assert result.status == "fail"
    output = result.tests[0].output
    assert output is not None and len(output) < 700
    assert "[output truncated at 500 characters]" in output


def test_exiting_at_import_time_cannot_pass(exercise: Exercise, tmp_path: Path) -> None:
    result = submit(exercise, tmp_path, "import sys\nsys.exit(0)\n")
    assert result.status == "error"


def test_a_memory_hog_is_a_result_not_a_crash(exercise: Exercise, tmp_path: Path) -> None:
    source = "def invoice_total(lines):\n    hog = bytearray(8 * 1024**3)\n    return len(hog)\n"
    result = submit(exercise, tmp_path, source)
    assert result.status == "fail"
    assert result.tests[0].message and "MemoryError" in result.tests[0].message


def test_a_missing_submission_is_an_error_result(exercise: Exercise, tmp_path: Path) -> None:
    result = grade(exercise, tmp_path / "nowhere.py")
    assert result.status == "error"
    assert result.message and "Cannot read" in result.message


def test_the_grade_command_prints_the_result_document(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from pymastery.core.loader import load_catalog

    catalog, _ = load_catalog()
    section = catalog.section("5.3")
    assert section is not None and section.content is not None
    cli = str(Path(sys.executable).with_name("pymastery"))
    broken = tmp_path / "broken.py"
    broken.write_text("def oops(:\n")
    result = subprocess.run(
        [cli, "grade", "5.3", str(broken), "--json"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["version"] == 3 and document["status"] == "error"
    assert "SyntaxError" in document["message"]
    assert document["tests"] == []


def test_graded_code_runs_without_our_django_settings(
    exercise: Exercise, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "pymastery.web.settings")
    reads_settings = (
        "import os\n\n"
        "def invoice_total(lines: list[int]) -> int:\n"
        "    if any(line < 0 for line in lines):\n"
        "        raise ValueError('negative line')\n"
        "    return sum(lines) + len(os.environ.get('DJANGO_SETTINGS_MODULE', ''))\n"
    )
    result = submit(exercise, tmp_path, reads_settings)
    assert result.status == "pass", "a Celery worker a learner starts would otherwise load Django"
