"""One turn of the event loop at a time: poll for I/O, collect due timers, run the ready queue.

A selector subclass prints every select() call the loop makes, so each iteration shows the
timeout the loop chose, the I/O events it got back and the callbacks it then ran. The loop's
private `_ready` deque and `_scheduled` heap are read for teaching only; never in real code.
"""

import asyncio
import selectors
import socket
import threading
import time
from typing import Any


class TracingSelector(selectors.DefaultSelector):
    """The platform's selector (epoll on Linux) that reports every poll the loop makes."""

    def __init__(self) -> None:
        super().__init__()
        self.iteration = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.names: dict[int, str] = {}

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self.iteration += 1
        events = super().select(timeout)
        ready, timers = queue_sizes(self.loop)
        if timeout is None:
            why = "None: nothing ready, no timers, sleep until I/O"
        elif ready:
            why = f"0: {ready} callback(s) already in the ready queue"
        else:
            why = f"{timeout * 1000:.1f} ms: until the earliest of {timers} timer(s)"
        fired = [self.names.get(key.fd, f"fd {key.fd}") for key, _ in events] or ["none"]
        print(f"[{self.iteration}] select(timeout={why}) -> events: {', '.join(fired)}")
        return events


def queue_sizes(loop: asyncio.AbstractEventLoop | None) -> tuple[int, int]:
    """Peek at CPython's private ready deque and timer heap (absent on uvloop: reads as 0)."""
    ready: Any = getattr(loop, "_ready", ())
    scheduled: Any = getattr(loop, "_scheduled", ())
    return len(ready), len(scheduled)


def main() -> None:
    selector = TracingSelector()
    loop = asyncio.SelectorEventLoop(selector)
    selector.loop = loop
    # _ssock (the self-pipe's reading end) is private to CPython's selector loop: teaching only
    selector.names[vars(loop)["_ssock"].fileno()] = "self-pipe (wake-up from another thread)"
    print(f"fds registered by a new loop: {len(selector.get_map())} (its self-pipe)")
    reader, writer = socket.socketpair()
    selector.names[reader.fileno()] = "payments socket readable"

    def note(message: str) -> None:
        print(f"[{selector.iteration}]   run: {message}")

    def schedules_follow_up() -> None:
        note("call_soon #2, which schedules a follow-up with call_soon")
        loop.call_soon(note, "follow-up scheduled by #2 (waited for the next iteration)")

    def payment_arrives() -> None:
        note("timer +150 ms: the payment provider writes to the socket")
        writer.send(b"order 1003 paid")

    def on_readable() -> None:
        note(f"reader callback: received {reader.recv(100).decode()!r}")
        loop.remove_reader(reader)
        threading.Thread(target=worker_thread, daemon=True).start()

    def worker_thread() -> None:
        time.sleep(0.03)  # a blocking SDK call finishing on its own thread
        loop.call_soon_threadsafe(finish, "call_soon_threadsafe from a worker thread")

    def finish(message: str) -> None:
        note(message)
        loop.stop()

    loop.call_later(0.100, note, "timer +100 ms: retry payment for order 1001")
    loop.call_later(0.050, note, "timer +50 ms: expire cart 77")
    loop.call_later(0.150, payment_arrives)
    loop.call_soon(note, "call_soon #1: audit order 1001")
    loop.call_soon(schedules_follow_up)
    loop.call_soon(note, "call_soon #3: audit order 1002")
    loop.add_reader(reader, on_readable)
    try:
        loop.run_forever()  # runs iterations until stop() is called
    finally:
        reader.close()
        writer.close()
        loop.close()
    print(f"{selector.iteration} iterations; loop closed: {loop.is_closed()}")


if __name__ == "__main__":
    main()
