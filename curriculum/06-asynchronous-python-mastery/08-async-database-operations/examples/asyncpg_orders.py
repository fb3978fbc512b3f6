"""asyncpg against PostgreSQL: a pool, typed records, transactions with a savepoint, and what a
pool of four connections does with twenty concurrent requests.

Every step prints what PostgreSQL sent back, so the output doubles as a reference for the types
asyncpg returns and the exceptions it raises.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from decimal import Decimal

import asyncpg

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
DSN = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
log = logging.getLogger("orders.db")

SCHEMA = """
DROP TABLE IF EXISTS s6_8_pg_order_lines, s6_8_pg_orders;
CREATE TABLE s6_8_pg_orders (
    id bigserial PRIMARY KEY,
    tenant text NOT NULL,
    number text NOT NULL UNIQUE,
    metadata jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE s6_8_pg_order_lines (
    order_id bigint NOT NULL REFERENCES s6_8_pg_orders (id) ON DELETE CASCADE,
    sku text NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    unit_price numeric(10, 2) NOT NULL
);
"""


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int
    unit_price: Decimal


class DuplicateOrderError(Exception):
    """The domain's name for a unique violation on the order number."""


async def init_connection(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """Runs once per new pooled connection: decode jsonb into Python objects."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def place_order(
    pool: asyncpg.Pool[asyncpg.Record],
    tenant: str,
    number: str,
    lines: list[Line],
    metadata: dict[str, str],
) -> int:
    """Insert an order and its lines atomically; return the new order id."""
    async with pool.acquire() as conn, conn.transaction():
        try:
            order_id: int = await conn.fetchval(
                "INSERT INTO s6_8_pg_orders (tenant, number, metadata)"
                " VALUES ($1, $2, $3) RETURNING id",
                tenant,
                number,
                metadata,
            )
        except asyncpg.UniqueViolationError as error:
            raise DuplicateOrderError(number) from error
        await conn.executemany(
            "INSERT INTO s6_8_pg_order_lines (order_id, sku, quantity, unit_price)"
            " VALUES ($1, $2, $3, $4)",
            [(order_id, line.sku, line.quantity, line.unit_price) for line in lines],
        )
    log.info("placed order %s with %d lines", number, len(lines))
    return order_id


async def add_optional_discount(
    pool: asyncpg.Pool[asyncpg.Record], number: str, quantity: int
) -> None:
    """Tag the order as reviewed; try to add a discount line inside a savepoint."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "UPDATE s6_8_pg_orders SET metadata = metadata || $1 WHERE number = $2",
            {"reviewed": "yes"},
            number,
        )
        try:
            async with conn.transaction():  # nested: SAVEPOINT ... RELEASE / ROLLBACK TO
                await conn.execute(
                    "INSERT INTO s6_8_pg_order_lines (order_id, sku, quantity, unit_price)"
                    " SELECT id, 'DISCOUNT', $2, -5.00 FROM s6_8_pg_orders WHERE number = $1",
                    number,
                    quantity,
                )
        except asyncpg.CheckViolationError as error:
            log.warning("discount skipped for %s: %s", number, error.constraint_name)


async def show_records(pool: asyncpg.Pool[asyncpg.Record]) -> None:
    print("\n2. What a Record holds")
    row = await pool.fetchrow(
        "SELECT o.number, o.metadata, sum(l.quantity * l.unit_price) AS total, count(*) AS lines"
        " FROM s6_8_pg_orders o JOIN s6_8_pg_order_lines l ON l.order_id = o.id"
        " WHERE o.number = $1 GROUP BY o.id",
        "ORD-1001",
    )
    assert row is not None
    for key, value in row.items():
        print(f"   {key:<8} {type(value).__name__:<8} {value!r}")
    print(f"   row[0] = {row[0]!r}, row['total'] = {row['total']!r}, len(row) = {len(row)}")
    raw = await asyncpg.connect(DSN)  # a connection without the pool's init hook
    try:
        text = await raw.fetchval(
            "SELECT metadata FROM s6_8_pg_orders WHERE number = $1", "ORD-1001"
        )
        print(f"   without the jsonb codec the same column arrives as {type(text).__name__}")
    finally:
        await raw.close()


async def show_transactions(pool: asyncpg.Pool[asyncpg.Record]) -> None:
    print("\n3. Transactions")
    try:
        await place_order(
            pool,
            "acme",
            "ORD-1002",
            [Line("SKU-1", 1, Decimal("10.00")), Line("SKU-2", 0, Decimal("3.00"))],
            {},
        )
    except asyncpg.CheckViolationError as error:
        print(f"   second line rejected: {type(error).__name__}, sqlstate {error.sqlstate}")
    count = await pool.fetchval("SELECT count(*) FROM s6_8_pg_orders WHERE number = 'ORD-1002'")
    print(f"   ORD-1002 rows after the failed transaction: {count}")
    try:
        await place_order(pool, "acme", "ORD-1001", [Line("SKU-1", 1, Decimal("1.00"))], {})
    except DuplicateOrderError as error:
        print(f"   duplicate number mapped to DuplicateOrderError({error})")
    await add_optional_discount(pool, "ORD-1001", quantity=0)
    row = await pool.fetchrow(
        "SELECT metadata, (SELECT count(*) FROM s6_8_pg_order_lines l WHERE l.order_id = o.id)"
        " AS lines FROM s6_8_pg_orders o WHERE number = 'ORD-1001'"
    )
    assert row is not None
    print(f"   after the savepoint rolled back: metadata={row['metadata']}, lines={row['lines']}")
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        level = await conn.fetchval("SHOW transaction_isolation")
        read_only = await conn.fetchval("SHOW transaction_read_only")
        print(f"   report transaction: isolation={level}, read_only={read_only}")


async def show_pool_under_load(pool: asyncpg.Pool[asyncpg.Record]) -> None:
    print("\n4. Twenty requests, a pool of four")
    in_use = 0
    peak = 0

    async def handle_request(request_id: int) -> int:
        nonlocal in_use, peak
        async with pool.acquire() as conn:
            in_use += 1
            peak = max(peak, in_use)
            try:
                return int(await conn.fetchval("SELECT $1::int FROM pg_sleep(0.02)", request_id))
            finally:
                in_use -= 1

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(handle_request(i)) for i in range(20)]
    results = [task.result() for task in tasks]
    print(f"   {len(results)} requests answered, peak connections in use: {peak}")
    print(f"   pool size {pool.get_size()} (min {pool.get_min_size()}, max {pool.get_max_size()})")

    holders = [await pool.acquire() for _ in range(pool.get_max_size())]
    try:
        async with pool.acquire(timeout=0.2):
            pass
    except TimeoutError:
        print("   fifth acquire while four are held: TimeoutError after 0.2 s")
    finally:
        for conn in holders:
            await pool.release(conn)

    async with pool.acquire() as conn:
        started = time.perf_counter()
        try:
            await conn.execute("SELECT pg_sleep(5)", timeout=0.2)
        except TimeoutError:
            print("   query over its 0.2 s timeout: TimeoutError")
        answer = await conn.fetchval("SELECT 1")
        # Had pg_sleep(5) kept running on the server, this answer would wait for it.
        cancelled = time.perf_counter() - started < 2
        print(f"   the same connection answers {answer}, server-side sleep cancelled: {cancelled}")


async def main() -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stdout, format="   %(levelname)s %(name)s: %(message)s"
    )
    print("1. Pool and schema")
    async with asyncpg.create_pool(
        DSN, min_size=2, max_size=4, init=init_connection, command_timeout=5
    ) as pool:
        print(f"   pool opened with {pool.get_size()} connections, {pool.get_idle_size()} idle")
        await pool.execute(SCHEMA)  # no arguments: several statements in one call are allowed
        await place_order(
            pool,
            "acme",
            "ORD-1001",
            [Line("SKU-1", 2, Decimal("19.99")), Line("SKU-2", 1, Decimal("5.50"))],
            {"channel": "web"},
        )
        await show_records(pool)
        await show_transactions(pool)
        await show_pool_under_load(pool)
        await pool.execute("DROP TABLE s6_8_pg_order_lines, s6_8_pg_orders")
    print("\npool closed")


if __name__ == "__main__":
    asyncio.run(main())
