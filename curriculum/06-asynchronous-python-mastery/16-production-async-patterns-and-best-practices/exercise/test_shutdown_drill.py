from typing import Any

from shutdown_drill import run_drill

LISTS = ("done", "failed", "interrupted", "pending")


def order(order_id: str, seconds: float, fail: bool = False) -> dict[str, Any]:
    return {"id": order_id, "seconds": seconds, "fail": fail}


def where(report: dict[str, Any], order_id: str) -> list[str]:
    return [name for name in LISTS if order_id in report[name]]


def test_without_a_signal_every_order_is_done_and_the_exit_code_is_0() -> None:
    orders = [order("ORD-3", 0.05), order("ORD-1", 0.1), order("ORD-2", 0.02)]
    report = run_drill(orders, workers=2, grace=1.0)
    assert report["done"] == ["ORD-1", "ORD-2", "ORD-3"], (
        f"got {report!r}: with no signal the batch runs to its end, ids sorted under 'done'"
    )
    assert report["exit_code"] == 0 and report["signals"] == [], f"got {report!r}"
    assert report["pending"] == report["interrupted"] == report["failed"] == [], f"got {report!r}"


def test_resources_open_in_order_and_close_in_reverse_after_the_last_order() -> None:
    report = run_drill([order("ORD-1", 0.05), order("ORD-2", 0.05)], workers=2)
    events = report["events"]
    assert events[:2] == ["open database", "open http"], (
        f"events {events}: open the database first, then the http client that needs it"
    )
    assert events[-2:] == ["close http", "close database"], (
        f"events {events}: an AsyncExitStack (or nested async with) closes in reverse order, "
        "and only after the workers are finished"
    )


def test_an_empty_batch_still_opens_and_closes_its_resources() -> None:
    report = run_drill([], workers=3)
    assert report["events"] == ["open database", "open http", "close http", "close database"], (
        f"got {report['events']}: no orders is a normal run, not an error"
    )
    assert report["exit_code"] == 0, f"got {report!r}"


def test_a_failing_order_is_reported_and_the_worker_goes_on_to_the_next() -> None:
    orders = [order("ORD-1", 0.01, fail=True), order("ORD-2", 0.01), order("ORD-3", 0.01)]
    report = run_drill(orders, workers=1)
    assert report["failed"] == ["ORD-1"], f"got {report!r}: ORD-1's ValueError is a 'failed'"
    assert report["done"] == ["ORD-2", "ORD-3"], (
        f"got {report!r}: one bad order must not stop the only worker; catch Exception "
        "around process_order (but never CancelledError, which is a BaseException)"
    )


def test_sigterm_reaches_the_service_through_the_event_loop() -> None:
    report = run_drill([order("ORD-1", 0.3)], workers=1, signals=[[0.1, "SIGTERM"]])
    assert report["unhandled"] == [], (
        f"got {report!r}: the signal arrived while no asyncio handler was installed; "
        "call loop.add_signal_handler(signal.SIGTERM, ...) at the start of serve"
    )
    assert report["signals"] == ["SIGTERM"], f"got {report!r}"
    assert report["exit_code"] == 143, (
        f"got {report!r}: a service stopped by SIGTERM exits with 128 + 15 = 143"
    )


def test_sigterm_lets_orders_in_flight_finish_and_starts_no_new_one() -> None:
    orders = [order("ORD-1", 0.3), order("ORD-2", 0.4), order("ORD-3", 0.1), order("ORD-4", 0.1)]
    report = run_drill(orders, workers=2, grace=2.0, signals=[[0.1, "SIGTERM"]])
    assert report["done"] == ["ORD-1", "ORD-2"], (
        f"got {report!r}: the two orders running when SIGTERM came have time to finish"
    )
    assert report["pending"] == ["ORD-3", "ORD-4"], (
        f"got {report!r}: after the signal no worker may take another order"
    )
    events = report["events"]
    after = events[events.index("sent SIGTERM") :]
    assert not [e for e in after if e.startswith("start")], (
        f"events {events}: an order was started after SIGTERM"
    )
    assert report["elapsed"] < 1.5, (
        f"took {report['elapsed']} s: once the in-flight orders finish, serve must return, "
        "without waiting out the whole grace period"
    )


def test_an_order_longer_than_the_grace_period_is_interrupted_when_it_expires() -> None:
    orders = [order("ORD-1", 5.0), order("ORD-2", 0.2)]
    report = run_drill(orders, workers=2, grace=0.4, signals=[[0.1, "SIGTERM"]])
    assert report["done"] == ["ORD-2"], f"got {report!r}: ORD-2 finishes inside the grace period"
    assert report["interrupted"] == ["ORD-1"], (
        f"got {report!r}: ORD-1 would take 5 s; cancel it when the 0.4 s grace period is over "
        "and record it in the worker's except CancelledError block"
    )
    assert 0.4 <= report["elapsed"] < 1.4, (
        f"took {report['elapsed']} s: expected about 0.1 s + 0.4 s grace; the grace period "
        "starts at the signal and bounds the drain"
    )


def test_sigint_exits_with_130() -> None:
    report = run_drill([order("ORD-1", 0.3)], workers=1, signals=[[0.1, "SIGINT"]])
    assert report["unhandled"] == [], f"got {report!r}: install a handler for SIGINT as well"
    assert report["exit_code"] == 130 and report["done"] == ["ORD-1"], (
        f"got {report!r}: SIGINT (Ctrl-C) drains like SIGTERM and exits with 128 + 2"
    )


def test_a_second_signal_abandons_the_drain_at_once() -> None:
    orders = [order("ORD-1", 5.0), order("ORD-2", 5.0), order("ORD-3", 0.1)]
    report = run_drill(orders, workers=2, grace=3.0, signals=[[0.1, "SIGINT"], [0.3, "SIGINT"]])
    assert report["interrupted"] == ["ORD-1", "ORD-2"], f"got {report!r}"
    assert report["elapsed"] < 1.2, (
        f"took {report['elapsed']} s: the second signal must cut the 3 s grace period short"
    )
    assert report["signals"] == ["SIGINT", "SIGINT"] and report["exit_code"] == 130, (
        f"got {report!r}: the exit code comes from the first signal"
    )
    assert report["events"][-2:] == ["close http", "close database"], (
        f"events {report['events']}: the resources are closed even when the drain is abandoned"
    )


def test_every_order_is_in_exactly_one_list_after_a_shutdown() -> None:
    orders = [order(f"ORD-{n}", 0.15 * (n % 3) + 0.05, fail=n == 4) for n in range(1, 10)]
    report = run_drill(orders, workers=3, grace=0.25, signals=[[0.22, "SIGTERM"]])
    for item in orders:
        lists = where(report, item["id"])
        assert len(lists) == 1, f"{item['id']} is in {lists or 'no list'}; report {report!r}"
