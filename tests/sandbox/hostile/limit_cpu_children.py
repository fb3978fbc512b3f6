"""Attack: spin in four child processes at once, since RLIMIT_CPU counts each process alone.
Guarantee: the cgroup's CPU quota holds the tree to one CPU and the supervisor stops it."""

import os


def invoice_total(lines: list[int]) -> int:
    for _ in range(3):
        if os.fork() == 0:
            while True:
                pass
    while True:
        pass


def largest_line(lines: list[int]) -> None:
    return None
