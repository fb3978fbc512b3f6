"""The loop's own methods: its clock and timer handles, protocols, and the executor behind DNS.

1. loop.time(), call_at() and call_later() handles: when(), cancel(), cancelled().
2. create_server()/create_connection() with Protocol classes: the callback layer that
   asyncio streams are built on. The server listens on an ephemeral port (port 0).
3. getaddrinfo() and run_in_executor(): what the loop hands to its thread pool.
4. call_soon_threadsafe() from a producer thread: one call per item against one per batch.
"""

import asyncio
import logging
import socket
import sys
import threading
import time

logging.basicConfig(stream=sys.stdout, format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("order-status")

STATUSES = {"1001": "shipped", "1002": "packing"}


async def clock_and_timers() -> None:
    print("1. the loop's clock and timer handles")
    loop = asyncio.get_running_loop()
    drift = abs(loop.time() - time.monotonic())
    print(f"   loop.time() is time.monotonic(): {drift < 0.001}")
    fired: list[str] = []
    deadline = loop.time() + 0.030  # an absolute deadline, e.g. a 30 ms SLA for a quote
    sla = loop.call_at(deadline, fired.append, "quote SLA missed")
    reminder = loop.call_later(0.010, fired.append, "reminder sent")
    print(f"   call_at handle is due at the deadline: {sla.when() == deadline}")
    await asyncio.sleep(0.015)
    sla.cancel()  # the quote arrived in time
    await asyncio.sleep(0.030)
    print(f"   fired: {fired}; SLA cancelled: {sla.cancelled()}, reminder: {reminder.cancelled()}")


class OrderStatusServer(asyncio.Protocol):
    """One instance per connection; the loop calls these methods as events arrive."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.events.append("connection_made")

    def data_received(self, data: bytes) -> None:  # chunks arrive however TCP splits them
        self.buffer += data
        while b"\n" in self.buffer and self.transport is not None:
            line, self.buffer = self.buffer.split(b"\n", 1)
            order_id = line.decode().removeprefix("STATUS ")
            self.events.append(f"line: {line.decode()}")
            self.transport.write(f"{order_id} {STATUSES.get(order_id, 'unknown')}\n".encode())

    def eof_received(self) -> bool | None:
        self.events.append("eof_received")
        return None  # None: let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:  # a reset or a broken pipe, not a clean close
            log.warning("connection lost: %r", exc)
        self.events.append(f"connection_lost({exc})")


class StatusClient(asyncio.Protocol):
    def __init__(self, done: asyncio.Future[bytes]) -> None:
        self.done = done
        self.received = b""

    def data_received(self, data: bytes) -> None:
        self.received += data

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(self.received)


async def protocols() -> None:
    print("2. protocols: the loop calls your methods")
    loop = asyncio.get_running_loop()
    events: list[str] = []
    server = await loop.create_server(lambda: OrderStatusServer(events), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    done: asyncio.Future[bytes] = loop.create_future()
    transport, _ = await loop.create_connection(lambda: StatusClient(done), "127.0.0.1", port)
    transport.write(b"STATUS 1001\nSTATUS 10")
    await asyncio.sleep(0.01)
    transport.write(b"02\n")  # the second line is split across two writes
    assert isinstance(transport, asyncio.WriteTransport)
    transport.write_eof()  # half-close: the server sees EOF, answers, and closes
    try:
        async with asyncio.timeout(2):
            replies = await done
    finally:
        transport.close()
        server.close()
        await server.wait_closed()
    print(f"   server callbacks: {events}")
    print(f"   client got: {replies.decode().splitlines()}")


async def work_on_threads() -> None:
    print("3. what the default loop hands to its thread pool")
    loop = asyncio.get_running_loop()
    before = threading.active_count()
    infos = await loop.getaddrinfo("localhost", 5432, type=socket.SOCK_STREAM)
    after = threading.active_count()
    print(f"   getaddrinfo('localhost') -> {len(infos) > 0}; threads {before} -> {after}")

    def render_invoice_pdf(invoice: str) -> str:  # a blocking library call
        time.sleep(0.02)
        return f"{invoice}.pdf rendered on thread {threading.current_thread().name}"

    print(f"   run_in_executor: {await loop.run_in_executor(None, render_invoice_pdf, 'INV-9')}")


async def deliver_from_thread(order_ids: list[int], batch_size: int) -> float:
    """Hand order ids from a producer thread to the loop; return the seconds it took."""
    loop = asyncio.get_running_loop()
    all_received: asyncio.Future[int] = loop.create_future()
    received = 0

    def take(batch: list[int]) -> None:  # runs on the loop thread
        nonlocal received
        received += len(batch)
        if received == len(order_ids) and not all_received.done():
            all_received.set_result(received)

    def producer() -> None:  # e.g. a message-broker SDK's consumer thread
        for start in range(0, len(order_ids), batch_size):
            loop.call_soon_threadsafe(take, order_ids[start : start + batch_size])

    started = time.perf_counter()
    thread = threading.Thread(target=producer, name="broker-consumer")
    thread.start()
    try:
        async with asyncio.timeout(5):
            await all_received
    finally:
        await asyncio.to_thread(thread.join, 5)  # join() blocks: keep it off the loop thread
    return time.perf_counter() - started


async def crossing_threads() -> None:
    print("4. call_soon_threadsafe: every call writes to the self-pipe")
    order_ids = list(range(20_000))
    one_by_one = await deliver_from_thread(order_ids, batch_size=1)
    batched = await deliver_from_thread(order_ids, batch_size=500)
    print(f"   20,000 ids, one call each:   {one_by_one * 1000:.1f} ms")
    print(f"   20,000 ids, 40 calls of 500: {batched * 1000:.1f} ms")
    print(f"   batching was at least 3x faster: {one_by_one >= 3 * batched}")


async def main() -> None:
    await clock_and_timers()
    await protocols()
    await work_on_threads()
    await crossing_threads()


if __name__ == "__main__":
    asyncio.run(main())
