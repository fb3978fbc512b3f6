"""Task names and request ids in every log line, and the loop's exception handler.

An order service logs from many concurrent tasks, and some of its errors reach no caller at all:
a receipt task nobody awaits, a done callback that raises, a TCP connection handler that crashes,
a task still running when asyncio.run() finishes. Each lands in the loop's exception handler,
which is where they are logged and counted. Runs in asyncio debug mode (section 6.14).
"""

import asyncio
import logging
import re
import sys
from collections import Counter
from contextvars import ContextVar
from types import TracebackType
from typing import Any

log = logging.getLogger("orders")
request_id: ContextVar[str] = ContextVar("request_id", default="-")
pending_receipts: dict[str, "asyncio.Task[None]"] = {}

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class TaskContextFilter(logging.Filter):
    """Adds the current task's name and request id to every record (3.11 has no taskName)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no running event loop: plain synchronous code
            task = None
        record.task = task.get_name() if task is not None else "-"
        record.request_id = request_id.get()
        return True


class OneLineTracebacks(logging.Formatter):
    """Keeps the demo's output stable; a real service logs the full traceback."""

    def formatException(self, ei: ExcInfo) -> str:
        return f"    {ei[0].__name__ if ei[0] else ''}: {ei[1]}"


class LoopErrorReporter:
    """The loop's exception handler: one log record and one counter per report."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        message = re.sub(r"^(Exception in callback [\w.]+)\(.*", r"\1(...)", context["message"])
        origin = context.get("task") or context.get("future")
        origin_name = origin.get_name() if isinstance(origin, asyncio.Task) else "-"
        error = context.get("exception")
        self.counts[type(error).__name__ if error else "no exception"] += 1
        extra = sorted(key for key in context if key not in ("message", "exception"))
        log.error("asyncio: %s | from task %s | context keys %s", message, origin_name, extra)
        if error is not None:
            log.error("  the error", exc_info=error)
        created = context.get("source_traceback")  # only in debug mode
        if created and isinstance(origin, asyncio.Task):
            ours = [frame for frame in created if "/asyncio/" not in frame.filename] or created
            print(f"    the task was created in {ours[-1].name}(): {ours[-1].line}")


async def reserve_stock(order_id: str) -> None:
    await asyncio.sleep(0)  # one loop iteration: the demo's order does not depend on timers
    log.info("stock reserved for %s", order_id)


async def charge(order_id: str) -> None:
    for _ in range(3):
        await asyncio.sleep(0)
    log.info("charged %s", order_id)


async def handle_order(order_id: str) -> None:
    request_id.set(f"req-{order_id[-2:]}")  # each task runs in its own copy of the context
    log.info("order received")
    async with asyncio.TaskGroup() as group:  # the children copy this task's context
        group.create_task(reserve_stock(order_id), name=f"reserve-{order_id}")
        group.create_task(charge(order_id), name=f"charge-{order_id}")
    log.info("order placed")


async def step_1_names_and_request_ids() -> None:
    print("1. every record names its task, and request ids follow the context into children")
    async with asyncio.TaskGroup() as group:
        group.create_task(handle_order("ORD-31"), name="order-ORD-31")
        group.create_task(handle_order("ORD-42"), name="order-ORD-42")


async def send_receipt(order_id: str) -> None:
    await asyncio.sleep(0.01)
    raise ConnectionRefusedError(f"SMTP refused the receipt for {order_id}")


def start_receipt(order_id: str) -> None:
    pending_receipts[order_id] = asyncio.create_task(
        send_receipt(order_id), name=f"receipt-{order_id}"
    )


async def warm_cache() -> None:
    request_id.set("req-cache")
    pending_receipts.clear()  # the last reference to the failed receipt task goes away here


async def step_2_never_retrieved() -> None:
    print("2. a failed task that nobody retrieves is reported when it is garbage-collected")
    start_receipt("ORD-57")
    await asyncio.sleep(0.05)
    print(f"  receipt task done={pending_receipts['ORD-57'].done()}, nothing logged yet")
    await asyncio.create_task(warm_cache(), name="cache-warmer")


def record_metric(task: "asyncio.Task[None]") -> None:
    raise KeyError(f"no metric registered for {task.get_name()}")


async def write_audit(order_id: str) -> None:
    await asyncio.sleep(0.01)


async def step_3_a_callback_that_raises() -> None:
    print("3. an exception in a done callback goes to the handler, not to any task")
    audit = asyncio.create_task(write_audit("ORD-58"), name="audit-ORD-58")
    audit.add_done_callback(record_metric)
    await audit
    await asyncio.sleep(0)  # the callback runs on the next loop iteration
    print(f"  the audit task itself succeeded: {audit.result()!r}")


async def handle_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    line = await reader.readline()
    quantity = int(line.decode().split("=")[1])  # a malformed line raises ValueError
    writer.write(f"ok {quantity}\n".encode())
    await writer.drain()


async def step_4_a_crashing_connection_handler() -> None:
    print("4. a start_server() handler that raises: the handler is told, the client sees EOF")
    server = await asyncio.start_server(handle_connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"quantity=three\n")
    await writer.drain()
    print(f"  the client read {await reader.read()!r}")
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()


async def flush_metrics() -> None:
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        raise ConnectionResetError("metrics backend hung up during the final flush") from None


async def main(reporter: LoopErrorReporter) -> None:
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(reporter)
    loop.slow_callback_duration = 60  # keep debug mode's slow-callback warnings out of the demo
    await step_1_names_and_request_ids()
    await step_2_never_retrieved()
    await step_3_a_callback_that_raises()
    await step_4_a_crashing_connection_handler()
    print("5. a task still running when main() returns is cancelled by asyncio.run()")
    asyncio.create_task(flush_metrics(), name="metrics-flush")  # noqa: RUF006
    await asyncio.sleep(0)


if __name__ == "__main__":
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(TaskContextFilter())  # on the handler: applies to every logger's records
    handler.setFormatter(
        OneLineTracebacks("%(levelname)s [%(task)s %(request_id)s] %(name)s: %(message)s")
    )
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.getLogger("asyncio").setLevel(logging.WARNING)  # debug mode logs INFO chatter
    reporter = LoopErrorReporter()
    asyncio.run(main(reporter), debug=True)
    log.info("reports by exception type: %s", dict(reporter.counts))
