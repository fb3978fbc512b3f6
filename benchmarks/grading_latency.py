"""Single-user check latency: the warm grader against a cold grade and a plain `python -m pytest`.

Goal (issue 5): a typical exercise's check returns in under 300 ms median in single-user mode.
"minimal" is four plain tests of a small function, so its figures are the grading overhead; the
sections' own tests add their run time (asyncio sleeps, process pools). Each figure is the median
wall time of one check of the exercise's reference solution, measured
in the same run: cold `python -m pytest` in a copy of the exercise, our cold grade() (a fresh
interpreter per check), and the warm grader (pytest already imported, a fork per check).

Run: .venv/bin/python benchmarks/grading_latency.py [--runs 15] [--sections 6.6 6.10 6.12]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import yaml

from pymastery.core import grading
from pymastery.core.catalog_cache import cached_catalog
from pymastery.core.locations import cache_dir
from pymastery.core.model import Exercise, ExerciseFile
from pymastery.core.warm_grader import WarmGrader


def median_ms(check: Callable[[], object], runs: int) -> float:
    check()  # the first run warms file caches for all three alike
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        check()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def plain_pytest(exercise: Exercise, folder: Path) -> None:
    shutil.copy2(exercise.tests, folder / exercise.tests.name)
    shutil.copy2(exercise.solution, folder / exercise.spec.file)
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", exercise.tests.name],
        cwd=folder,
        env=env,
        capture_output=True,
        check=False,
    )


def minimal_exercise() -> Exercise:
    """Four plain tests of a 10-line function (the sandbox suite's exercise): grading overhead."""
    folder = Path(__file__).resolve().parents[1] / "tests" / "sandbox" / "exercise"
    spec = ExerciseFile.model_validate(yaml.safe_load((folder / "exercise.yaml").read_text()))
    return Exercise(spec=spec, folder=folder, instructions="")


def measure(exercise: Exercise, warm: WarmGrader, runs: int) -> tuple[float, float, float]:
    assert warm.grade(exercise, exercise.solution).passed, "the reference must pass"
    with tempfile.TemporaryDirectory() as scratch:
        plain = median_ms(partial(plain_pytest, exercise, Path(scratch)), runs)
    cold = median_ms(partial(grading.grade, exercise, exercise.solution), runs)
    hot = median_ms(partial(warm.grade, exercise, exercise.solution), runs)
    return plain, cold, hot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--sections", nargs="+", default=["6.6", "6.10", "6.12"])
    args = parser.parse_args()
    catalog, _ = cached_catalog(None, cache_dir())
    warm = WarmGrader()
    warm.start()
    print(f"median of {args.runs} checks of each reference solution")
    print(f"{'exercise':10} {'python -m pytest':>17} {'cold grade':>11} {'warm grade':>11}")
    exercises = [("minimal", minimal_exercise())]
    for key in args.sections:
        section = catalog.section(key)
        if section is None or section.content is None:
            raise SystemExit(f"section {key} has no exercise")
        exercises.append((key, section.content.exercise))
    try:
        for name, exercise in exercises:
            plain, cold, hot = measure(exercise, warm, args.runs)
            print(f"{name:10} {plain:14.0f} ms {cold:8.0f} ms {hot:8.0f} ms")
    finally:
        warm.close()


if __name__ == "__main__":
    main()
