import asyncio
import threading
import time

import pytest
from stock_ledger import StockLedger


class FakeStore:
    """An in-memory level store whose calls suspend like network calls, and that keeps count.

    read() yields to the loop twice and write() once, so any task switch a real store would
    allow between a read and a write happens here on every run.
    """

    def __init__(self, levels: dict[str, int], failing_writes: int = 0) -> None:
        self.levels = dict(levels)
        self.failing_writes = failing_writes
        self.reads_in_flight = 0
        self.peak_reads = 0
        self.writes = 0

    async def read(self, sku: str) -> int:
        self.reads_in_flight += 1
        self.peak_reads = max(self.peak_reads, self.reads_in_flight)
        try:
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            return self.levels[sku]
        finally:
            self.reads_in_flight -= 1

    async def write(self, sku: str, level: int) -> None:
        await asyncio.sleep(0)
        if self.failing_writes:
            self.failing_writes -= 1
            raise ConnectionError("stock store unavailable")
        self.levels[sku] = level
        self.writes += 1


async def settle(*tasks: "asyncio.Task[bool]") -> None:
    """Cancel what still runs and collect every outcome, so no task outlives its test."""
    for task in tasks:
        task.cancel()  # does nothing to a task that has finished
    await asyncio.gather(*tasks, return_exceptions=True)


def test_two_orders_for_the_last_unit_sell_it_once() -> None:
    store = FakeStore({"CONSOLE-1": 1})
    ledger = StockLedger(store)

    async def scenario() -> list[bool]:
        return await asyncio.gather(ledger.reserve("CONSOLE-1", 1), ledger.reserve("CONSOLE-1", 1))

    results = asyncio.run(scenario())
    assert sorted(results) == [False, True], (
        f"two concurrent orders for the last unit returned {results}: both read level 1 "
        "before either wrote. Hold one lock per SKU around the read, the check and the write"
    )
    assert store.levels["CONSOLE-1"] == 0


def test_ten_concurrent_orders_never_take_more_than_the_stock() -> None:
    store = FakeStore({"CABLE-2M": 5})
    ledger = StockLedger(store)

    async def scenario() -> list[bool]:
        return await asyncio.gather(*(ledger.reserve("CABLE-2M", 1) for _ in range(10)))

    results = asyncio.run(scenario())
    assert results.count(True) == 5, (
        f"{results.count(True)} orders were confirmed for 5 units in stock"
    )
    assert store.levels["CABLE-2M"] == 0, f"the level ended at {store.levels['CABLE-2M']}, not 0"


def test_an_order_that_cannot_be_filled_writes_nothing() -> None:
    store = FakeStore({"LAMP-3": 2})
    ledger = StockLedger(store)
    assert asyncio.run(ledger.reserve("LAMP-3", 3)) is False
    assert store.writes == 0, "reserve() wrote to the store although it took nothing"
    assert store.levels["LAMP-3"] == 2


def test_orders_for_different_skus_do_not_wait_for_each_other() -> None:
    store = FakeStore({"SKU-A": 3, "SKU-B": 3})
    ledger = StockLedger(store)

    async def scenario() -> list[bool]:
        return await asyncio.gather(ledger.reserve("SKU-A", 1), ledger.reserve("SKU-B", 1))

    assert asyncio.run(scenario()) == [True, True]
    assert store.peak_reads == 2, (
        "the two orders' reads never overlapped: one lock for every SKU serializes unrelated "
        "orders. Keep one lock (or Condition) per SKU"
    )


def test_a_failed_write_leaves_the_sku_usable() -> None:
    store = FakeStore({"DESK-9": 4}, failing_writes=1)
    ledger = StockLedger(store)

    async def scenario() -> bool:
        with pytest.raises(ConnectionError):
            await ledger.reserve("DESK-9", 1)
        async with asyncio.timeout(1):
            return await ledger.reserve("DESK-9", 1)

    try:
        assert asyncio.run(scenario()) is True
    except TimeoutError:
        pytest.fail(
            "the next order for the SKU hung after a store error: the lock was never "
            "released. Use `async with`, not acquire() without a finally"
        )
    assert store.levels["DESK-9"] == 3


def test_quantities_below_one_are_rejected() -> None:
    ledger = StockLedger(FakeStore({"SKU-A": 3}))
    for call in (
        lambda: ledger.reserve("SKU-A", 0),
        lambda: ledger.restock("SKU-A", -2),
        lambda: ledger.reserve_when_available("SKU-A", 0, timeout=0.1),
    ):
        with pytest.raises(ValueError):
            asyncio.run(call())


