import asyncio
import math
import threading
import time
from decimal import Decimal

import pytest
from dashboard_loader import (
    MAX_INVOICE_CALLS,
    Dashboard,
    classify,
    fetch_all,
    load_dashboard,
    max_overlap_speedup,
)

LATENCY = 0.05  # every fake async call waits this long
CREDIT_LATENCY = 0.2  # the blocking credit call holds its thread this long


class FakeAccountServices:
    """Records when each call started and ended, and on which thread the credit call ran."""

    def __init__(self, invoices: dict[str, Decimal]) -> None:
        self.invoices = invoices
        self.spans: dict[str, tuple[float, float]] = {}
        self.invoice_calls_in_flight = 0
        self.invoice_calls_peak = 0
        self.credit_thread: int | None = None

    async def _call(self, name: str) -> None:
        started = time.perf_counter()
        await asyncio.sleep(LATENCY)
        self.spans[name] = (started, time.perf_counter())

    async def profile(self, customer_id: str) -> str:
        await self._call("profile")
        return f"Customer {customer_id}"

    async def recent_orders(self, customer_id: str) -> list[str]:
        await self._call("recent_orders")
        return ["ORD-1001", "ORD-1002"]

    async def open_invoice_ids(self, customer_id: str) -> list[str]:
        await self._call("open_invoice_ids")
        return list(self.invoices)

    async def invoice_amount(self, invoice_id: str) -> Decimal:
        self.invoice_calls_in_flight += 1
        self.invoice_calls_peak = max(self.invoice_calls_peak, self.invoice_calls_in_flight)
        try:
            await asyncio.sleep(LATENCY)
            return self.invoices[invoice_id]
        finally:
            self.invoice_calls_in_flight -= 1

    def credit_limit(self, customer_id: str) -> Decimal:
        self.credit_thread = threading.get_ident()
        started = time.perf_counter()
        time.sleep(CREDIT_LATENCY)  # a blocking socket wait in the legacy client
        self.spans["credit_limit"] = (started, time.perf_counter())
        return Decimal("5000.00")


SIX_INVOICES = {f"INV-{n}": Decimal(f"{n}00.00") for n in range(1, 7)}


def overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return max(a[0], b[0]) < min(a[1], b[1])


def test_classify_names_a_mostly_blocked_step_io_bound() -> None:
    assert classify(0.005, 0.195) == "io-bound", "2.5 % CPU share is I/O-bound"


def test_classify_names_a_mostly_running_step_cpu_bound() -> None:
    assert classify(0.19, 0.01) == "cpu-bound", "95 % CPU share is CPU-bound"


def test_classify_counts_both_limits_as_mixed() -> None:
    assert classify(0.05, 0.05) == "mixed", "a 50 % CPU share is mixed"
    assert classify(0.1, 0.9) == "mixed", "exactly 10 % is still mixed: io-bound is below 0.10"
    assert classify(0.9, 0.1) == "mixed", "exactly 90 % is still mixed: cpu-bound is above 0.90"


def test_classify_rejects_a_step_that_took_no_time_or_negative_time() -> None:
    with pytest.raises(ValueError):
        classify(0.0, 0.0)
    with pytest.raises(ValueError):
        classify(-0.1, 0.2)


def test_max_overlap_speedup_is_wall_time_over_cpu_time() -> None:
    assert max_overlap_speedup(0.01, 0.19) == pytest.approx(20.0), (
        "10 ms of CPU in a 200 ms step: one thread can finish at most 20 copies per 200 ms"
    )
    assert max_overlap_speedup(0.2, 0.0) == pytest.approx(1.0), "pure CPU gains nothing"
    assert max_overlap_speedup(0.0, 0.3) == math.inf, "no CPU at all: no ceiling from CPU"


def test_max_overlap_speedup_rejects_negative_time() -> None:
    with pytest.raises(ValueError):  # a negative clock delta means the measurement is broken
        max_overlap_speedup(-0.01, 0.2)
    with pytest.raises(ValueError):
        max_overlap_speedup(0.01, -0.2)


