"""A loop doctor: run an order service's handlers in asyncio debug mode and report what is wrong.

The service code below is given; it has the bugs a code review misses. `diagnose()` runs a list
of steps as concurrent, named tasks and returns a plain report of the four problems asyncio can
tell you about: steps that blocked the loop, coroutines that were never awaited (and where they
were created), tasks left running, and handlers that failed.
"""

import asyncio
import gc
import logging
import re
import time
import warnings
from typing import Any

Step = dict[str, Any]
Report = dict[str, list[str]]

_background: set["asyncio.Task[None]"] = set()  # the service keeps its pollers referenced


# --- the service code being diagnosed (given; do not change) ---------------------------------


async def write_audit_entry(order_id: str) -> None:
    await asyncio.sleep(0)  # an INSERT through an async driver


async def notify_warehouse(order_id: str) -> None:
    await asyncio.sleep(0)  # a message to the warehouse queue


def on_checkout_hook(order_id: str) -> None:
    """A synchronous plugin hook that calls async code without awaiting it."""
    notify_warehouse(order_id)  # type: ignore[unused-coroutine]


async def poll_for_acknowledgement(order_id: str) -> None:
    await asyncio.sleep(3600)  # waits for an acknowledgement that never arrives


async def handle_step(step: Step) -> None:
    """One handler run. step = {"task": name, "action": ..., "seconds": float (optional)}."""
    order_id, action = step["task"], step["action"]
    seconds = float(step.get("seconds", 0.0))
    if action == "io":
        await asyncio.sleep(seconds)
    elif action == "block":
        time.sleep(seconds)  # a synchronous client call inside async code
    elif action == "forget":
        write_audit_entry(order_id)  # type: ignore[unused-coroutine]
    elif action == "forget_in_hook":
        on_checkout_hook(order_id)
    elif action == "leak":
        poller = asyncio.create_task(
            poll_for_acknowledgement(order_id), name=f"ack-poller-{order_id}"
        )
        _background.add(poller)
        poller.add_done_callback(_background.discard)
    elif action == "fail":
        raise ValueError(f"card declined for {order_id}")
    else:
        raise LookupError(f"unknown action {action!r}")
    await asyncio.sleep(0)


# --- the harness (yours to write) ----------------------------------------------------------


class SlowStepCollector(logging.Handler):
    """Collects the names of tasks that debug mode reports as slow."""

    TASK_NAME = re.compile(r"name='([^']*)'")

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.task_names: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("Executing "):
            match = self.TASK_NAME.search(message)
            if match:
                self.task_names.add(match.group(1))


async def _run_steps(steps: list[Step], slow_ms: float) -> tuple[list[str], list[str]]:
    """Run the steps as named tasks; return (failed lines, names of tasks left running)."""
    asyncio.get_running_loop().slow_callback_duration = slow_ms / 1000
    tasks = [asyncio.create_task(handle_step(step), name=step["task"]) for step in steps]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    failed = [
        f"{task.get_name()}: {type(result).__name__}: {result}"
        for task, result in zip(tasks, results, strict=True)
        if isinstance(result, BaseException)
    ]
    leftovers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)
    return failed, [task.get_name() for task in leftovers]


def diagnose(steps: list[Step], slow_ms: float = 100.0) -> Report:
    """Run `steps` concurrently in asyncio debug mode and report what went wrong.

    Returns {"slow": [...], "never_awaited": [...], "leaked": [...], "failed": [...]}, each sorted.
    """
    collector = SlowStepCollector()
    asyncio_logger = logging.getLogger("asyncio")
    asyncio_logger.addHandler(collector)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            failed, leaked = asyncio.run(_run_steps(steps, slow_ms), debug=True)
            gc.collect()
    finally:
        asyncio_logger.removeHandler(collector)
    never_awaited = []
    for warning in caught:
        source = warning.source
        if issubclass(warning.category, RuntimeWarning) and "never awaited" in str(warning.message):
            origin = getattr(source, "cr_origin", None)
            where = origin[0][2] if origin else "?"
            never_awaited.append(f"{getattr(source, '__qualname__', '?')} created in {where}")
    return {
        "slow": sorted(collector.task_names),
        "never_awaited": sorted(never_awaited),
        "leaked": sorted(leaked),
        "failed": sorted(failed),
    }
