"""Attack: send, in valid framing, JSON nested 100,000 levels deep, to crash the tests' JSON
parser (RecursionError) and so the tests' process. Guarantee: the parse fails inside the channel,
which becomes a ChannelError; the tests fail and the result is reported as usual."""

import socket
import struct
import sys


def invoice_total(lines: list[int]) -> int:
    channel = socket.socket(fileno=int(sys.argv[2]))
    data = b"[" * 100_000 + b"]" * 100_000
    channel.sendall(struct.pack(">I", len(data)) + data)
    channel.detach()
    return -1


def largest_line(lines: list[int]) -> None:
    return None
