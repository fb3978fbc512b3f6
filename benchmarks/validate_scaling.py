"""How `pymastery validate` grows with the number of written sections (goal: whole tree < 3 s).

It copies the curriculum, fills planned section folders with copies of the written sections
(so every copy runs every check), and times the validator at several sizes, in-process (load and
check) and as the CLI a user runs.

Run: .venv/bin/python benchmarks/validate_scaling.py
"""

from __future__ import annotations

import itertools
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pymastery.core.loader import load_catalog
from pymastery.core.locations import default_root

CLI = str(Path(sys.executable).with_name("pymastery"))


def fill(root: Path, count: int) -> int:
    catalog, _ = load_catalog(root)
    sources = [s.content.folder for s in catalog.sections if s.content is not None]
    if not sources:
        raise SystemExit("no written section to copy")
    planned = [
        (m.folder, s.folder_name)
        for m in catalog.modules
        for s in m.sections
        if not (m.folder / s.folder_name).exists()
    ]
    filled = len(sources)
    for (module_folder, name), source in zip(planned, itertools.cycle(sources), strict=False):
        if filled >= count:
            break
        shutil.copytree(source, module_folder / name)
        filled += 1
    return filled


def median_seconds(action: list[str] | Path, runs: int = 5) -> float:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        if isinstance(action, Path):
            load_catalog(action)
        else:
            subprocess.run(action, capture_output=True, check=False)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> None:
    print(f"{'written sections':>17} {'load+check':>11} {'CLI validate':>13}")
    for size in (3, 30, 100, 231):
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch) / "curriculum"
            shutil.copytree(default_root(), root)
            written = fill(root, size)
            in_process = median_seconds(root)
            cli = median_seconds([CLI, "validate", str(root)], runs=3)
            print(f"{written:>17} {in_process:>10.2f}s {cli:>12.2f}s")


if __name__ == "__main__":
    main()
