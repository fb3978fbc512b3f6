"""Wall time of `pymastery --help` and `pymastery status` (goal: median under 250 ms).

Run: .venv/bin/python benchmarks/cli_startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = str(Path(sys.executable).with_name("pymastery"))


def timings(command: list[str], runs: int, env: dict[str, str]) -> list[float]:
    subprocess.run(command, env=env, capture_output=True, check=True)  # warm caches
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=True)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as cache:
        env["PYMASTERY_CACHE_DIR"] = cache
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "pymastery --help": [CLI, "--help"],
            "pymastery status": [CLI, "status"],
            "pymastery status --json": [CLI, "status", "--json"],
        }
        print(f"{'command':<26} {'median':>9} {'p90':>9} {'min':>9}   ({args.runs} runs)")
        for name, command in cases.items():
            seconds = sorted(timings(command, args.runs, env))
            p90 = seconds[int(len(seconds) * 0.9) - 1]
            print(
                f"{name:<26} {statistics.median(seconds) * 1000:>7.1f}ms "
                f"{p90 * 1000:>7.1f}ms {seconds[0] * 1000:>7.1f}ms"
            )


if __name__ == "__main__":
    main()
