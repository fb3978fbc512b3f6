import asyncio
import contextlib
import gc
from typing import Any

from health_checks import CheckResult, HealthCheck, check_all, run_check, stop_task


def answers(value: str, after: float = 0.0) -> HealthCheck:
    async def check() -> str:
        await asyncio.sleep(after)
        return value

    return check


def fails_with(error: Exception) -> HealthCheck:
    async def check() -> str:
        await asyncio.sleep(0)
        raise error

    return check


async def until_started(
    started: "asyncio.Event | asyncio.Barrier", task: "asyncio.Task[Any]"
) -> None:
    """Wait until the checks have started, or the task under test has already ended."""
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait([waiter, task], timeout=2, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()


def outcome_of(task: "asyncio.Task[Any]") -> str:
    """How a finished task ended, for assertion messages."""
    if not task.done():
        return "still running"
    if task.cancelled():
        return "cancelled"
    if task.exception() is not None:
        return f"raised {task.exception()!r}"
    return f"returned {task.result()!r}"


# run_check


def test_a_check_that_answers_in_time_is_ok_with_its_answer() -> None:
    result = asyncio.run(run_check("postgres", answers("15.4 accepting connections"), 1.0))
    assert result == CheckResult("postgres", "ok", "15.4 accepting connections"), (
        "a check that returns within the deadline is 'ok', and its return value is the detail"
    )


def test_a_slow_check_is_reported_as_a_timeout_and_is_cancelled() -> None:
    cleaned_up: list[str] = []

    async def hangs() -> str:
        try:
            await asyncio.sleep(10)
        finally:
            cleaned_up.append("redis")
        return "never"

    async def scenario() -> CheckResult:
        result = await run_check("redis", hangs, 0.05)
        await asyncio.sleep(0)
        return result

    result = asyncio.run(scenario())
    assert result == CheckResult("redis", "timeout", "no answer within 0.05s"), (
        f"got {result!r}: a check still running at the deadline is a 'timeout'"
    )
    assert cleaned_up == ["redis"], (
        "the slow check must be cancelled at the deadline, not left running in the background: "
        "await it inside asyncio.timeout() rather than just stop waiting for it"
    )


def test_a_failing_check_is_an_error_named_by_type_and_message() -> None:
    result = asyncio.run(run_check("smtp", fails_with(ConnectionRefusedError("port 25")), 1.0))
    assert result == CheckResult("smtp", "error", "ConnectionRefusedError: port 25"), (
        f"got {result!r}: an exception from the check becomes status 'error' with "
        "detail 'TypeName: message'"
    )


def test_a_timeout_error_raised_by_the_check_itself_is_an_error_not_our_timeout() -> None:
    result = asyncio.run(run_check("search", fails_with(TimeoutError("pool exhausted")), 1.0))
    assert result == CheckResult("search", "error", "TimeoutError: pool exhausted"), (
        f"got {result!r}: the check raised its own TimeoutError long before our 1 s deadline. "
        "Only a deadline that expired (Timeout.expired()) is a 'timeout'"
    )


def test_cancelling_the_caller_propagates_instead_of_being_reported() -> None:
    async def scenario() -> "asyncio.Task[CheckResult]":
        started = asyncio.Event()

        async def slow() -> str:
            started.set()
            await asyncio.sleep(10)
            return "never"

        task = asyncio.create_task(run_check("queue", slow, 5.0))
        await until_started(started, task)
        task.cancel()
        await asyncio.wait([task], timeout=2)
        return task

    task = asyncio.run(scenario())
    assert task.cancelled(), (
        f"run_check {outcome_of(task)} after its task was cancelled: a cancellation from "
        "outside is not a timeout or an error. Catch Exception (CancelledError is a "
        "BaseException), never BaseException, and let CancelledError through"
    )


# check_all


def test_check_all_runs_the_checks_concurrently() -> None:
    async def scenario() -> list[CheckResult]:
        all_started = asyncio.Barrier(3)

        async def meets_the_others() -> str:
            await all_started.wait()  # passes only once all three checks are running
            return "up"

        checks = dict.fromkeys(("api", "db", "cache"), meets_the_others)
        return await check_all(checks, timeout=0.5)

    statuses = [result.status for result in asyncio.run(scenario())]
    assert statuses == ["ok", "ok", "ok"], (
        f"got {statuses}: each check waits until all three have started, so the checks "
        "must run at the same time, one task each, not one after another"
    )


def test_check_all_sorts_by_name_and_keeps_failures_apart() -> None:
    checks = {
        "smtp": fails_with(ConnectionRefusedError("port 25")),
        "cache": answers("PONG"),
        "search": answers("green", after=10),
        "billing": answers("200 OK", after=0.01),
    }
    results = asyncio.run(check_all(checks, timeout=0.1))
    assert results == [
        CheckResult("billing", "ok", "200 OK"),
        CheckResult("cache", "ok", "PONG"),
        CheckResult("search", "timeout", "no answer within 0.1s"),
        CheckResult("smtp", "error", "ConnectionRefusedError: port 25"),
    ], (
        f"got {results!r}: one result per check, sorted by name; a failing or slow check "
        "must not change the others' results"
    )


def test_check_all_with_no_checks_returns_an_empty_list() -> None:
    assert asyncio.run(check_all({}, timeout=1.0)) == [], "no checks, no results"


def test_cancelling_check_all_cancels_every_check_and_propagates() -> None:
    async def scenario() -> "tuple[asyncio.Task[list[CheckResult]], list[str]]":
        stopped: list[str] = []
        started = asyncio.Barrier(3)

        def slow(name: str) -> HealthCheck:
            async def check() -> str:
                try:
                    await started.wait()
                    await asyncio.sleep(10)
                finally:
                    stopped.append(name)
                return "never"

            return check

        task = asyncio.create_task(check_all({n: slow(n) for n in ("a", "b")}, timeout=5))
        await until_started(started, task)
        task.cancel()
        await asyncio.wait([task], timeout=2)
        await asyncio.sleep(0)
        return task, sorted(stopped)  # before asyncio.run() cancels whatever is left

    task, stopped = asyncio.run(scenario())
    assert task.cancelled(), f"check_all {outcome_of(task)} after it was cancelled"
    assert stopped == ["a", "b"], (
        f"only {stopped} stopped when check_all was cancelled: every running check must be "
        "cancelled with it (a TaskGroup, or gather, does this for you)"
    )


# stop_task


def test_stop_task_cancels_a_running_task() -> None:
    cleaned_up: list[bool] = []

    async def scenario() -> str:
        async def export() -> None:
            try:
                await asyncio.sleep(10)
            finally:
                cleaned_up.append(True)

        task = asyncio.create_task(export())
        await asyncio.sleep(0)
        return await stop_task(task, grace=1.0)

    assert asyncio.run(scenario()) == "cancelled", "a task that ends cancelled is 'cancelled'"
    assert cleaned_up == [True], "the task's cleanup must have run by the time stop_task returns"


def test_stop_task_reports_a_task_that_had_already_finished() -> None:
    async def scenario() -> str:
        async def sync_index() -> str:
            return "indexed"

        task = asyncio.create_task(sync_index())
        await asyncio.wait([task])
        return await stop_task(task, grace=1.0)

    assert asyncio.run(scenario()) == "finished", (
        "cancel() on a finished task does nothing (it returns False); the task 'finished'"
    )


def test_stop_task_reports_a_failure_without_raising_or_leaving_it_unretrieved() -> None:
    unhandled: list[str] = []

    async def scenario() -> str:
        asyncio.get_running_loop().set_exception_handler(
            lambda loop, context: unhandled.append(context["message"])
        )

        async def flush() -> None:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                raise OSError("disk full while flushing") from None

        task = asyncio.create_task(flush())
        await asyncio.sleep(0)
        outcome = await stop_task(task, grace=1.0)
        del task
        gc.collect()
        return outcome

    assert asyncio.run(scenario()) == "failed", "a task that ends with an exception is 'failed'"
    assert unhandled == [], (
        f"asyncio reported {unhandled}: retrieve the exception (task.exception()) so it "
        "counts as handled"
    )


def test_stop_task_gives_up_after_the_grace_period_on_a_task_that_ignores_it() -> None:
    async def scenario() -> tuple[str, str, float]:
        async def stubborn() -> str:
            with contextlib.suppress(asyncio.CancelledError):  # the bug stop_task must survive
                await asyncio.sleep(10)
            await asyncio.sleep(1.0)
            return "finished late"

        loop = asyncio.get_running_loop()
        task = asyncio.create_task(stubborn())
        await asyncio.sleep(0)
        started = loop.time()
        outcome = await stop_task(task, grace=0.1)
        waited = loop.time() - started
        state = outcome_of(task)
        await asyncio.wait([task], timeout=2)
        return outcome, state, waited

    outcome, state, waited = asyncio.run(scenario())
    assert state == "still running", (
        f"when stop_task returned after {waited:.2f} s, the task had already ended ({state}). "
        "A task that ignores its cancellation must be left running once the 0.1 s grace "
        "period is over: awaiting it waits until it ends, and wait_for() cancels it a second "
        "time at its timeout. asyncio.wait([task], timeout=grace) does neither"
    )
    assert outcome == "stuck", f"got {outcome!r}: a task still running after the grace is 'stuck'"


def test_cancelling_the_caller_of_stop_task_propagates() -> None:
    async def scenario() -> "asyncio.Task[str]":
        async def stubborn() -> None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(10)
            await asyncio.sleep(0.3)

        target = asyncio.create_task(stubborn())
        await asyncio.sleep(0)
        stopper = asyncio.create_task(stop_task(target, grace=5.0))
        await asyncio.sleep(0.05)
        stopper.cancel()
        await asyncio.wait([stopper], timeout=2)
        target.cancel()
        await asyncio.wait([target], timeout=2)
        return stopper

    stopper = asyncio.run(scenario())
    assert stopper.cancelled(), (
        f"stop_task {outcome_of(stopper)} after its own task was cancelled: do not catch "
        "CancelledError around the wait"
    )
