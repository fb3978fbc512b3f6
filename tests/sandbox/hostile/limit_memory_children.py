"""Attack: touch more memory than the sandbox's cap, split across child processes so that no
single process reaches its address-space limit. Guarantee: the cgroup's memory cap (no swap)
stops the tree, and the learner reads that memory was the limit."""

import os
import time


def invoice_total(lines: list[int]) -> int:
    for _ in range(3):
        if os.fork() == 0:
            hog = bytearray(600 * 1024**2)
            for index in range(0, len(hog), 4096):
                hog[index] = 1
            time.sleep(60)
    time.sleep(60)
    return -1


def largest_line(lines: list[int]) -> None:
    return None
