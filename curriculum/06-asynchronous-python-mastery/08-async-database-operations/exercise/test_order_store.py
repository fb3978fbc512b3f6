import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from order_store import (
    DuplicateOrderError,
    create_schema,
    import_lines,
    open_pool,
    place_order,
    place_orders,
    revenue_by_tenant,
)

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
DSN = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")


def order(
    number: str,
    tenant: str = "acme",
    lines: list[tuple[str, int, str]] | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    chosen = lines if lines is not None else [("SKU-1", 2, "10.00"), ("SKU-2", 1, "5.50")]
    return {
        "tenant": tenant,
        "number": number,
        "metadata": metadata if metadata is not None else {"channel": "web"},
        "lines": [
            {"sku": sku, "quantity": quantity, "unit_price": Decimal(price)}
            for sku, quantity, price in chosen
        ],
    }


def run(scenario: Callable[[Any], Awaitable[None]], max_size: int = 4) -> None:
    """Open the learner's pool, reset the schema, run the scenario, always close the pool."""

    async def main() -> None:
        pool = await asyncio.wait_for(open_pool(DSN, max_size=max_size), timeout=10)
        try:
            await create_schema(pool)
            await asyncio.wait_for(scenario(pool), timeout=30)
        finally:
            await pool.close()

    asyncio.run(main())


class CountingPool:
    """Wraps the real pool and records how many connections are checked out at once."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self.in_use = 0
        self.peak = 0

    @asynccontextmanager
    async def _acquire(self) -> AsyncIterator[Any]:
        async with self._pool.acquire() as conn:
            self.in_use += 1
            self.peak = max(self.peak, self.in_use)
            try:
                await asyncio.sleep(0.02)  # hold it long enough for overlap to show
                yield conn
            finally:
                self.in_use -= 1

    def acquire(self, *args: Any, **kwargs: Any) -> Any:
        return self._acquire()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def test_open_pool_uses_the_given_max_size_and_decodes_jsonb_into_dicts() -> None:
    async def scenario(pool: Any) -> None:
        assert pool.get_max_size() == 3, "open_pool(dsn, max_size=3) must cap the pool at 3"
        await pool.execute(
            "INSERT INTO s6_8_ex_orders (tenant, number, metadata) VALUES ($1, $2, $3)",
            "acme",
            "ORD-J",
            {"channel": "web", "priority": 2},
        )
        stored = await pool.fetchval("SELECT metadata FROM s6_8_ex_orders WHERE number = 'ORD-J'")
        assert stored == {"channel": "web", "priority": 2}, (
            f"jsonb came back as {stored!r}; register a codec with set_type_codec in "
            "init_connection so every pooled connection encodes and decodes dicts"
        )

    run(scenario, max_size=3)


def test_place_order_returns_the_new_id_and_stores_every_line() -> None:
    async def scenario(pool: Any) -> None:
        order_id = await place_order(pool, order("ORD-1"))
        assert isinstance(order_id, int), "place_order returns the id from INSERT ... RETURNING"
        stored_id = await pool.fetchval("SELECT id FROM s6_8_ex_orders WHERE number = 'ORD-1'")
        assert stored_id == order_id, "the returned id must be the stored order's id"
        lines = await pool.fetch(
            "SELECT sku, quantity, unit_price FROM s6_8_ex_order_lines WHERE order_id = $1"
            " ORDER BY sku",
            order_id,
        )
        assert [tuple(line) for line in lines] == [
            ("SKU-1", 2, Decimal("10.00")),
            ("SKU-2", 1, Decimal("5.50")),
        ], "every line of the order must be stored against the new order id"

    run(scenario)


def test_an_order_without_lines_is_still_placed() -> None:
    async def scenario(pool: Any) -> None:
        await place_order(pool, order("ORD-EMPTY", lines=[]))
        count = await pool.fetchval("SELECT count(*) FROM s6_8_ex_orders")
        assert count == 1, "an order with an empty line list is a valid order"

    run(scenario)


def test_a_bad_line_rolls_back_the_whole_order() -> None:
    async def scenario(pool: Any) -> None:
        bad = order("ORD-BAD", lines=[("SKU-1", 1, "10.00"), ("SKU-2", 0, "1.00")])
        with pytest.raises(asyncpg.CheckViolationError):
            await place_order(pool, bad)
        orders = await pool.fetchval("SELECT count(*) FROM s6_8_ex_orders")
        lines = await pool.fetchval("SELECT count(*) FROM s6_8_ex_order_lines")
        assert (orders, lines) == (0, 0), (
            f"found {orders} order(s) and {lines} line(s) after a failed order: the header and "
            "its lines must be written inside one conn.transaction()"
        )

    run(scenario)


def test_a_duplicate_number_raises_duplicate_order_error_and_keeps_the_first() -> None:
    async def scenario(pool: Any) -> None:
        first = await place_order(pool, order("ORD-7"))
        with pytest.raises(DuplicateOrderError) as raised:
            await place_order(pool, order("ORD-7", tenant="globex"))
        assert raised.value.args == ("ORD-7",), "DuplicateOrderError carries the order number"
        assert isinstance(raised.value.__cause__, asyncpg.UniqueViolationError), (
            "raise DuplicateOrderError(...) from the UniqueViolationError, keeping the cause"
        )
        rows = await pool.fetch("SELECT id, tenant FROM s6_8_ex_orders")
        assert [tuple(row) for row in rows] == [(first, "acme")], "the first order must stay"

    run(scenario)


def test_place_orders_reports_each_failure_without_stopping_the_rest() -> None:
    async def scenario(pool: Any) -> None:
        batch = [
            order("ORD-A"),
            order("ORD-B", lines=[("SKU-1", 0, "1.00")]),
            order("ORD-C"),
            order("ORD-A", tenant="globex"),
            order("ORD-D"),
        ]
        report = await place_orders(pool, batch, concurrency=2)
        assert sorted(report["placed"]) == ["ORD-A", "ORD-C", "ORD-D"], (
            f"placed: {sorted(report['placed'])}; a failed order must not cancel the others"
        )
        assert report["failed"] == {
            "ORD-B": "CheckViolationError",
            "ORD-A": "DuplicateOrderError",
        }, f"failed should map number -> exception class name, got {report['failed']}"
        stored = await pool.fetchval("SELECT count(*) FROM s6_8_ex_orders")
        assert stored == 3, "exactly the three good orders are stored"
        ids = await pool.fetch("SELECT number, id FROM s6_8_ex_orders")
        assert {row["number"]: row["id"] for row in ids} == report["placed"], (
            "placed maps each order number to the id it was stored under"
        )

    run(scenario)


def test_place_orders_runs_concurrently_but_never_beyond_the_limit() -> None:
    async def scenario(pool: Any) -> None:
        counting = CountingPool(pool)
        batch = [order(f"ORD-{n:02}") for n in range(12)]
        report = await place_orders(counting, batch, concurrency=3)
        assert len(report["placed"]) == 12, "all twelve orders should be placed"
        assert counting.peak <= 3, (
            f"{counting.peak} connections were in use at once with concurrency=3: "
            "guard each placement with an asyncio.Semaphore"
        )
        assert counting.peak == 3, (
            f"at most {counting.peak} connection(s) were in use at once: the orders ran one "
            "after another; start one task per order so three can run together"
        )

    run(scenario, max_size=6)


def test_place_orders_with_no_orders_returns_an_empty_report() -> None:
    async def scenario(pool: Any) -> None:
        report = await place_orders(pool, [], concurrency=4)
        assert report == {"placed": {}, "failed": {}}, "an empty batch gives an empty report"

    run(scenario)


def test_import_lines_loads_every_row_and_returns_the_count() -> None:
    async def scenario(pool: Any) -> None:
        order_id = await place_order(pool, order("ORD-BULK", lines=[]))
        rows = [(f"SKU-{n:04}", 1 + n % 3, Decimal("2.50")) for n in range(1500)]
        loaded = await import_lines(pool, order_id, rows)
        assert loaded == 1500, f"import_lines returned {loaded}; it returns the number loaded"
        count, total = await pool.fetchrow(
            "SELECT count(*), sum(quantity * unit_price) FROM s6_8_ex_order_lines"
            " WHERE order_id = $1",
            order_id,
        )
        assert count == 1500, f"{count} of 1500 lines are in the table"
        assert total == sum(q * p for _, q, p in rows), "quantities and prices must be stored"

    run(scenario)


def test_import_lines_is_all_or_nothing() -> None:
    async def scenario(pool: Any) -> None:
        order_id = await place_order(pool, order("ORD-BULK", lines=[]))
        rows = [("SKU-1", 1, Decimal("1.00"))] * 50 + [("SKU-BAD", 0, Decimal("1.00"))]
        with pytest.raises(asyncpg.CheckViolationError):
            await import_lines(pool, order_id, rows)
        count = await pool.fetchval("SELECT count(*) FROM s6_8_ex_order_lines")
        assert count == 0, (
            f"{count} lines survived a failed import: load the rows in one statement (COPY) "
            "or inside one transaction"
        )

    run(scenario)


def test_revenue_by_tenant_sums_quantity_times_price_and_keeps_empty_tenants() -> None:
    async def scenario(pool: Any) -> None:
        await place_order(pool, order("ORD-1", tenant="acme"))  # 2 * 10.00 + 5.50
        await place_order(pool, order("ORD-2", tenant="acme", lines=[("SKU-9", 3, "1.25")]))
        await place_order(pool, order("ORD-3", tenant="globex", lines=[("SKU-1", 1, "99.99")]))
        await place_order(pool, order("ORD-4", tenant="initech", lines=[]))
        revenue = await revenue_by_tenant(pool)
        assert revenue == {
            "acme": Decimal("29.25"),
            "globex": Decimal("99.99"),
            "initech": Decimal("0"),
        }, f"got {revenue}; LEFT JOIN the lines so a tenant without lines reports 0"
        assert all(isinstance(value, Decimal) for value in revenue.values()), (
            "amounts must stay Decimal (numeric), never float"
        )

    run(scenario)
