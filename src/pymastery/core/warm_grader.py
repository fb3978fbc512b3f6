"""A warm grader: one process that has already imported pytest and the curriculum's libraries,
forking a fresh child for every run, so a check costs a fork instead of an interpreter start.

Single-user mode only (the learner's own code on the learner's own machine): the web app and
`exercise check --watch` keep one. Each run still gets the cold path's limits (memory, time, no
core files), its own working folder and environment, and a child that exits when it is done, so
nothing a submission imports or changes survives into the next run. Cohort grading never comes
here: it goes through the sandbox.

Protocol: the caller writes one JSON request per line to the grader's stdin (workdir, targets,
environment, time limit) and reads one JSON reply per line (exit code, timed out, output tail).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from pymastery.core import grading
from pymastery.core.grading import GradeResult
from pymastery.core.model import Exercise

# What exercises import, loaded once in the grader so each forked run finds them in memory.
PRELOAD = (
    "pytest",
    "_pytest.python",
    "_pytest.assertion.rewrite",
    "pymastery.core.pytest_results",
    "asyncio",
    "sqlalchemy",
    "sqlalchemy.orm",
    "psycopg",
    "pymysql",
    "asyncpg",
    "aiohttp",
    "aiohttp.web",
)
OUTPUT_TAIL = 1500


def serve(requests: IO[str], replies: IO[str]) -> None:
    """The grader's loop (runs in the grader process)."""
    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    import gc

    gc.freeze()  # keep the preloaded objects out of every child's garbage collections
    for line in requests:
        request = json.loads(line)
        replies.write(json.dumps(run_one(request)) + "\n")
        replies.flush()


def run_one(request: dict[str, Any]) -> dict[str, Any]:
    workdir = Path(request["workdir"])
    output = workdir / ".output.txt"
    pid = os.fork()
    if pid == 0:  # the child: one pytest run, then gone
        try:
            os.setpgid(0, 0)
            os.chdir(workdir)
            os.environ.clear()
            os.environ.update(request["env"])
            grading.limit_resources()
            descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(descriptor, 1)
            os.dup2(descriptor, 2)
            sys.path[:0] = [str(workdir)]
            import pytest

            code = pytest.main(request["args"])
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(int(code))
        except BaseException:  # nothing may escape the child into the grader's loop
            os._exit(70)
    deadline = time.monotonic() + request["time_limit"]
    while True:
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            break
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"timed_out": True, "exit_code": None, "output": ""}
        time.sleep(0.002)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # anything the run left behind
    try:
        tail = output.read_bytes()[-OUTPUT_TAIL:].decode("utf-8", "replace")
    except OSError:
        tail = ""
    return {"timed_out": False, "exit_code": os.waitstatus_to_exitcode(status), "output": tail}


class WarmGrader:
    """The caller's side: starts the grader on first use and restarts it if it dies."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.lock = threading.Lock()

    def start(self) -> subprocess.Popen[str]:
        if self.process is not None and self.process.poll() is not None:
            self.close()  # it died (killed, out of memory): start a fresh one
        if self.process is None:
            env = dict(os.environ)
            env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-m", "pymastery.core.warm_grader"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
        return self.process

    def grade(
        self,
        exercise: Exercise,
        submission: Path,
        time_limit: float = grading.TIME_LIMIT_SECONDS,
        worker: int | None = None,
    ) -> GradeResult:
        """The same result as grading.grade(), from a forked child of the warm grader."""
        return grading.grade(exercise, submission, time_limit, worker, runner=self.run_pytest)

    def run_pytest(
        self, workdir: Path, targets: list[str], time_limit: float, worker: int | None
    ) -> GradeResult:
        results_file = workdir / ".results.json"
        env = grading.pytest_environment(results_file, worker)
        request = {
            "workdir": str(workdir),
            "args": grading.pytest_arguments(workdir, targets),
            "env": env,
            "time_limit": time_limit,
        }
        with self.lock:
            process = self.start()
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
                reply = json.loads(process.stdout.readline())
            except (OSError, ValueError):
                self.close()
                return grading.run_pytest(workdir, targets, time_limit, worker)
        if reply["timed_out"]:
            return grading.timed_out(time_limit)
        return grading.parse_results(results_file, reply["exit_code"], reply["output"])

    def close(self) -> None:
        if self.process is None:
            return
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process = None


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
