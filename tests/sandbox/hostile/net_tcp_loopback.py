"""Attack: TCP to 127.0.0.1 — PostgreSQL (5432), Redis (6379), the web app (8000) and a listener
the test opens on port 47613. Guarantee: no network at all; every connect is refused by the
sandbox and the listener sees no connection."""

import json
import socket


def attempt(port: int) -> str:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return "connected"
    except OSError as error:
        return type(error).__name__


def invoice_total(lines: list[int]) -> int:
    print("OBSERVED", json.dumps({str(port): attempt(port) for port in (5432, 6379, 8000, 47613)}))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
