"""docs/cli.md is generated from the code; this fails when a command changed without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT

REGENERATE = (
    "typer pymastery.cli.app utils docs --name pymastery "
    "--title 'pymastery command reference' --output docs/cli.md"
)


def test_the_cli_reference_matches_the_code(tmp_path: Path) -> None:
    generated = tmp_path / "cli.md"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("typer")),
            "pymastery.cli.app",
            "utils",
            "docs",
            "--name",
            "pymastery",
            "--title",
            "pymastery command reference",
            "--output",
            str(generated),
        ],
        check=True,
        capture_output=True,
    )
    committed = (PROJECT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert generated.read_text(encoding="utf-8") == committed, f"regenerate: {REGENERATE}"
