"""Grading: run an exercise's tests against a learner's file and return one result.

The result follows the shape of Exercism's test-runner `results.json` (version 3) so it is familiar:
an overall `status` (pass / fail / error) with a top-level `message` for errors, and `tests` in
test-file order. Grader trouble becomes a result, never an exception.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from pymastery.core import services
from pymastery.core.model import Exercise
from pymastery.core.pytest_results import RESULTS_VARIABLE

TIME_LIMIT_SECONDS = 30.0
MEMORY_LIMIT_BYTES = 2 * 1024**3


class TestResult(BaseModel):
    name: str
    status: Literal["pass", "fail", "error"]
    message: str | None = None
    output: str | None = None
    task_id: int | None = None


class GradeResult(BaseModel):
    version: Literal[3] = 3
    status: Literal["pass", "fail", "error"]
    message: str | None = None
    tests: list[TestResult] = []

    @property
    def passed(self) -> bool:
        return self.status == "pass"


def limit_resources() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def grade(
    exercise: Exercise,
    submission: Path,
    time_limit: float = TIME_LIMIT_SECONDS,
    worker: int | None = None,
) -> GradeResult:
    """Run the exercise's tests with `submission` standing in for the learner's file."""
    try:
        source = submission.read_bytes()
    except OSError as error:
        return GradeResult(status="error", message=f"Cannot read {submission}: {error.strerror}.")
    if not source.strip():
        return GradeResult(
            status="error",
            message=f"{submission.name} is empty: start from the starter and fill in the TODOs.",
        )
    with tempfile.TemporaryDirectory(prefix="pymastery-grade-") as scratch:
        workdir = Path(scratch)
        shutil.copy2(exercise.tests, workdir / exercise.tests.name)
        (workdir / exercise.spec.file).write_bytes(source)
        return run_pytest(workdir, [exercise.tests.name], time_limit, worker)


def grade_project(
    acceptance: Path, learner_root: Path, time_limit: float = 300, worker: int | None = None
) -> GradeResult:
    """Run a capstone's acceptance suite against the learner's project folder."""
    if not learner_root.is_dir():
        return GradeResult(status="error", message=f"No project folder at {learner_root}.")
    with tempfile.TemporaryDirectory(prefix="pymastery-project-") as scratch:
        workdir = Path(scratch)
        shutil.copytree(acceptance, workdir / "acceptance")
        return run_pytest(
            workdir, ["acceptance"], time_limit, worker, python_path=learner_root.resolve()
        )


def run_pytest(
    workdir: Path,
    targets: list[str],
    time_limit: float,
    worker: int | None,
    python_path: Path | None = None,
) -> GradeResult:
    """pytest in a child process with our results plugin; every failure becomes a result."""
    (workdir / "pytest.ini").write_text("[pytest]\npython_files = test_*.py\n")
    results_file = workdir / ".results.json"
    env = dict(os.environ)
    env.update(services.environment(worker))
    env[RESULTS_VARIABLE] = str(results_file)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    isolation = ["-I"]
    if python_path is not None:
        env["PYTHONPATH"] = str(python_path)
        isolation = []  # -I would ignore PYTHONPATH, which is how the project is found
    command = [
        sys.executable,
        *isolation,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "pymastery.core.pytest_results",
        "--rootdir",
        str(workdir),
        "--color=no",
        *targets,
    ]
    try:
        completed = subprocess.run(
            command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=time_limit,
            preexec_fn=limit_resources,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return GradeResult(
            status="error",
            message=f"Your code ran for more than "
            f"{time_limit:.0f} seconds and was stopped. Look for a loop that "
            "never ends or a call that waits forever.",
        )
    try:
        raw = json.loads(results_file.read_text(encoding="utf-8"))
        return GradeResult.model_validate(raw)
    except (OSError, ValueError):
        tail = (completed.stdout + completed.stderr).decode("utf-8", "replace")[-1500:]
        return GradeResult(
            status="error",
            message="The tests could not run to the end "
            f"(exit code {completed.returncode}).\n{tail}".rstrip(),
        )
