"""Shared fixtures: an isolated learner (data, workspace, cache) and the real CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
COHORT_TESTS = PROJECT / "tests" / "cohort"
COHORT_SETTINGS = "tests.cohort_settings"
CURRICULUM = PROJECT / "curriculum"
CLI = Path(sys.executable).with_name("pymastery")


@dataclass
class Learner:
    """A learner on a fresh laptop: their own data directory, workspace and cache."""

    home: Path

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            PYMASTERY_DATA_DIR=str(self.home / "data"),
            PYMASTERY_WORKSPACE=str(self.home / "workspace"),
            PYMASTERY_CACHE_DIR=str(self.home / "cache"),
            COLUMNS="120",
            NO_COLOR="1",
            TERM="dumb",
        )
        return env

    def run(
        self, *args: str, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(CLI), *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/cohort needs the cohort settings, so it runs in a session of its own (Makefile)."""
    if collection_path == COHORT_TESTS and config.getoption("ds") != COHORT_SETTINGS:
        return True
    return None


@pytest.fixture
def learner(tmp_path: Path) -> Learner:
    return Learner(tmp_path / "learner")


@pytest.fixture
def curriculum_copy(tmp_path: Path) -> Iterator[Path]:
    """A private copy of the real curriculum that a test may corrupt."""
    copy = tmp_path / "curriculum"
    shutil.copytree(CURRICULUM, copy)
    yield copy
