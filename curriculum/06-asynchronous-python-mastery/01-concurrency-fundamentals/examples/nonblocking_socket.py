"""What "blocking" and "non-blocking" mean at the level where asyncio works: the socket.

A connected pair of sockets stands in for a client and a payments service. A blocking read
parks the thread; a non-blocking read returns at once with "would block"; a selector says
which sockets are ready, which is the question an event loop asks the OS on every turn.
"""

import errno
import selectors
import socket
import threading
import time


def blocking_read(client: socket.socket) -> None:
    client.settimeout(0.2)  # a blocking read, with a deadline so the demo ends
    started = time.perf_counter()
    try:
        client.recv(1024)
    except TimeoutError:
        waited = time.perf_counter() - started
        print(f"blocking recv(): the thread was parked {waited:.2f} s, then TimeoutError")


def nonblocking_read(client: socket.socket) -> None:
    client.setblocking(False)
    started = time.perf_counter()
    try:
        client.recv(1024)
    except BlockingIOError as error:
        took_ms = (time.perf_counter() - started) * 1000
        name = errno.errorcode[error.errno] if error.errno else "?"
        print(f"non-blocking recv(): returned after {took_ms:.3f} ms with {name} (would block)")


def selector_read(client: socket.socket, service: socket.socket) -> None:
    with selectors.DefaultSelector() as selector:
        selector.register(client, selectors.EVENT_READ, data="payment-status")
        print(f"selector on this OS: {type(selector).__name__}")
        print(f"ready before the service answers: {selector.select(timeout=0)}")
        threading.Timer(0.05, service.sendall, args=(b"PAID order=7731",)).start()
        for key, _ in selector.select(timeout=1.0):  # sleeps in the kernel until ready
            assert isinstance(key.fileobj, socket.socket)
            print(f"ready after it answers: {key.data!r} -> {key.fileobj.recv(1024)!r}")


def nonblocking_write(client: socket.socket) -> None:
    payload = b"x" * 4_000_000  # far more than the kernel's socket buffers hold
    sent = client.send(payload)
    print(f"non-blocking send() of {len(payload):,} bytes accepted {sent:,}: {sent < len(payload)}")
    try:
        while True:
            sent += client.send(payload[sent:])
    except BlockingIOError:
        print("the next send() raised BlockingIOError: the buffer is full until the peer reads")


def main() -> None:
    client, service = socket.socketpair()
    with client, service:
        blocking_read(client)
        nonblocking_read(client)
        selector_read(client, service)
        nonblocking_write(client)


if __name__ == "__main__":
    main()
