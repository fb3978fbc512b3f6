"""Attack: sleep forever, using no CPU at all, to hold a grading slot. Guarantee: the supervisor's
wall-clock deadline stops it and says so in plain words."""

import time


def invoice_total(lines: list[int]) -> int:
    time.sleep(3600)
    return -1


def largest_line(lines: list[int]) -> None:
    return None
