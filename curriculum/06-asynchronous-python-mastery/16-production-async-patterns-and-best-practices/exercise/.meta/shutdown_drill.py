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
        self.signals.append(signum)
        if len(self.signals) == 1:
            self.requested.set()
        else:
            self.forced.set()


def install_signal_handlers(shutdown: Shutdown) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, shutdown.handle, signum)


async def work(
    queue: "asyncio.Queue[Order]", shutdown: Shutdown, log: DrillLog, report: Report
) -> None:
    while not shutdown.requested.is_set():
        try:
            order = queue.get_nowait()
        except asyncio.QueueEmpty:
            return
        try:
            await process_order(order, log)
        except asyncio.CancelledError:
            report["interrupted"].append(order["id"])
            raise
        except Exception:
            report["failed"].append(order["id"])
        else:
            report["done"].append(order["id"])


async def serve(orders: list[Order], workers: int, grace: float, log: DrillLog) -> Report:
    shutdown = Shutdown()
    install_signal_handlers(shutdown)
    report: Report = {"done": [], "failed": [], "interrupted": [], "pending": []}
    queue: asyncio.Queue[Order] = asyncio.Queue()
    for order in orders:
        queue.put_nowait(order)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(Resource("database", log))
        await stack.enter_async_context(Resource("http", log))
        tasks = [asyncio.create_task(work(queue, shutdown, log, report)) for _ in range(workers)]
        finished = asyncio.gather(*tasks, return_exceptions=True)
        stop: asyncio.Future[Any] = asyncio.create_task(shutdown.requested.wait())
        force: asyncio.Future[Any] = asyncio.create_task(shutdown.forced.wait())
        await asyncio.wait({finished, stop}, return_when=asyncio.FIRST_COMPLETED)
        if not finished.done():  # a signal came first: drain, for at most `grace` seconds
            await asyncio.wait(
                {finished, force}, timeout=grace, return_when=asyncio.FIRST_COMPLETED
            )
        for task in (*tasks, stop, force):
            task.cancel()
        await finished
    while not queue.empty():
        report["pending"].append(queue.get_nowait()["id"])
    for key in ("done", "failed", "interrupted", "pending"):
        report[key].sort()
    report["signals"] = [signal.Signals(s).name for s in shutdown.signals]
    report["exit_code"] = 128 + shutdown.signals[0] if shutdown.signals else 0
    return report


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
