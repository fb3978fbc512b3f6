"""A fulfilment worker's shutdown path, rehearsed with real signals.

`run_drill` (given) is the synchronous entry point the tests call. It runs `serve` on a fresh
event loop and raises real SIGTERM/SIGINT signals in this process at the times the drill asks
for, the way a container runtime would. You write the four pieces marked TODO.

An order is a plain dict: {"id": "ORD-1", "seconds": 0.2}, optionally with "fail": True for an
order whose processing raises ValueError. The report `serve` returns:

    {
        "exit_code": 0, or 128 + the number of the first signal received,
        "signals": names of the signals received, in order ("SIGTERM", "SIGINT"),
        "done": ids processed to the end,
        "failed": ids whose processing raised an exception,
        "interrupted": ids whose processing was cancelled by the shutdown,
        "pending": ids never started,
    }

Every id list is sorted, and every order id is in exactly one of them.
"""

import asyncio
import contextlib
import signal
from types import TracebackType
from typing import Any

Order = dict[str, Any]
Report = dict[str, Any]


class DrillLog:
    """Given: what happened, in order. The tests read it."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.unhandled: list[str] = []


class Resource:
    """Given: a pool or client that must be opened before use and closed after it."""

    def __init__(self, name: str, log: DrillLog) -> None:
        self.name = name
        self.log = log

    async def __aenter__(self) -> "Resource":
        await asyncio.sleep(0)
        self.log.events.append(f"open {self.name}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.sleep(0)
        self.log.events.append(f"close {self.name}")


async def process_order(order: Order, log: DrillLog) -> None:
    """Given: books the courier for one order. Do not change it."""
    log.events.append(f"start {order['id']}")
    await asyncio.sleep(order["seconds"])
    if order.get("fail"):
        raise ValueError(f"{order['id']}: the carrier rejected the address")
    log.events.append(f"finish {order['id']}")


class Shutdown:
    """The state the signal handlers change."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()  # first signal: start no new order, drain the rest
        self.forced = asyncio.Event()  # second signal: stop draining now
        self.signals: list[int] = []

    def handle(self, signum: int) -> None:
        """Record the signal; the first one requests shutdown, any later one forces it."""
        # TODO: append signum to self.signals; set requested on the first signal, forced after.
        raise NotImplementedError("TODO: Shutdown.handle")


def install_signal_handlers(shutdown: Shutdown) -> None:
    """Route SIGTERM and SIGINT to shutdown.handle(signum) through the running event loop."""
    # TODO: loop.add_signal_handler for both signals (the handler is a plain function).
    raise NotImplementedError("TODO: install_signal_handlers")


async def work(
    queue: "asyncio.Queue[Order]", shutdown: Shutdown, log: DrillLog, report: Report
) -> None:
    """One worker: take orders from the queue until it is empty or shutdown is requested.

    Record each order's id in report["done"], report["failed"] (process_order raised an
    Exception: log nothing, keep going) or report["interrupted"] (cancelled: record it, then
    let the cancellation propagate).
    """
    # TODO: loop while shutdown is not requested; queue.get_nowait() (QueueEmpty: return);
    # TODO: await process_order(order, log) and sort the outcome into the report.
    raise NotImplementedError("TODO: work")


async def serve(orders: list[Order], workers: int, grace: float, log: DrillLog) -> Report:
    """Run the batch with `workers` workers and return the report described at the top.

    1. Install the signal handlers first, then open Resource("database", log) and then
       Resource("http", log), so they close in the reverse order however serve ends.
    2. Start the workers, and wait until they have all finished or shutdown is requested.
    3. On shutdown, give the orders in flight up to `grace` seconds, less if a second signal
       forces it; then cancel whatever is still running and wait for it.
    4. Close the resources after the workers are gone; orders still queued are "pending".
    """
    # TODO: steps 1-4. asyncio.wait(..., return_when=FIRST_COMPLETED, timeout=...) waits
    # for the first of several futures: a gather() of the workers, and tasks waiting on events.
    raise NotImplementedError("TODO: serve")


# Given: the drill harness. Do not change it. ---------------------------------------------


def _send(log: DrillLog, name: str) -> None:
    log.events.append(f"sent {name}")
    signal.raise_signal(signal.Signals[name])


async def _drill(
    orders: list[Order], workers: int, grace: float, signals: list[list[Any]], log: DrillLog
) -> Report:
    loop = asyncio.get_running_loop()
    timers = [loop.call_later(float(at), _send, log, str(name)) for at, name in signals]
    started = loop.time()
    try:
        report = await serve(orders, workers, grace, log)
    finally:
        for timer in timers:
            timer.cancel()
    report["elapsed"] = round(loop.time() - started, 3)
    return report


def run_drill(
    orders: list[Order],
    workers: int = 2,
    grace: float = 1.0,
    signals: list[list[Any]] | None = None,
) -> Report:
    """Run `serve` and send it `signals`: [[seconds_after_start, "SIGTERM"], ...].

    Returns serve's report plus "elapsed" (seconds), "events" (the DrillLog, in order) and
    "unhandled" (signals that arrived while no asyncio handler was installed).
    """
    log = DrillLog()

    def unhandled(signum: int, frame: object) -> None:
        log.unhandled.append(signal.Signals(signum).name)

    previous = {s: signal.signal(s, unhandled) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        report = asyncio.run(_drill(orders, workers, grace, list(signals or []), log))
    finally:
        for signum, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)
    report["events"] = log.events
    report["unhandled"] = log.unhandled
    return report
