"""Attack: look for a network interface to use. Guarantee: the sandbox's network namespace has
only a loopback device, which is down and leads nowhere."""

import json
from pathlib import Path


def invoice_total(lines: list[int]) -> int:
    rows = Path("/proc/net/dev").read_text().splitlines()[2:]
    print("OBSERVED", json.dumps(sorted(row.split(":")[0].strip() for row in rows)))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
