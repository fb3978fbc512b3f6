"""Attack: read the expected value from the caller's frame (the test's locals, the assertion's
operands) and return it. Guarantee: the caller is the channel's server in another process; its
frames hold only the arguments, never the expected answer."""

import json
import sys
from typing import Any


def invoice_total(lines: list[int]) -> Any:
    frame = sys._getframe(1)
    names = []
    while frame is not None:
        names.append(frame.f_code.co_name)
        for value in frame.f_locals.values():
            if isinstance(value, int) and value == 350:
                return value
        frame = frame.f_back  # type: ignore[assignment]
    print("OBSERVED", json.dumps(names))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
