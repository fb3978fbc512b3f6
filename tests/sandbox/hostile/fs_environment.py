"""Attack: read secrets from the environment — this process's, and every process's
`/proc/*/environ` (bwrap's own environment stays readable at /proc/1/environ when only its child
is cleaned). The test sets PYMASTERY_HOSTILE_SECRET and DATABASE_URL in the grader's environment.
Guarantee: the sandbox starts from `env -i`; it sees only a fixed, harmless environment."""

import json
import os
from pathlib import Path


def invoice_total(lines: list[int]) -> int:
    others: dict[str, str] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                others[entry.name] = (entry / "environ").read_bytes().decode(errors="replace")
            except OSError as error:
                others[entry.name] = type(error).__name__
    print("OBSERVED", json.dumps({"own": sorted(os.environ), "proc": others}))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
