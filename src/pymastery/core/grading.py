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
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from pymastery.core import services
from pymastery.core.model import Exercise, Grading
from pymastery.core.pytest_results import RESULTS_VARIABLE
from pymastery.core.runner import UNSTABLE_VARIABLES
from pymastery.core.sandbox import channel, policy, supervisor

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


# Runs pytest in `workdir` on `targets` within a time limit: the cold run_pytest, or a warm grader.
PytestRunner = Callable[[Path, list[str], float, int | None], "GradeResult"]


def grade(
    exercise: Exercise,
    submission: Path,
    time_limit: float = TIME_LIMIT_SECONDS,
    worker: int | None = None,
    sandbox: bool = False,
    runner: PytestRunner | None = None,
) -> GradeResult:
    """Run the exercise's tests with `submission` standing in for the learner's file.

    With `sandbox`, grade exactly as cohort mode does: in the grading sandbox
    (`pymastery.core.sandbox`), the learner's code and the tests apart unless the exercise is
    graded as practice.
    """
    try:
        source = submission.read_bytes()
    except OSError as error:
        return GradeResult(status="error", message=f"Cannot read {submission}: {error.strerror}.")
    if not source.strip():
        return GradeResult(
            status="error",
            message=f"{submission.name} is empty: start from the starter and fill in the TODOs.",
        )
    if sandbox:
        return grade_in_sandbox(exercise, source, time_limit)
    with tempfile.TemporaryDirectory(prefix="pymastery-grade-") as scratch:
        workdir = Path(scratch)
        shutil.copy2(exercise.tests, workdir / exercise.tests.name)
        (workdir / exercise.spec.file).write_bytes(source)
        return (runner or run_pytest)(workdir, [exercise.tests.name], time_limit, worker)


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
    results_file = workdir / ".results.json"
    env = pytest_environment(results_file, worker)
    isolation = ["-I"]
    if python_path is not None:
        env["PYTHONPATH"] = str(python_path)
        isolation = []  # -I would ignore PYTHONPATH, which is how the project is found
    command = [sys.executable, *isolation, "-m", "pytest", *pytest_arguments(workdir, targets)]
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
        return timed_out(time_limit)
    output = (completed.stdout + completed.stderr).decode("utf-8", "replace")
    return parse_results(results_file, completed.returncode, output)


def pytest_environment(results_file: Path, worker: int | None) -> dict[str, str]:
    """A grading run's environment: ours without what changes a program's behaviour (the same
    variables examples run without), plus services, the results file and no plugins."""
    env = {k: v for k, v in os.environ.items() if k not in UNSTABLE_VARIABLES}
    env.update(services.environment(worker))
    env[RESULTS_VARIABLE] = str(results_file)
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def pytest_arguments(workdir: Path, targets: list[str]) -> list[str]:
    (workdir / "pytest.ini").write_text("[pytest]\npython_files = test_*.py\n")
    return [
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


def timed_out(time_limit: float) -> GradeResult:
    return GradeResult(
        status="error",
        message=f"Your code ran for more than {time_limit:.0f} seconds and was stopped. Look "
        "for a loop that never ends or a call that waits forever.",
    )


def parse_results(results_file: Path, exit_code: int | None, output: str) -> GradeResult:
    try:
        raw = json.loads(results_file.read_text(encoding="utf-8"))
        return GradeResult.model_validate(raw)
    except (OSError, ValueError):
        tail = output[-1500:]
        return GradeResult(
            status="error",
            message=f"The tests could not run to the end (exit code {exit_code}).\n{tail}".rstrip(),
        )


SERVICE_NAMES = {
    "postgres": "PostgreSQL",
    "mysql": "MariaDB",
    "redis": "Redis",
    "rabbitmq": "RabbitMQ",
}
RESULTS_CAP = 4 * 1024**2
LIB = "/sandbox/lib"
SANDBOX_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
}


