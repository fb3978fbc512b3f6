"""Logging from concurrent tasks: task names, timed spans, and handlers that block the loop.

An invoicing worker renders invoices for several tenants at once. Its log lines interleave, so
each record carries the task that wrote it, and every awaited call is logged as a span with
its duration and outcome. Then the worker's log shipping is measured: a handler that does
network I/O per record (logging.handlers.HTTPHandler, to a local collector) blocks the event
loop, and a QueueHandler moves that I/O to a listener thread.
"""

import asyncio
import logging
import logging.handlers
import queue
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger("invoicing")


class TaskNameFilter(logging.Filter):
    """Stamps the current asyncio task's name on the record (3.12+ has %(taskName)s built in)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no running loop in this thread
            task = None
        record.task = task.get_name() if task is not None else "-"
        return True


@asynccontextmanager
async def span(operation: str, **fields: object) -> AsyncIterator[None]:
    """Logs one awaited operation: its name, fields, duration and whether it failed."""
    started = time.perf_counter()
    detail = " ".join(f"{key}={value}" for key, value in fields.items())
    try:
        yield
    except Exception as error:
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.warning("%s failed after %.1f ms %s error=%r", operation, elapsed_ms, detail, error)
        raise
    elapsed_ms = (time.perf_counter() - started) * 1000
    log.info("%s ok in %.1f ms %s", operation, elapsed_ms, detail)


async def fetch_tenant_rates(tenant: str, delay: float) -> dict[str, float]:
    await asyncio.sleep(delay)  # an HTTP call to the pricing service
    if tenant == "umbrella":
        raise ConnectionResetError("pricing service closed the connection")
    return {"vat": 0.2}


async def render_invoices(tenant: str, delay: float) -> None:
    async with span("pricing.fetch_rates", tenant=tenant):
        rates = await fetch_tenant_rates(tenant, delay)
    async with span("storage.put_pdf", tenant=tenant, vat=rates["vat"]):
        await asyncio.sleep(delay / 2)


async def part_1_spans() -> None:
    print("1. interleaved records, each stamped with its task")
    tenants = [("acme", 0.06), ("globex", 0.01), ("umbrella", 0.03)]
    tasks = [
        asyncio.create_task(render_invoices(tenant, delay), name=f"invoices-{tenant}")
        for tenant, delay in tenants
    ]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failed = [
        task.get_name() for task, result in zip(tasks, results, strict=True) if result is not None
    ]
    log.info("batch done, failed tasks: %s", failed)


class LogCollector(BaseHTTPRequestHandler):
    """A log collector that takes 2 ms per record, like a remote endpoint on a busy network."""

    received = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(0.002)
        with LogCollector.lock:
            LogCollector.received += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


async def log_burst(logger: logging.Logger, records: int) -> float:
    """Logs `records` lines from the loop and returns how long the loop was stuck doing it."""
    started = time.perf_counter()
    for number in range(records):
        logger.info("invoice %d rendered", number)
    return (time.perf_counter() - started) * 1000


async def part_2_shipping(host: str) -> None:
    print("2. shipping 100 records to a collector: handler on the loop vs QueueHandler")
    direct = logging.getLogger("shipping.direct")
    direct.propagate = False
    direct.setLevel(logging.INFO)
    direct.addHandler(logging.handlers.HTTPHandler(host, "/logs", method="POST"))
    blocked_direct = await log_burst(direct, 100)
    print(
        f"   HTTPHandler on the loop: loop blocked {blocked_direct:.0f} ms, "
        f"collector has {LogCollector.received}"
    )

    LogCollector.received = 0
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    shipper = logging.handlers.HTTPHandler(host, "/logs", method="POST")
    queued = logging.getLogger("shipping.queued")
    queued.propagate = False
    queued.setLevel(logging.INFO)
    queue_handler = logging.handlers.QueueHandler(records)
    queue_handler.addFilter(TaskNameFilter())  # runs on the loop thread, where the task is known
    queued.addHandler(queue_handler)
    listener = logging.handlers.QueueListener(records, shipper)
    listener.start()
    blocked_queued = await log_burst(queued, 100)
    print(
        f"   QueueHandler:            loop blocked {blocked_queued:.0f} ms, "
        f"records still queued: {records.qsize() > 0}"
    )
    await asyncio.to_thread(listener.stop)  # stop() drains the queue, so it blocks: off the loop
    print(f"   after listener.stop():   collector has {LogCollector.received}")
    print(f"   the queue freed the loop at least 10x: {blocked_direct > 10 * blocked_queued}")


async def part_3_where_the_filter_runs() -> None:
    print("3. the same TaskNameFilter on a handler behind the listener runs in its thread")
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    behind = logging.StreamHandler()
    behind.setFormatter(logging.Formatter("   [%(task)s] %(message)s"))
    behind.addFilter(TaskNameFilter())
    listener = logging.handlers.QueueListener(records, behind)
    late = logging.getLogger("shipping.late")
    late.propagate = False
    late.setLevel(logging.INFO)
    late.addHandler(logging.handlers.QueueHandler(records))
    listener.start()
    late.info("invoice INV-77 emailed")
    await asyncio.to_thread(listener.stop)


async def main() -> None:
    handler = logging.StreamHandler()
    handler.addFilter(TaskNameFilter())
    handler.setFormatter(logging.Formatter("   %(levelname)-7s [%(task)s] %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    await part_1_spans()

    server = ThreadingHTTPServer(("127.0.0.1", 0), LogCollector)
    threading.Thread(target=server.serve_forever, name="log-collector", daemon=True).start()
    try:
        await part_2_shipping(f"127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
    await asyncio.create_task(part_3_where_the_filter_runs(), name="mailer")


if __name__ == "__main__":
    asyncio.run(main(), debug=False)
