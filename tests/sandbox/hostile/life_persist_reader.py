"""Attack (second half): find what life_persist_writer.py left. Guarantee: nothing a run writes
reaches a later run."""

import json
import os
from pathlib import Path

FOLDERS = ("/tmp", "/dev/shm", os.getcwd(), os.environ.get("HOME", "/tmp"))


def invoice_total(lines: list[int]) -> int:
    found = [f for f in FOLDERS if (Path(f) / "pymastery-left-behind").exists()]
    print("OBSERVED", json.dumps(found))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
