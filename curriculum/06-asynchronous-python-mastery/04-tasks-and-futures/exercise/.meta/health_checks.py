"""Health checks for a service's dependencies, run concurrently under per-check deadlines.

`run_check` turns one check into a result, `check_all` runs every check at once, and
`stop_task` stops a background task without waiting forever for it.
"""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

CheckStatus = Literal["ok", "timeout", "error"]
StopOutcome = Literal["cancelled", "finished", "failed", "stuck"]
HealthCheck = Callable[[], Awaitable[str]]


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: CheckStatus
    detail: str


async def run_check(name: str, check: HealthCheck, timeout: float) -> CheckResult:
    """Run one check under its own deadline and describe how it went.

    - "ok": the check returned within `timeout` seconds; detail is what it returned.
    - "timeout": our deadline expired first; detail is f"no answer within {timeout}s".
    - "error": the check raised; detail is f"{type(error).__name__}: {error}". That includes a
      TimeoutError the check raised itself before our deadline expired.

    A cancellation that comes from outside (the caller's task is cancelled) is neither a timeout
    nor an error: it must propagate as CancelledError.
    """
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            detail = await check()
    except TimeoutError as error:
        if deadline.expired():
            return CheckResult(name, "timeout", f"no answer within {timeout}s")
        return CheckResult(name, "error", f"{type(error).__name__}: {error}")
    except Exception as error:  # CancelledError is a BaseException: it is not caught here
        return CheckResult(name, "error", f"{type(error).__name__}: {error}")
    return CheckResult(name, "ok", detail)


async def check_all(checks: Mapping[str, HealthCheck], timeout: float) -> list[CheckResult]:
    """Run every check concurrently, each under `timeout`; return the results sorted by name.

    A slow or failing check never affects the others. If the caller is cancelled, every check
    still running is cancelled and CancelledError propagates.
    """
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(run_check(name, check, timeout), name=f"check-{name}")
            for name, check in checks.items()
        ]
    return sorted((task.result() for task in tasks), key=lambda result: result.name)


async def stop_task(task: "asyncio.Task[Any]", grace: float) -> StopOutcome:
    """Ask `task` to stop, and wait at most `grace` seconds for it to end.

    - "cancelled": it ended cancelled.
    - "finished": it returned a value (it was already done, or it ignored the request).
    - "failed": it ended with an exception other than CancelledError. The exception is
      retrieved, so asyncio does not log "Task exception was never retrieved", and not raised.
    - "stuck": it is still running after `grace` seconds. It is left running.

    If the task calling stop_task is itself cancelled while waiting, CancelledError propagates.
    """
    task.cancel()
    await asyncio.wait([task], timeout=grace)
    if not task.done():
        return "stuck"
    if task.cancelled():
        return "cancelled"
    if task.exception() is not None:
        return "failed"
    return "finished"