def test_fetch_all_returns_results_in_the_order_of_the_keys() -> None:
    delays = {"SKU-1": 0.06, "SKU-2": 0.04, "SKU-3": 0.02, "SKU-4": 0.0}

    async def fetch(sku: str) -> str:
        await asyncio.sleep(delays[sku])  # later keys answer first
        return f"{sku}: in stock"

    results = asyncio.run(fetch_all(fetch, list(delays), max_in_flight=4))
    assert results == [f"{sku}: in stock" for sku in delays], (
        "results must line up with the keys, not with the order in which the calls finished"
    )


def test_fetch_all_never_exceeds_max_in_flight_and_uses_all_of_it() -> None:
    in_flight = peak = 0

    async def fetch(key: str) -> str:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return key

    keys = [f"INV-{n}" for n in range(10)]
    assert asyncio.run(fetch_all(fetch, keys, max_in_flight=3)) == keys
    assert peak == 3, f"expected 3 calls in flight at the busiest moment, saw {peak}"


def test_fetch_all_with_no_keys_returns_an_empty_list() -> None:
    async def fetch(key: str) -> str:
        raise AssertionError("fetch must not be called when there are no keys")

    assert asyncio.run(fetch_all(fetch, [], max_in_flight=2)) == []


def test_fetch_all_rejects_a_limit_below_one() -> None:
    async def fetch(key: str) -> str:
        return key

    with pytest.raises(ValueError):
        asyncio.run(fetch_all(fetch, ["INV-1"], max_in_flight=0))


def test_load_dashboard_computes_outstanding_and_available_credit() -> None:
    services = FakeAccountServices(SIX_INVOICES)
    dashboard = asyncio.run(load_dashboard(services, "C-42"))
    assert dashboard == Dashboard(
        customer_name="Customer C-42",
        recent_orders=["ORD-1001", "ORD-1002"],
        outstanding=Decimal("2100.00"),
        available_credit=Decimal("2900.00"),
    ), "outstanding is 100+200+...+600 = 2100.00; available credit is 5000.00 - 2100.00"


def test_load_dashboard_starts_the_independent_calls_together() -> None:
    services = FakeAccountServices(SIX_INVOICES)
    asyncio.run(load_dashboard(services, "C-42"))
    first_three = [
        services.spans[name] for name in ("profile", "recent_orders", "open_invoice_ids")
    ]
    assert max(start for start, _ in first_three) < min(end for _, end in first_three), (
        "profile, recent_orders and open_invoice_ids do not depend on each other: each must "
        "start before any of them finishes"
    )
    assert overlap(services.spans["credit_limit"], services.spans["profile"]), (
        "the credit call must be in progress while the async services are being called, "
        "not before or after them"
    )


def test_load_dashboard_bounds_the_invoice_calls() -> None:
    services = FakeAccountServices(SIX_INVOICES)
    asyncio.run(load_dashboard(services, "C-42"))
    assert services.invoice_calls_peak == MAX_INVOICE_CALLS, (
        f"six invoice amounts with a limit of {MAX_INVOICE_CALLS}: expected exactly "
        f"{MAX_INVOICE_CALLS} calls in flight at the busiest moment, "
        f"saw {services.invoice_calls_peak}"
    )


def test_load_dashboard_runs_the_blocking_credit_call_off_the_loop_thread() -> None:
    services = FakeAccountServices(SIX_INVOICES)
    asyncio.run(load_dashboard(services, "C-42"))
    assert services.credit_thread is not None, "credit_limit was never called"
    assert services.credit_thread != threading.get_ident(), (
        "credit_limit blocks its thread; called on the event loop's thread it freezes every "
        "task for its whole duration (asyncio.run runs the loop on the calling thread)"
    )


def test_load_dashboard_keeps_the_event_loop_responsive() -> None:
    services = FakeAccountServices(SIX_INVOICES)
    gaps: list[float] = []

    async def with_heartbeat() -> None:
        done = False

        async def heartbeat() -> None:
            last = time.perf_counter()
            while not done:
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        beat = asyncio.create_task(heartbeat())
        await asyncio.sleep(0.02)  # the heartbeat is ticking before the dashboard starts
        try:
            await load_dashboard(services, "C-42")
        finally:
            done = True
            await beat

    asyncio.run(with_heartbeat())
    assert max(gaps) < CREDIT_LATENCY * 0.75, (
        f"a 10 ms heartbeat went {max(gaps) * 1000:.0f} ms without running: something blocked "
        "the event loop while the dashboard loaded"
    )
