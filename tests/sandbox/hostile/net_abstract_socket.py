"""Attack: an abstract Unix socket (no file; shared by every process in a network namespace) that
the test listens on as "\\0pymastery-hostile". Guarantee: the sandbox's own network namespace has
no such socket, so the connect is refused and the listener sees nothing."""

import json
import socket


def invoice_total(lines: list[int]) -> int:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect("\0pymastery-hostile")
            outcome = "connected"
    except OSError as error:
        outcome = type(error).__name__
    print("OBSERVED", json.dumps(outcome))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
