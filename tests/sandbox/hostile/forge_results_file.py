"""Attack: write a passing results.json wherever the grader might read it (the working folder,
/tmp, /sandbox/out, the path in PYMASTERY_RESULTS_FILE). Guarantee: the results come from the
tests' sandbox, whose out folder the learner's sandbox cannot see."""

import json
import os
from pathlib import Path

FORGED = json.dumps({"version": 3, "status": "pass", "message": None, "tests": []})
written = []
targets = [
    Path.cwd() / "results.json",
    Path("/tmp/results.json"),
    Path("/sandbox/out/results.json"),
]
if "PYMASTERY_RESULTS_FILE" in os.environ:
    targets.append(Path(os.environ["PYMASTERY_RESULTS_FILE"]))
for target in targets:
    try:
        target.write_text(FORGED)
        written.append(str(target))
    except OSError:
        pass


def invoice_total(lines: list[int]) -> int:
    print("OBSERVED", json.dumps(written))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
