"""Attack: speak the channel's protocol directly and claim a verdict — messages of kinds the
tests never asked for ("verdict", "result"), then an answer that is not JSON at all. Guarantee:
the test side accepts only an answer to the call it made; anything else breaks the channel and
fails the tests."""

import socket
import struct
import sys


def frame(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def invoice_total(lines: list[int]) -> int:
    channel = socket.socket(fileno=int(sys.argv[2]))
    channel.sendall(frame(b'{"kind": "verdict", "status": "pass"}'))
    channel.sendall(frame(b'{"kind": "result", "version": 3, "status": "pass", "tests": []}'))
    channel.sendall(frame(b"\x80\x81 not json"))
    channel.detach()
    return -1


def largest_line(lines: list[int]) -> None:
    return None
