"""Attack: use a descriptor the grader left open (an inherited one leaked a reference solution in
an earlier attempt). Guarantee: the sandbox starts with stdin (/dev/null), stdout and stderr (the
supervisor's pipe) and the channel's socket, and nothing else."""

import json
import os


def invoice_total(lines: list[int]) -> int:
    descriptors = {}
    for name in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            descriptors[name] = os.readlink(f"/proc/self/fd/{name}").split("[")[0]
        except OSError:
            continue  # the descriptor listdir itself used
    print("OBSERVED", json.dumps(descriptors))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
