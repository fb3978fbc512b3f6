"""Attack: os._exit(0) in the middle of a test's call. Guarantee: only the learner's process
ends; the tests' process reports that call, and every later one, as failed."""

import os


def invoice_total(lines: list[int]) -> int:
    os._exit(0)


def largest_line(lines: list[int]) -> None:
    os._exit(0)
