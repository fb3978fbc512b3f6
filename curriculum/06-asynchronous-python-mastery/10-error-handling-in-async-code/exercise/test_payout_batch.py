import time
from typing import Any

from payout_batch import settle_batch

LISTS = ("paid", "declined", "failed", "cancelled")


def job(job_id: str, outcome: str, delay: float = 0.0) -> dict[str, Any]:
    return {"id": job_id, "outcome": outcome, "delay": delay}


def where_is(report: dict[str, Any], job_id: str) -> list[str]:
    return [name for name in LISTS if job_id in report.get(name, [])]


def test_a_batch_where_every_payout_succeeds_is_ok() -> None:
    report = settle_batch([job("PAY-2", "paid", 0.02), job("PAY-1", "paid", 0.01)], 5.0)
    assert report == {
        "status": "ok",
        "paid": ["PAY-1", "PAY-2"],
        "declined": [],
        "failed": [],
        "cancelled": [],
        "errors": [],
    }, f"got {report!r}: two successful payouts are 'ok', with both ids sorted under 'paid'"


def test_a_declined_payout_is_reported_and_does_not_stop_the_others() -> None:
    jobs = [job("PAY-1", "declined", 0.0), job("PAY-2", "paid", 0.05), job("PAY-3", "paid", 0.1)]
    report = settle_batch(jobs, 5.0)
    assert report["declined"] == ["PAY-1"], (
        f"got {report!r}: a PaymentDeclined is a result ('declined'), not a failure"
    )
    assert report["paid"] == ["PAY-2", "PAY-3"], (
        f"got {report!r}: a decline must not cancel the other payouts; settle_one should catch "
        "PaymentDeclined so the TaskGroup never sees it"
    )
    assert report["status"] == "ok" and report["errors"] == [], f"got {report!r}"


def test_a_gateway_outage_cancels_the_payouts_still_running() -> None:
    jobs = [
        job("PAY-1", "paid", 0.01),
        job("PAY-2", "gateway_down", 0.1),
        job("PAY-3", "paid", 3.0),
        job("PAY-4", "hang"),
    ]
    report = settle_batch(jobs, 10.0)
    assert report["status"] == "gateway_down", f"got {report!r}"
    assert report["paid"] == ["PAY-1"], (
        f"got {report!r}: a payout that finished before the outage stays 'paid'"
    )
    assert report["cancelled"] == ["PAY-3", "PAY-4"], (
        f"got {report!r}: payouts still running when the gateway failed must be cancelled "
        "(a TaskGroup does this; gather does not)"
    )
    assert report["failed"] == ["PAY-2"], f"got {report!r}"
    assert report["errors"] == ["PAY-2: GatewayUnavailable: gateway answered 503"], (
        f"got {report['errors']!r}: each error line is 'ID: ExceptionType: message', and "
        "cancelled payouts are not errors"
    )


def test_a_gateway_outage_returns_without_waiting_for_slow_payouts() -> None:
    jobs = [job("PAY-1", "gateway_down", 0.05), job("PAY-2", "paid", 4.0), job("PAY-3", "hang")]
    started = time.perf_counter()
    report = settle_batch(jobs, 10.0)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, (
        f"the batch took {elapsed:.2f}s: after the outage at 0.05s nothing should wait for the "
        "4-second payout or the one that never answers"
    )
    assert report["status"] == "gateway_down", f"got {report!r}"


def test_an_unexpected_error_is_a_bug_with_its_payout_named() -> None:
    jobs = [job("PAY-7", "bug", 0.01), job("PAY-8", "hang")]
    report = settle_batch(jobs, 5.0)
    assert report["status"] == "bug", (
        f"got {report!r}: an exception that is neither a decline nor an outage is a bug, and "
        "settle_all must report it, not let the ExceptionGroup escape"
    )
    assert report["errors"] == ["PAY-7: KeyError: 'iban'"], (
        f"got {report['errors']!r}: name the payout with its task name, then the type and str()"
    )
    assert report["cancelled"] == ["PAY-8"], f"got {report!r}"