def grade_in_sandbox(
    exercise: Exercise,
    source: bytes,
    time_limit: float,
    limits: supervisor.Limits | None = None,
) -> GradeResult:
    """Cohort grading: the layers are described in docs/architecture.md, "The grading sandbox".

    `limits` defaults to the standard ones with `time_limit` as the wall time and two thirds of
    it as CPU time.
    """
    if exercise.spec.services:
        needs = " and ".join(SERVICE_NAMES[service.value] for service in exercise.spec.services)
        return GradeResult(
            status="error",
            message=f"This exercise needs {needs}; the cohort sandbox has no network, so it "
            "cannot grade it. Check it locally with `pymastery exercise check`.",
        )
    reason = supervisor.unavailable_reason()
    if reason is not None:
        return GradeResult(status="error", message=f"The grading sandbox cannot run: {reason}.")
    try:
        seccomp = policy.compiled_filter(supervisor.cache_dir())
    except (OSError, RuntimeError, subprocess.SubprocessError) as error:
        return GradeResult(status="error", message=f"The grading sandbox cannot run: {error}.")
    if limits is None:
        limits = supervisor.Limits(
            wall_seconds=time_limit, cpu_seconds=max(1, round(time_limit * 2 / 3))
        )
    practice = exercise.spec.grading is Grading.PRACTICE
    job = Path(tempfile.mkdtemp(prefix="pymastery-sandbox-"))
    try:
        with supervisor.acquire_slot() as slot:
            ends: tuple[int, ...] = ()
            if practice:
                boxes = practice_box(exercise, source, job, slot)
            else:
                boxes, ends = verified_boxes(exercise, source, job, slot)
            finished = supervisor.run(boxes, limits, seccomp, close_after_start=ends)
            raw = read_results(job / "out")
    except supervisor.SandboxUnavailable as error:
        return GradeResult(status="error", message=f"The grading sandbox cannot run: {error}.")
    except (OSError, subprocess.SubprocessError) as error:
        return GradeResult(status="error", message=f"The grading sandbox failed to start: {error}.")
    finally:
        supervisor.remove_tree(job)
    return verdict(finished, raw, limits)


def lib_binds() -> list[supervisor.Bind]:
    here = Path(__file__).resolve().parent
    return [
        supervisor.Bind(here / "sandbox" / "channel.py", f"{LIB}/pymastery_channel.py"),
        supervisor.Bind(here / "sandbox" / "harness.py", f"{LIB}/pymastery_harness.py"),
        supervisor.Bind(here / "pytest_results.py", f"{LIB}/pymastery_results.py"),
    ]


def make_dir(path: Path, owner: int = 0, mode: int = 0o755) -> Path:
    path.mkdir(mode=mode)
    os.chown(path, owner, owner)
    path.chmod(mode)
    return path


def tests_folder(exercise: Exercise, job: Path) -> Path:
    tests = make_dir(job / "tests")
    shutil.copyfile(exercise.tests, tests / exercise.tests.name)
    (tests / "pytest.ini").write_text("[pytest]\npython_files = test_*.py\n")
    return tests


def harness_command(exercise: Exercise) -> list[str]:
    config = "/sandbox/tests/pytest.ini"
    target = f"/sandbox/tests/{exercise.tests.name}"
    return [sys.executable, "-I", f"{LIB}/pymastery_harness.py", "/sandbox/tests", config, target]


