"""Attack: write 100 MiB straight to file descriptor 1, past any print capture. Guarantee: the
supervisor's output cap stops the sandbox at 1 MiB and the learner reads why."""

import os


def invoice_total(lines: list[int]) -> int:
    for _ in range(1600):
        os.write(1, b"x" * 65536)
    return -1


def largest_line(lines: list[int]) -> None:
    return None
