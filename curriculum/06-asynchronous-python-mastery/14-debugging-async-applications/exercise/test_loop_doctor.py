import time
from typing import Any

from loop_doctor import diagnose

EMPTY = {"slow": [], "never_awaited": [], "leaked": [], "failed": []}


def step(task: str, action: str, seconds: float = 0.0) -> dict[str, Any]:
    return {"task": task, "action": action, "seconds": seconds}


def test_a_healthy_run_reports_nothing() -> None:
    report = diagnose([step("checkout-1", "io", 0.05), step("checkout-2", "io", 0.02)])
    assert report == EMPTY, (
        f"got {report!r}: steps that only await are healthy, so every list stays empty"
    )


def test_an_empty_run_reports_nothing() -> None:
    assert diagnose([]) == EMPTY, "no steps: the report still has all four keys, each empty"


def test_a_blocking_call_is_reported_by_the_name_of_its_task() -> None:
    steps = [
        step("checkout-1", "io", 0.05),
        step("checkout-2", "block", 0.15),
        step("checkout-3", "io"),
    ]
    report = diagnose(steps)
    assert report["slow"] == ["checkout-2"], (
        f"got {report['slow']!r}: only the step that called time.sleep(0.15) held the loop; "
        "collect the name='...' of each 'Executing <Task ...> took' record on the asyncio logger"
    )


def test_the_threshold_decides_what_counts_as_slow() -> None:
    short_block = [step("checkout-4", "block", 0.03)]
    assert diagnose(short_block, slow_ms=100)["slow"] == [], (
        "a 30 ms block is under a 100 ms threshold and must not be reported"
    )
    assert diagnose(short_block, slow_ms=10)["slow"] == ["checkout-4"], (
        "with slow_ms=10 the same 30 ms block must be reported: set the running loop's "
        "slow_callback_duration to slow_ms / 1000"
    )


def test_a_task_that_blocks_twice_is_listed_once() -> None:
    report = diagnose([step("checkout-5", "block", 0.12), step("checkout-5", "block", 0.12)])
    assert report["slow"] == ["checkout-5"], f"got {report['slow']!r}: each task name once"


def test_a_forgotten_await_names_the_coroutine_and_where_it_was_created() -> None:
    report = diagnose([step("checkout-6", "forget")])
    assert report["never_awaited"] == ["write_audit_entry created in handle_step"], (
        f"got {report['never_awaited']!r}: the RuntimeWarning's source is the coroutine; in "
        "debug mode its cr_origin lists where it was created, innermost frame first"
    )


def test_the_creation_site_is_the_function_that_dropped_the_coroutine() -> None:
    report = diagnose([step("checkout-7", "forget_in_hook"), step("checkout-8", "forget")])
    assert report["never_awaited"] == [
        "notify_warehouse created in on_checkout_hook",
        "write_audit_entry created in handle_step",
    ], f"got {report['never_awaited']!r}: one sorted entry per coroutine"


def test_the_same_forgotten_await_is_reported_on_every_run() -> None:
    first = diagnose([step("checkout-9", "forget")])["never_awaited"]
    second = diagnose([step("checkout-9", "forget")])["never_awaited"]
    assert first == second == ["write_audit_entry created in handle_step"], (
        f"first run {first!r}, second run {second!r}: the default warning filter shows a "
        "warning once per location; record them with the 'always' action"
    )


def test_a_task_left_running_is_reported_and_cleaned_up() -> None:
    started = time.perf_counter()
    report = diagnose([step("ORD-10", "leak"), step("ORD-11", "io", 0.01)])
    elapsed = time.perf_counter() - started
    assert report["leaked"] == ["ack-poller-ORD-10"], (
        f"got {report['leaked']!r}: the poller task was still running when every step had "
        "finished, so it is leaked"
    )
    assert elapsed < 3.0, (
        f"diagnose took {elapsed:.1f}s: cancel leaked tasks instead of waiting an hour for them"
    )
    assert diagnose([])["leaked"] == [], "a later run must not see the previous run's tasks"


def test_a_failing_handler_is_reported_and_does_not_stop_the_others() -> None:
    steps = [step("pay-1", "fail"), step("pay-2", "io", 0.05), step("pay-3", "block", 0.15)]
    report = diagnose(steps)
    assert report["failed"] == ["pay-1: ValueError: card declined for pay-1"], (
        f"got {report['failed']!r}: one line per failed step, 'name: ExceptionType: message'"
    )
    assert report["slow"] == ["pay-3"], (
        f"got {report['slow']!r}: the other steps must still run after pay-1 fails"
    )


def test_an_unknown_action_is_a_failure_of_its_task_not_a_crash() -> None:
    report = diagnose([step("pay-4", "dance"), step("pay-5", "io")])
    assert report["failed"] == ["pay-4: LookupError: unknown action 'dance'"], f"got {report!r}"


def test_steps_run_concurrently() -> None:
    started = time.perf_counter()
    diagnose([step(f"checkout-{n}", "io", 0.4) for n in range(5)])
    elapsed = time.perf_counter() - started
    assert elapsed < 1.5, (
        f"five 0.4 s waits took {elapsed:.2f}s: run the steps as concurrent tasks, not one by one"
    )


def test_a_run_with_every_problem_reports_each_in_its_list() -> None:
    steps = [
        step("mix-a", "block", 0.15),
        step("mix-b", "forget_in_hook"),
        step("mix-c", "leak"),
        step("mix-d", "fail"),
        step("mix-e", "io", 0.02),
    ]
    assert diagnose(steps) == {
        "slow": ["mix-a"],
        "never_awaited": ["notify_warehouse created in on_checkout_hook"],
        "leaked": ["ack-poller-mix-c"],
        "failed": ["mix-d: ValueError: card declined for mix-d"],
    }
