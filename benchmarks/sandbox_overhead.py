"""Sandbox overhead per run: the same exercise graded unsandboxed and as cohort mode grades it.

Run as root (the sandbox needs it): `.venv/bin/python benchmarks/sandbox_overhead.py [RUNS]`.
Grades the sandbox's own test exercise (tests/sandbox/exercise) with its reference solution,
interleaving the modes so that machine noise falls on both; prints medians and the ratio. Then
the cost of one box alone: `python -c pass` directly and inside a sandbox (cgroup, bwrap,
seccomp, prlimit, setpriv, teardown included).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from pymastery.core.grading import GradeResult, grade
from pymastery.core.model import Exercise, ExerciseFile, Grading
from pymastery.core.sandbox import policy, supervisor

EXERCISE = Path(__file__).resolve().parents[1] / "tests" / "sandbox" / "exercise"


def exercise(grading: Grading) -> Exercise:
    raw = yaml.safe_load((EXERCISE / "exercise.yaml").read_text())
    spec = ExerciseFile.model_validate({**raw, "grading": grading})
    return Exercise(spec=spec, folder=EXERCISE, instructions="")


def timed(run: Callable[[], GradeResult]) -> float:
    started = time.perf_counter()
    result = run()
    elapsed = time.perf_counter() - started
    assert result.status == "pass", result.model_dump_json(indent=1)
    return elapsed * 1000


def bare_box(seccomp: Path) -> float:
    with supervisor.acquire_slot() as slot:
        box = supervisor.Box("bare", slot.learner_uid, [sys.executable, "-c", "pass"], [], "/tmp")
        started = time.perf_counter()
        [finished] = supervisor.run([box], supervisor.Limits(), seccomp)
        elapsed = time.perf_counter() - started
    assert finished.returncode == 0, finished.output
    return elapsed * 1000


def direct() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return (time.perf_counter() - started) * 1000


def report(title: str, samples: dict[str, list[float]], runs: int) -> None:
    base = statistics.median(next(iter(samples.values())))
    print(f"{title}, median of {runs} runs each, ms:")
    for name, values in samples.items():
        median = statistics.median(values)
        print(
            f"  {name:38} {median:7.1f}  (min {min(values):.1f}, max {max(values):.1f})"
            f"  {median / base:4.2f}x  +{median - base:.1f} ms"
        )


def main(runs: int) -> None:
    reason = supervisor.unavailable_reason()
    if reason is not None:
        sys.exit(f"no sandbox here: {reason}")
    solution = EXERCISE / ".meta" / "invoice_total.py"
    modes: dict[str, Callable[[], GradeResult]] = {
        "unsandboxed (today's grader)": lambda: grade(exercise(Grading.VERIFIED), solution),
        "sandbox, practice (1 box)": lambda: grade(
            exercise(Grading.PRACTICE), solution, sandbox=True
        ),
        "sandbox, verified (2 boxes + JSON)": lambda: grade(
            exercise(Grading.VERIFIED), solution, sandbox=True
        ),
    }
    for run in modes.values():  # warm the caches (seccomp filter, page cache)
        timed(run)
    samples: dict[str, list[float]] = {name: [] for name in modes}
    for _ in range(runs):
        for name, run in modes.items():
            samples[name].append(timed(run))
    report("grading one exercise (4 tests)", samples, runs)
    seccomp = policy.compiled_filter(supervisor.cache_dir())
    bare: dict[str, list[float]] = {"python -c pass": [], "python -c pass in one sandbox": []}
    for _ in range(runs * 2):
        bare["python -c pass"].append(direct())
        bare["python -c pass in one sandbox"].append(bare_box(seccomp))
    report("one box alone", bare, runs * 2)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
