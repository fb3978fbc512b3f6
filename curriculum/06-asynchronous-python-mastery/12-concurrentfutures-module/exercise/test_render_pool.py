from typing import Any

import pytest
from render_pool import render_batch, render_for_requests, service_pid


def invoice(
    number: str, *lines: tuple[str, int, int], font: str = "dejavu", delay_s: float = 0.0
) -> dict[str, Any]:
    return {
        "number": number,
        "lines": [{"sku": sku, "qty": qty, "unit_cents": cents} for sku, qty, cents in lines],
        "font": font,
        "delay_s": delay_s,
    }


def simple(number: str, cents: int = 1_000, delay_s: float = 0.0) -> dict[str, Any]:
    return invoice(number, ("SKU-1", 1, cents), delay_s=delay_s)


def corrupt(number: str) -> dict[str, Any]:
    return invoice(number, ("SKU-9", 1, 500), font="corrupt")


def test_a_clean_batch_is_rendered_and_keyed_by_invoice_number() -> None:
    batch = [
        invoice("INV-1", ("SKU-1", 2, 1_250), ("SKU-2", 1, 999)),
        invoice("INV-2", ("SKU-3", 3, 100)),
        simple("INV-3", 4_200),
    ]
    report = render_batch(batch, workers=2)
    totals = {number: r["total_cents"] for number, r in report["rendered"].items()}
    assert totals == {"INV-1": 3_499, "INV-2": 300, "INV-3": 4_200}, (
        "rendered must map each invoice number to render_invoice()'s result for it"
    )
    assert report["failed"] == {} and report["crashed"] == [] and report["retried"] == [], (
        "a clean batch has nothing in failed, crashed or retried"
    )


def test_the_rendering_runs_in_worker_processes_not_in_the_service() -> None:
    batch = [simple(f"INV-{n}", delay_s=0.3) for n in range(4)]
    report = render_batch(batch, workers=2)
    pids = {r["pid"] for r in report["rendered"].values()}
    assert service_pid() not in pids, (
        "render_invoice ran in the service's own process: submit it to a ProcessPoolExecutor"
    )
    assert len(pids) == 2, (
        f"4 slow invoices with workers=2 used {len(pids)} worker process(es); expected both "
        "workers to take part, so the pool must get max_workers=workers and all four invoices "
        "must be submitted before waiting for any result"
    )


def test_an_invoice_that_raises_fails_alone_with_its_type_and_message() -> None:
    batch = [simple("INV-10"), invoice("INV-11"), invoice("INV-12", ("SKU-4", 0, 300))]
    report = render_batch(batch, workers=2)
    assert report["failed"] == {
        "INV-11": "ValueError: INV-11 has no lines",
        "INV-12": "ValueError: INV-12: quantity 0 for SKU-4",
    }, "failed maps the number to describe(error): the exception's type name and message"
    assert list(report["rendered"]) == ["INV-10"], "the invoices that raise must not stop the rest"
    assert report["crashed"] == []


def test_a_crashing_invoice_is_isolated_and_the_others_still_render() -> None:
    batch = [simple(f"INV-2{n}", delay_s=0.05) for n in range(6)]
    batch.insert(2, corrupt("INV-2X"))
    report = render_batch(batch, workers=2)
    assert report["crashed"] == ["INV-2X"], (
        f"crashed is {report['crashed']}: when the pool breaks, every unfinished future fails "
        "with BrokenProcessPool, so retry each suspect alone in a fresh one-worker pool and "
        "report only the ones that break that pool too"
    )
    assert sorted(report["rendered"]) == [f"INV-2{n}" for n in range(6)], (
        "the bystanders of a crash must be rendered on retry, not reported as failed or lost"
    )
    assert report["failed"] == {}, (
        f"failed is {report['failed']}: BrokenProcessPool is not an invoice's own error"
    )
    assert "INV-2X" in report["retried"], (
        "retried lists every suspect that was retried alone, the culprit included"
    )


def test_two_crashing_invoices_are_both_reported() -> None:
    batch = [corrupt("INV-3A"), simple("INV-31"), simple("INV-32"), corrupt("INV-3B")]
    report = render_batch(batch, workers=2)
    assert report["crashed"] == ["INV-3A", "INV-3B"], (
        "each suspect needs its own fresh pool: one crash breaks the pool for everyone in it"
    )
    assert sorted(report["rendered"]) == ["INV-31", "INV-32"]


