"""Attack: leave a daemon behind — double fork, a new session, ignore SIGTERM, sleep for an hour.
Guarantee: nothing outlives the run; the PID namespace, the cgroup and the slot's uid are all
emptied before the grade returns."""

import os
import signal
import time


def invoice_total(lines: list[int]) -> int:
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            time.sleep(3600)
        os._exit(0)
    return -1


def largest_line(lines: list[int]) -> None:
    return None