def verified_boxes(
    exercise: Exercise, source: bytes, job: Path, slot: supervisor.Slot
) -> tuple[list[supervisor.Box], tuple[int, ...]]:
    """The learner's module behind a channel in one box; the tests in another."""
    module = exercise.spec.file.removesuffix(".py")
    learner = make_dir(job / "learner", owner=slot.learner_uid, mode=0o700)
    (learner / exercise.spec.file).write_bytes(source)
    tests = tests_folder(exercise, job)
    (tests / exercise.spec.file).write_text(
        "from pymastery_channel import install_proxy\n\ninstall_proxy(__name__)\n"
    )
    out = make_dir(job / "out", owner=slot.tests_uid, mode=0o700)
    learner_end, tests_end = socket.socketpair()
    learner_fd, tests_fd = learner_end.detach(), tests_end.detach()
    for fd in (learner_fd, tests_fd):
        os.set_inheritable(fd, True)
    serve = [sys.executable, "-I", f"{LIB}/pymastery_channel.py", "serve", str(learner_fd)]
    learner_box = supervisor.Box(
        name="learner",
        uid=slot.learner_uid,
        command=[*serve, f"/sandbox/learner/{exercise.spec.file}", module],
        binds=[supervisor.Bind(learner, "/sandbox/learner", writable=True), *lib_binds()],
        cwd="/sandbox/learner",
        env=SANDBOX_ENV,
        pass_fds=(learner_fd,),
        primary=False,
    )
    tests_box = supervisor.Box(
        name="tests",
        uid=slot.tests_uid,
        command=harness_command(exercise),
        binds=[
            supervisor.Bind(tests, "/sandbox/tests"),
            supervisor.Bind(out, "/sandbox/out", writable=True),
            *lib_binds(),
        ],
        cwd="/sandbox/tests",
        env={
            **SANDBOX_ENV,
            channel.FD_VARIABLE: str(tests_fd),
            RESULTS_VARIABLE: "/sandbox/out/results.json",
        },
        pass_fds=(tests_fd,),
    )
    return [learner_box, tests_box], (learner_fd, tests_fd)


def practice_box(
    exercise: Exercise, source: bytes, job: Path, slot: supervisor.Slot
) -> list[supervisor.Box]:
    """Tests and the learner's module in one process, in one box: the verdict is practice."""
    tests = tests_folder(exercise, job)
    (tests / exercise.spec.file).write_bytes(source)
    out = make_dir(job / "out", owner=slot.learner_uid, mode=0o700)
    box = supervisor.Box(
        name="tests",
        uid=slot.learner_uid,
        command=harness_command(exercise),
        binds=[
            supervisor.Bind(tests, "/sandbox/tests"),
            supervisor.Bind(out, "/sandbox/out", writable=True),
            *lib_binds(),
        ],
        cwd="/sandbox/tests",
        env={**SANDBOX_ENV, RESULTS_VARIABLE: "/sandbox/out/results.json"},
    )
    return [box]


def read_results(out: Path) -> bytes | None:
    """The results file, read without following a link or blocking on a FIFO the box made."""
    try:
        folder = os.open(out, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        fd = os.open(
            "results.json",
            os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY,
            dir_fd=folder,
        )
    except OSError:
        return None
    finally:
        os.close(folder)
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode) or status.st_size > RESULTS_CAP:
            return None
        return os.read(fd, RESULTS_CAP + 1)[:RESULTS_CAP]
    finally:
        os.close(fd)


def verdict(
    finished: list[supervisor.Finished],
    raw: bytes | None,
    limits: supervisor.Limits,
) -> GradeResult:
    """One result from the boxes' ends and the tests' own report; limits are named first."""
    parsed: GradeResult | None = None
    if raw is not None:
        try:
            parsed = GradeResult.model_validate_json(raw)
        except ValueError:
            parsed = None
    breaches = [box.breach for box in finished if box.breach is not None]
    if breaches:
        return GradeResult(
            status="error",
            message=limits.describe(min(breaches, key=lambda breach: breach.rank)),
            tests=parsed.tests if parsed else [],
        )
    if parsed is not None:
        return parsed
    tests = next(box for box in finished if box.name == "tests")
    tail = tests.output.decode("utf-8", "replace")[-1500:]
    return GradeResult(
        status="error",
        message=f"The tests could not run to the end (exit code {tests.returncode}).\n"
        f"{tail}".rstrip(),
    )
