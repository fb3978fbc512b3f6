"""A loop doctor: run an order service's handlers in asyncio debug mode and report what is wrong.

The service code below is given; it has the bugs a code review misses. `diagnose()` runs a list
of steps as concurrent, named tasks and returns a plain report of the four problems asyncio can
tell you about: steps that blocked the loop, coroutines that were never awaited (and where they
were created), tasks left running, and handlers that failed.
"""

import asyncio
import logging
import time
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
    """Collects the names of tasks that debug mode reports as slow.

    In debug mode the loop logs every callback or task step that ran longer than
    loop.slow_callback_duration, on the "asyncio" logger at WARNING, as
    "Executing <Task pending name='checkout-7' coro=<...> ...> took 0.153 seconds".
    """

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.task_names: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        # TODO: for records whose message starts with "Executing ", pull the task name out of
        #       name='...' and add it to self.task_names. Ignore every other record.
        raise NotImplementedError


async def _run_steps(steps: list[Step], slow_ms: float) -> tuple[list[str], list[str]]:
    """Run the steps as named tasks; return (failed lines, names of tasks left running)."""
    # TODO: 1. set the running loop's slow_callback_duration from slow_ms (it is in seconds).
    #       2. start one task per step with handle_step(step), named step["task"], and wait for
    #          all of them without letting one failure stop the others.
    #       3. a failed step becomes "name: ExceptionType: message".
    #       4. any task still running now (other than this one) was leaked: note its name,
    #          cancel it and wait for it, so asyncio.run() ends cleanly.
    raise NotImplementedError


def diagnose(steps: list[Step], slow_ms: float = 100.0) -> Report:
    """Run `steps` concurrently in asyncio debug mode and report what went wrong.

    Returns {"slow": [...], "never_awaited": [...], "leaked": [...], "failed": [...]}, each sorted:
    - slow: names of tasks that held the loop for slow_ms or longer (each name once);
    - never_awaited: "coroutine created in function", one entry per coroutine never awaited;
    - leaked: names of tasks still running after every step finished;
    - failed: "task: ExceptionType: message" for each step that raised.
    """
    # TODO: attach a SlowStepCollector to the "asyncio" logger (and remove it afterwards, even
    #       if something raises); record warnings while asyncio.run(..., debug=True) runs
    #       _run_steps; turn each "never awaited" RuntimeWarning into its entry.
    raise NotImplementedError
