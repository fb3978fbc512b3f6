"""Attack: change what later runs use — the grader's channel code, the interpreter's standard
library, the virtual environment, /usr. Guarantee: everything but /tmp and the learner's own
folder is read-only."""

import json
import os
import sys

TARGETS = (
    "/sandbox/lib/pymastery_channel.py",
    os.path.join(os.path.dirname(os.__file__), "os.py"),
    os.path.join(sys.prefix, "pyvenv.cfg"),
    "/usr/lib/pymastery-hostile",
    "/etc-hostile",
)


def attempt(target: str) -> str:
    try:
        with open(target, "a") as handle:
            handle.write("# changed\n")
        return "written"
    except OSError as error:
        return type(error).__name__


def invoice_total(lines: list[int]) -> int:
    print("OBSERVED", json.dumps({target: attempt(target) for target in TARGETS}))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