def test_a_waiting_order_is_filled_by_a_restock() -> None:
    store = FakeStore({"TENT-4": 0})
    ledger = StockLedger(store)

    async def scenario() -> tuple[bool, int]:
        order = asyncio.create_task(ledger.reserve_when_available("TENT-4", 2, timeout=2))
        try:
            for _ in range(10):
                await asyncio.sleep(0)
            waiting = not order.done()
            level = await ledger.restock("TENT-4", 3)
            assert waiting, "the order should have waited: there was no stock before the restock"
            return await order, level
        finally:
            await settle(order)

    filled, level = asyncio.run(scenario())
    assert level == 3, f"restock() returned {level}; it should return the level it wrote"
    assert filled is True, "the restock did not wake the waiting order"
    assert store.levels["TENT-4"] == 1


def test_a_waiting_order_gives_up_at_its_timeout_and_takes_nothing() -> None:
    store = FakeStore({"TENT-4": 1})
    ledger = StockLedger(store)
    started = time.perf_counter()
    result = asyncio.run(ledger.reserve_when_available("TENT-4", 2, timeout=0.1))
    elapsed = time.perf_counter() - started
    assert result is False, "with no restock the order must return False after its timeout"
    assert elapsed < 2, f"the order returned after {elapsed:.1f} s for a 0.1 s timeout"
    assert store.levels["TENT-4"] == 1


def test_a_restock_fills_only_as_many_waiters_as_it_has_stock_for() -> None:
    store = FakeStore({"CHAIR-5": 0})
    ledger = StockLedger(store)

    async def scenario() -> list[bool]:
        orders = [
            asyncio.create_task(ledger.reserve_when_available("CHAIR-5", 1, timeout=0.3))
            for _ in range(3)
        ]
        try:
            for _ in range(10):
                await asyncio.sleep(0)
            await ledger.restock("CHAIR-5", 2)
            return list(await asyncio.gather(*orders))
        finally:
            await settle(*orders)

    results = asyncio.run(scenario())
    assert results.count(True) == 2, (
        f"3 waiting orders, restock of 2: {results}. restock() must wake every waiter "
        "(notify_all(); notify() wakes only one), and a woken order must check the level "
        "again before it takes anything"
    )
    assert store.levels["CHAIR-5"] == 0


def test_an_order_waiting_for_stock_does_not_block_other_orders_for_that_sku() -> None:
    store = FakeStore({"SOFA-6": 1})
    ledger = StockLedger(store)

    async def scenario() -> bool:
        big = asyncio.create_task(ledger.reserve_when_available("SOFA-6", 5, timeout=0.5))
        for _ in range(10):
            await asyncio.sleep(0)
        try:
            async with asyncio.timeout(0.25):
                return await ledger.reserve("SOFA-6", 1)
        finally:
            await settle(big)

    try:
        assert asyncio.run(scenario()) is True
    except TimeoutError:
        pytest.fail(
            "reserve() waited while another order was waiting for stock: the waiting order "
            "kept the SKU's lock. Condition.wait() releases it while sleeping"
        )


def test_a_restock_from_the_scanner_thread_wakes_a_waiting_order() -> None:
    store = FakeStore({"BIKE-7": 0})
    ledger = StockLedger(store)
    outcome: dict[str, object] = {}

    def scanner(loop: asyncio.AbstractEventLoop) -> None:
        try:
            outcome["level"] = ledger.restock_from_thread(loop, "BIKE-7", 3)
        except Exception as exc:
            outcome["error"] = repr(exc)

    async def scenario() -> bool:
        loop = asyncio.get_running_loop()
        order = asyncio.create_task(ledger.reserve_when_available("BIKE-7", 2, timeout=2))
        try:
            for _ in range(10):
                await asyncio.sleep(0)
            thread = threading.Thread(target=scanner, args=(loop,), name="scanner-sdk")
            thread.start()
            await asyncio.to_thread(thread.join)
            return await order
        finally:
            await settle(order)

    filled = asyncio.run(scenario())
    assert "error" not in outcome, f"restock_from_thread() raised {outcome.get('error')}"
    assert outcome["level"] == 3, f"restock_from_thread() returned {outcome['level']}, not 3"
    assert filled is True, "the restock sent from another thread did not wake the order"
    assert store.levels["BIKE-7"] == 1


def test_restock_from_thread_refuses_to_run_on_the_loop_thread() -> None:
    ledger = StockLedger(FakeStore({"BIKE-7": 0}))

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        ledger.restock_from_thread(loop, "BIKE-7", 1, timeout=0.2)

    with pytest.raises(RuntimeError) as caught:
        asyncio.run(scenario())
    assert type(caught.value) is RuntimeError, (
        f"expected RuntimeError itself, got {type(caught.value).__name__}: on the loop's own "
        "thread, waiting for the result would block the loop that has to produce it"
    )
