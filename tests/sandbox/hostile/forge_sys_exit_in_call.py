"""Attack: sys.exit(0) inside a call, hoping to end a runner that shares the process. Guarantee:
it crosses as a plain exception (SystemExit is not re-raised test-side), so each test fails."""

import sys


def invoice_total(lines: list[int]) -> int:
    sys.exit(0)


def largest_line(lines: list[int]) -> None:
    sys.exit(0)
