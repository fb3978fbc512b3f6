"""Attack: UDP datagrams to 127.0.0.1 (a DNS port and the test's listener on 47613).
Guarantee: no network at all; no datagram leaves the sandbox."""

import json
import socket


def attempt(port: int) -> str:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"hello", ("127.0.0.1", port))
            return "sent"
    except OSError as error:
        return type(error).__name__


def invoice_total(lines: list[int]) -> int:
    print("OBSERVED", json.dumps({str(port): attempt(port) for port in (53, 47613)}))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
