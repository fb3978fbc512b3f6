"""Attack: start 1,000 threads that never end. Guarantee: threads count against the process cap;
the learner reads that the limit was hit."""

import threading
import time


def invoice_total(lines: list[int]) -> int:
    started = 0
    try:
        for _ in range(1000):
            threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
            started += 1
    except RuntimeError:
        pass
    return started


def largest_line(lines: list[int]) -> None:
    return None
