"""Attack: become root (setuid(0)), or use a capability. Guarantee: setpriv runs the code as the
slot's own unprivileged uid, with no capabilities at all, no-new-privs set and the seccomp filter
loaded."""

import json
import os
from pathlib import Path


def invoice_total(lines: list[int]) -> int:
    try:
        os.setuid(0)
        escalated = "root"
    except OSError as error:
        escalated = type(error).__name__
    status = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Uid", "CapEff", "CapPrm", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"):
            status[key] = value.split()[0]
    print("OBSERVED", json.dumps({"setuid": escalated, "groups": os.getgroups(), **status}))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
