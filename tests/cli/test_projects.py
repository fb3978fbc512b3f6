"""Capstone projects: validation, start and check, on a small project made for the test."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import Learner

SPEC = " ".join(["The ledger package keeps invoice totals exact to the cent."] * 40)
ACCEPTANCE = """
from decimal import Decimal

import pytest

from ledger import total


@pytest.mark.parametrize("lines, expected", [
    ([], "0.00"), (["1.10", "2.20"], "3.30"), (["0.10"] * 3, "0.30"), (["-1.00", "1.00"], "0.00"),
])
def test_total_is_exact(lines: list[str], expected: str) -> None:
    assert total(lines) == Decimal(expected)


def test_total_of_one_line() -> None:
    assert total(["9.99"]) == Decimal("9.99")


def test_total_rounds_half_even() -> None:
    assert total(["0.005"]) == Decimal("0.00")


def test_total_rejects_text() -> None:
    with pytest.raises(ValueError):
        total(["ten"])


def test_total_returns_decimal() -> None:
    assert isinstance(total(["1"]), Decimal)


def test_total_keeps_two_places() -> None:
    assert str(total(["1"])) == "1.00"


def test_total_of_many_lines() -> None:
    assert total(["0.01"] * 1000) == Decimal("10.00")


def test_total_accepts_a_generator() -> None:
    assert total(line for line in ["1.00", "2.00"]) == Decimal("3.00")
"""
REFERENCE = """
from collections.abc import Iterable
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation


def total(lines: Iterable[str]) -> Decimal:
    try:
        summed = sum((Decimal(line) for line in lines), Decimal(0))
    except InvalidOperation:
        raise ValueError("a line is not a number") from None
    return summed.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
"""
STARTER = '''
from collections.abc import Iterable
from decimal import Decimal


def total(lines: Iterable[str]) -> Decimal:
    """The exact total of the lines, to the cent. TODO: implement."""
    raise NotImplementedError
'''


def make_project(curriculum: Path, capstone: int = 4, module: int = 8) -> Path:
    folder = curriculum / "projects" / f"{capstone:02}-exact-ledger"
    (folder / "starter" / "ledger").mkdir(parents=True)
    (folder / ".meta" / "reference" / "ledger").mkdir(parents=True)
    (folder / "acceptance").mkdir()
    (folder / "project.yaml").write_text(
        textwrap.dedent(f"""\
        capstone: {capstone}
        title: Exact ledger
        module: {module}
        summary: Totals that never lose a cent.
        package: ledger
        estimated_time: 1 hour
        """)
    )
    (folder / "spec.md").write_text(SPEC)
    (folder / "starter" / "ledger" / "__init__.py").write_text(STARTER)
    (folder / ".meta" / "reference" / "ledger" / "__init__.py").write_text(REFERENCE)
    (folder / "acceptance" / "test_ledger.py").write_text(ACCEPTANCE)
    return folder


def test_a_well_formed_project_validates_and_is_listed(
    learner: Learner, curriculum_copy: Path
) -> None:
    make_project(curriculum_copy)
    result = learner.run("validate", str(curriculum_copy))
    assert "projects/04-exact-ledger" not in result.stdout, result.stdout
    listing = learner.run("project", "list", "--root", str(curriculum_copy))
    assert "pymastery project start 4" in listing.stdout


def test_the_reference_passes_and_the_starter_fails(
    learner: Learner, curriculum_copy: Path
) -> None:
    folder = make_project(curriculum_copy)
    passing = learner.run(
        "project",
        "check",
        "4",
        "--root",
        str(curriculum_copy),
        "--path",
        str(folder / ".meta" / "reference"),
    )
    assert passing.returncode == 0, passing.stdout
    assert "All 11 tests pass" in passing.stdout
    failing = learner.run(
        "project", "check", "4", "--root", str(curriculum_copy), "--path", str(folder / "starter")
    )
    assert failing.returncode == 1
    assert "0/11 tests pass" in failing.stdout


def test_start_copies_spec_starter_and_acceptance_into_the_workspace(
    learner: Learner, curriculum_copy: Path
) -> None:
    make_project(curriculum_copy)
    result = learner.run("project", "start", "4", "--root", str(curriculum_copy))
    assert result.returncode == 0, result.stderr
    placed = learner.home / "workspace" / "projects" / "04-exact-ledger"
    assert (placed / "SPEC.md").read_text() == SPEC
    assert (placed / "ledger" / "__init__.py").read_text() == STARTER
    assert (placed / "acceptance" / "test_ledger.py").is_file()
    assert not (placed / ".meta").exists(), "the reference never reaches the learner"
    checked = learner.run("project", "check", "4", "--root", str(curriculum_copy))
    assert checked.returncode == 1 and "0/11 tests pass" in checked.stdout


@pytest.mark.parametrize(
    "breakage, message",
    [
        ("package", "the reference has no package ledger/"),
        ("tests", "the acceptance suite has 0 tests"),
        ("module", "capstone 4 belongs to module 8 in its module.yaml, not 9"),
        ("spec", "the specification has 2 words"),
    ],
)
def test_a_broken_project_is_reported(
    learner: Learner, curriculum_copy: Path, breakage: str, message: str
) -> None:
    folder = make_project(curriculum_copy, module=9 if breakage == "module" else 8)
    if breakage == "package":
        (folder / ".meta" / "reference" / "ledger" / "__init__.py").unlink()
    elif breakage == "tests":
        (folder / "acceptance" / "test_ledger.py").write_text("def helper() -> None:\n    pass\n")
    elif breakage == "spec":
        (folder / "spec.md").write_text("Too short.")
    result = learner.run("validate", str(curriculum_copy))
    assert result.returncode == 1
    assert message in result.stdout, result.stdout


def test_an_unwritten_capstone_gets_a_clear_message(learner: Learner) -> None:
    result = learner.run("project", "check", "9")
    assert result.returncode == 1
    assert "capstone 9 is not written yet" in result.stderr