def test_failures_in_the_same_moment_are_all_reported_and_a_bug_outranks_an_outage() -> None:
    jobs = [
        job("PAY-1", "gateway_down"),
        job("PAY-2", "bug"),
        job("PAY-3", "gateway_down"),
        job("PAY-4", "hang"),
    ]
    report = settle_batch(jobs, 5.0)
    assert report["errors"] == [
        "PAY-1: GatewayUnavailable: gateway answered 503",
        "PAY-2: KeyError: 'iban'",
        "PAY-3: GatewayUnavailable: gateway answered 503",
    ], f"got {report['errors']!r}: every failure in the group is reported, sorted"
    assert report["status"] == "bug", (
        f"got {report['status']!r}: when an outage and a bug arrive together, both except* "
        "clauses run, and 'bug' wins"
    )
    assert report["failed"] == ["PAY-1", "PAY-2", "PAY-3"], f"got {report!r}"


def test_the_deadline_cancels_what_is_still_running_and_reports_timeout() -> None:
    jobs = [job("PAY-1", "paid", 0.01), job("PAY-2", "hang"), job("PAY-3", "declined", 0.01)]
    started = time.perf_counter()
    report = settle_batch(jobs, 0.3)
    elapsed = time.perf_counter() - started
    assert report["status"] == "timeout", f"got {report!r}"
    assert report["cancelled"] == ["PAY-2"], f"got {report!r}: the hanging payout is cancelled"
    assert report["paid"] == ["PAY-1"] and report["declined"] == ["PAY-3"], f"got {report!r}"
    assert report["errors"] == [], (
        f"got {report['errors']!r}: a cancelled payout is not an error, and the deadline's "
        "TimeoutError belongs to the batch, not to a payout"
    )
    assert elapsed < 2.5, f"the batch took {elapsed:.2f}s with a 0.3s deadline"


def test_a_cleanup_failure_during_the_deadline_is_still_a_timeout() -> None:
    jobs = [job("PAY-1", "hang"), job("PAY-2", "hang_dirty"), job("PAY-3", "paid", 0.01)]
    report = settle_batch(jobs, 0.2)
    assert report["status"] == "timeout", (
        f"got {report['status']!r}: when a cancelled payout's cleanup raises, the TaskGroup "
        "raises an ExceptionGroup instead of CancelledError, so asyncio.timeout() never turns it "
        "into TimeoutError. Ask the Timeout object: expired() is still True"
    )
    assert report["errors"] == ["PAY-2: RuntimeError: could not release the card hold for PAY-2"], (
        f"got {report['errors']!r}: the cleanup failure must still be reported"
    )
    assert report["failed"] == ["PAY-2"] and report["cancelled"] == ["PAY-1"], f"got {report!r}"
    assert report["paid"] == ["PAY-3"], f"got {report!r}"


def test_every_payout_lands_in_exactly_one_list() -> None:
    jobs = [
        job("PAY-1", "paid", 0.01),
        job("PAY-2", "declined", 0.01),
        job("PAY-3", "bug", 0.05),
        job("PAY-4", "hang"),
        job("PAY-5", "paid", 2.0),
    ]
    report = settle_batch(jobs, 5.0)
    for payout in jobs:
        places = where_is(report, payout["id"])
        assert len(places) == 1, (
            f"{payout['id']} appears in {places}: every id belongs to exactly one of {LISTS}"
        )
    assert set(report) == {"status", *LISTS, "errors"}, f"unexpected keys: {sorted(report)}"


def test_an_empty_batch_is_ok() -> None:
    report = settle_batch([], 1.0)
    assert report == {
        "status": "ok",
        "paid": [],
        "declined": [],
        "failed": [],
        "cancelled": [],
        "errors": [],
    }, f"got {report!r}: an empty batch has nothing to fail"
