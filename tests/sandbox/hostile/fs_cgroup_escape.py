"""Attack: leave the per-job cgroup (and its limits) by writing to a cgroup.procs file, or reach
the kernel's knobs under /sys. Guarantee: /sys is not mounted in the sandbox."""

import json
import os


def invoice_total(lines: list[int]) -> int:
    print("OBSERVED", json.dumps({"sys": os.path.exists("/sys/fs/cgroup")}))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
