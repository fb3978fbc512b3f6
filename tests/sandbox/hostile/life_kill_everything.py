"""Attack: kill(-1, SIGKILL) — every process the uid may signal — and kill PID 1. With only a
separate uid this killed another job of the same uid. Guarantee: the PID namespace holds only
this sandbox, so no other job (the test's sentinel process, the tests' own sandbox) is touched."""

import json
import os
import signal


def invoice_total(lines: list[int]) -> int:
    outcomes = {}
    for pid in (-1, 1):
        try:
            os.kill(pid, signal.SIGKILL)
            outcomes[str(pid)] = "sent"
        except OSError as error:
            outcomes[str(pid)] = type(error).__name__
    print("OBSERVED", json.dumps(outcomes))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
