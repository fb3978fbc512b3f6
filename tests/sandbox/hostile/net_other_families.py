"""Attack: socket families beyond TCP/UDP — raw IP, netlink, packet, and vsock (the way out of a
virtual machine to its host; created, never connected). Guarantee: the seccomp filter refuses
every socket that is not AF_UNIX."""

import json
import socket

FAMILIES = {
    "raw": (socket.AF_INET, socket.SOCK_RAW, 1),
    "netlink": (socket.AF_NETLINK, socket.SOCK_RAW, 0),
    "packet": (17, socket.SOCK_RAW, 0),
    "vsock": (40, socket.SOCK_STREAM, 0),
    "inet6": (socket.AF_INET6, socket.SOCK_STREAM, 0),
}


def attempt(family: int, kind: int, protocol: int) -> str:
    try:
        socket.socket(family, kind, protocol).close()
        return "created"
    except OSError as error:
        return type(error).__name__


def invoice_total(lines: list[int]) -> int:
    print("OBSERVED", json.dumps({name: attempt(*spec) for name, spec in FAMILIES.items()}))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
