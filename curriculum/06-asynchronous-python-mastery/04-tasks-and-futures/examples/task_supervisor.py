"""Managing background tasks: strong references, errors reported when they happen, and a
shutdown that cancels, waits with a grace period and names what refused to stop.

An order service sends receipts, syncs the search index and flushes metrics in the background.
"""

import asyncio
import gc
import logging
import sys
from collections.abc import Coroutine
from types import TracebackType
from typing import Any

log = logging.getLogger("orders")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class OneLineTracebacks(logging.Formatter):
    """Keeps the demo's output stable; a real service logs the full traceback."""

    def formatException(self, ei: ExcInfo) -> str:
        return f"    {ei[0].__name__ if ei[0] else ''}: {ei[1]}"


def report_loop_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The loop's exception handler: where asyncio reports what nobody else handled."""
    task = context.get("task") or context.get("future")
    name = task.get_name() if isinstance(task, asyncio.Task) else "?"
    log.error("asyncio: %s [%s] %r", context["message"], name, context.get("exception"))


async def wait_for_delivery_ack(order: str) -> None:
    ack = asyncio.get_running_loop().create_future()  # only this coroutine references it
    await ack  # (a bug: nobody will ever set it)


async def send_receipt(order: str) -> None:
    await asyncio.sleep(0.01)
    raise ConnectionRefusedError(f"SMTP refused the receipt for {order}")


async def step_1_what_happens_to_unowned_tasks() -> None:
    print("1. tasks nobody holds a reference to")
    asyncio.create_task(wait_for_delivery_ack("ORD-1"), name="ack-ORD-1")  # noqa: RUF006
    await asyncio.sleep(0)
    gc.collect()  # a collection that happens to run now: the pending task is destroyed
    receipt = asyncio.create_task(send_receipt("ORD-2"), name="receipt-ORD-2")
    await asyncio.sleep(0.05)
    print(f"  receipt task failed: {receipt.done()}; nothing logged until it is collected")
    del receipt  # the last reference goes: now asyncio reports the exception
    await asyncio.sleep(0)


class TaskSupervisor:
    """Owns background tasks: keeps them alive, logs how each one ended, stops them all."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            log.info("%s: cancelled", task.get_name())
        elif (error := task.exception()) is not None:  # retrieving it: no "never retrieved"
            log.error("%s: failed", task.get_name(), exc_info=error)
        else:
            log.info("%s: done -> %r", task.get_name(), task.result())

    def running(self) -> list[str]:
        return sorted(task.get_name() for task in self._tasks)

    async def shutdown(self, grace: float) -> list[str]:
        """Cancel everything, wait up to `grace` seconds; return the names still running."""
        if not self._tasks:
            return []
        for task in self._tasks:
            task.cancel("service shutting down")
        _, still_running = await asyncio.wait(set(self._tasks), timeout=grace)
        return sorted(task.get_name() for task in still_running)


async def sync_search_index(order: str) -> str:
    await asyncio.sleep(0.02)
    return f"{order} indexed"


async def poll_payment_status(order: str) -> None:
    while True:
        await asyncio.sleep(0.05)  # checks the gateway until cancelled


async def flush_metrics() -> None:
    """Written by someone who thought every flush must finish: it ignores one cancellation."""
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        log.warning("metrics-flush: cancellation ignored, finishing the flush first")
    await asyncio.sleep(0.3)


async def step_2_a_supervisor() -> None:
    print("2. a supervisor keeps references and reports each outcome as it happens")
    supervisor = TaskSupervisor()
    supervisor.spawn(sync_search_index("ORD-3"), name="index-ORD-3")
    supervisor.spawn(send_receipt("ORD-3"), name="receipt-ORD-3")
    supervisor.spawn(poll_payment_status("ORD-3"), name="payment-poll-ORD-3")
    flusher = supervisor.spawn(flush_metrics(), name="metrics-flush")
    await asyncio.sleep(0.1)
    print(f"  running: {supervisor.running()}")
    stuck = await supervisor.shutdown(grace=0.1)
    print(f"  did not stop within the grace period: {stuck}")
    await flusher  # a real service would log it and exit anyway; here we let it end
    print(f"  running at the end: {supervisor.running()}")


async def main() -> None:
    asyncio.get_running_loop().set_exception_handler(report_loop_errors)
    await step_1_what_happens_to_unowned_tasks()
    await step_2_a_supervisor()


if __name__ == "__main__":
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(OneLineTracebacks("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    asyncio.run(main())