def test_a_second_crash_later_in_the_batch_breaks_the_next_pool_and_is_handled_too() -> None:
    first_half = [simple(f"INV-6{n}", delay_s=0.02) for n in range(8)]
    second_half = [simple(f"INV-7{n}", delay_s=0.02) for n in range(8)]
    batch = [corrupt("INV-6X"), *first_half, corrupt("INV-7X"), *second_half]
    report = render_batch(batch, workers=2)
    assert report["crashed"] == ["INV-6X", "INV-7X"], (
        f"crashed is {report['crashed']}: after a crash the rest of the batch goes to a fresh "
        "pool, and that pool can break too; handle every crash the same way"
    )
    assert len(report["rendered"]) == 16 and report["failed"] == {}
    assert len(report["retried"]) <= 8, (
        f"{len(report['retried'])} invoices were retried alone after 2 crashes with workers=2; "
        "each crash can only catch the at most 4 invoices that were in the pool"
    )


def test_an_ordinary_error_among_the_bystanders_is_still_a_failure() -> None:
    batch = [corrupt("INV-4X"), invoice("INV-41"), simple("INV-42"), simple("INV-43")]
    report = render_batch(batch, workers=2)
    assert report["failed"] == {"INV-41": "ValueError: INV-41 has no lines"}, (
        "an invoice retried after a crash must still end up in failed when it raises"
    )
    assert report["crashed"] == ["INV-4X"]
    assert sorted(report["rendered"]) == ["INV-42", "INV-43"]


def test_a_crash_costs_only_the_invoices_in_the_pool_and_the_batch_goes_on() -> None:
    batch = [corrupt("INV-5X")] + [simple(f"INV-5{n:02}", delay_s=0.02) for n in range(40)]
    try:
        report = render_batch(batch, workers=2)
    except RuntimeError as error:  # BrokenProcessPool is a RuntimeError
        pytest.fail(
            f"render_batch raised {type(error).__name__}: {error}. Once the pool is broken, "
            "submit() raises BrokenProcessPool; that invoice never ran, so it belongs in a "
            "fresh pool with the rest of the batch"
        )
    assert report["crashed"] == ["INV-5X"]
    assert len(report["rendered"]) == 40 and report["failed"] == {}
    assert "INV-5X" in report["retried"] and len(report["retried"]) <= 4, (
        f"{len(report['retried'])} invoices were retried alone: with workers=2 at most 4 "
        "invoices may be in the pool, and only those are suspects when it breaks; the invoices "
        "not yet submitted go to a fresh pool together"
    )


def test_an_empty_batch_returns_four_empty_sections() -> None:
    assert render_batch([], workers=2) == {
        "rendered": {},
        "failed": {},
        "crashed": [],
        "retried": [],
    }


def test_bad_arguments_are_rejected_before_any_work() -> None:
    with pytest.raises(ValueError):
        render_batch([simple("INV-50")], workers=0)
    with pytest.raises(ValueError):
        render_batch([simple("INV-51"), simple("INV-51")], workers=2)
    with pytest.raises(ValueError):
        render_for_requests([[simple("INV-52")]], workers=0)


def test_requests_come_back_in_request_order_with_invoices_in_their_order() -> None:
    requests = [
        [simple("INV-60", 100, delay_s=0.2), simple("INV-61", 200)],
        [simple("INV-62", 300)],
        [],
    ]
    responses = render_for_requests(requests, workers=2)
    assert [r["error"] for r in responses] == [None, None, None]
    numbers = [[i["number"] for i in r["invoices"]] for r in responses]
    assert numbers == [["INV-60", "INV-61"], ["INV-62"], []], (
        "one response per request, in request order, each listing its invoices in the order "
        "they were given, whichever finished first (asyncio.gather keeps argument order)"
    )
    assert responses[0]["invoices"][1]["total_cents"] == 200


def test_one_failing_invoice_fails_only_its_own_request() -> None:
    requests = [
        [simple("INV-70"), invoice("INV-71", ("SKU-5", -2, 100))],
        [simple("INV-72")],
    ]
    responses = render_for_requests(requests, workers=2)
    assert responses[0] == {"invoices": [], "error": "ValueError: INV-71: quantity -2 for SKU-5"}, (
        "a request with a failing invoice answers with no invoices and describe(error)"
    )
    assert responses[1]["error"] is None and len(responses[1]["invoices"]) == 1, (
        "the other requests must not be affected by one request's failure"
    )


def test_request_rendering_runs_in_worker_processes() -> None:
    responses = render_for_requests([[simple("INV-80")], [simple("INV-81")]], workers=2)
    pids = {i["pid"] for r in responses for i in r["invoices"]}
    assert pids and service_pid() not in pids, (
        "the invoices were rendered in the service's own process or thread pool: pass the "
        "ProcessPoolExecutor to loop.run_in_executor()"
    )
    assert render_for_requests([], workers=2) == [], "no requests, no responses"
