"""Attack: TCP to the IPv6 loopback [::1] on the services' ports. Guarantee: no network at all."""

import json
import socket


def attempt(port: int) -> str:
    try:
        with socket.create_connection(("::1", port), timeout=1):
            return "connected"
    except OSError as error:
        return type(error).__name__


def invoice_total(lines: list[int]) -> int:
    print("OBSERVED", json.dumps({str(port): attempt(port) for port in (5432, 6379, 47613)}))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
