"""Running a section's examples and comparing their output with the recorded one."""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pymastery.core import services
from pymastery.core.model import ExampleSpec, SectionContent

MASKED = "<masked>"


@dataclass(frozen=True)
class ExampleRun:
    example: ExampleSpec
    output: str
    exit_code: int | None  # None when it was stopped at its timeout
    seconds: float

    @property
    def timed_out(self) -> bool:
        return self.exit_code is None


# Variables that change what examples do: pytest stops truncating its summary under CI,
# terminal-aware output follows COLUMNS, and Celery sets Django up in its workers when it sees
# DJANGO_SETTINGS_MODULE (our test run's or web app's settings, which an example cannot import).
# Examples run as standalone programs in a plain 80-column terminal; graded code runs without
# these variables too.
UNSTABLE_VARIABLES = (
    "CI",
    "BUILD_NUMBER",
    "PYTHONSTARTUP",
    "FORCE_COLOR",
    "NO_COLOR",
    "DJANGO_SETTINGS_MODULE",
)


def example_environment(worker: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSTABLE_VARIABLES}
    env.update(services.environment(worker))
    env.update(PYTHONUNBUFFERED="1", COLUMNS="80", LINES="24", TERM="dumb")
    return env


def run_example(
    content: SectionContent, example: ExampleSpec, worker: int | None = None
) -> ExampleRun:
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            [sys.executable, example.file],
            cwd=content.folder / "examples",
            env=example_environment(worker),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=example.timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        partial = expired.output.decode("utf-8", "replace") if expired.output else ""
        return ExampleRun(example, partial, None, time.perf_counter() - started)
    output = completed.stdout.decode("utf-8", "replace")
    return ExampleRun(example, output, completed.returncode, time.perf_counter() - started)


def apply_masks(text: str, masks: Sequence[str]) -> str:
    for pattern in masks:
        text = re.sub(pattern, MASKED, text)
    return text


def output_difference(content: SectionContent, run: ExampleRun) -> list[str]:
    """A unified diff from the recorded output to this run's; empty when they match."""
    recorded_path = content.expected_output_path(run.example)
    recorded = recorded_path.read_text(encoding="utf-8") if recorded_path.is_file() else ""
    expected = apply_masks(recorded, run.example.mask).splitlines()
    actual = apply_masks(run.output, run.example.mask).splitlines()
    if expected == actual:
        return []
    return list(difflib.unified_diff(expected, actual, "recorded", "this run", lineterm=""))


def record(content: SectionContent, run: ExampleRun) -> Path:
    path = content.expected_output_path(run.example)
    path.write_text(run.output, encoding="utf-8")
    return path
