"""An order store on asyncpg: a pool with a jsonb codec, atomic orders, bounded concurrent
placement with a per-order report, a COPY-based line import, and a revenue query."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict

import asyncpg

SCHEMA = """
DROP TABLE IF EXISTS s6_8_ex_order_lines, s6_8_ex_orders;
CREATE TABLE s6_8_ex_orders (
    id bigserial PRIMARY KEY,
    tenant text NOT NULL,
    number text NOT NULL UNIQUE,
    metadata jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE s6_8_ex_order_lines (
    order_id bigint NOT NULL REFERENCES s6_8_ex_orders (id) ON DELETE CASCADE,
    sku text NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    unit_price numeric(10, 2) NOT NULL
);
"""

if TYPE_CHECKING:  # asyncpg.Pool is generic only in its type stubs
    Pool = asyncpg.Pool[asyncpg.Record]


class LineIn(TypedDict):
    sku: str
    quantity: int
    unit_price: Decimal


class OrderIn(TypedDict):
    tenant: str
    number: str
    metadata: dict[str, Any]
    lines: list[LineIn]


class PlacementReport(TypedDict):
    placed: dict[str, int]  # order number -> new order id
    failed: dict[str, str]  # order number -> exception class name


class DuplicateOrderError(Exception):
    """Raised by place_order when the order number already exists; args[0] is the number."""


async def create_schema(pool: Pool) -> None:
    """Drop and create the two tables (given: not part of the exercise)."""
    await pool.execute(SCHEMA)


async def init_connection(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """Run once for every new pooled connection: make jsonb columns take and return dicts."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def open_pool(dsn: str, *, max_size: int = 4) -> Pool:
    """Create the pool: min_size 1, the given max_size, init_connection on every new
    connection, and a 5-second command timeout."""
    return await asyncpg.create_pool(
        dsn, min_size=1, max_size=max_size, init=init_connection, command_timeout=5
    )


async def place_order(pool: Pool, order: OrderIn) -> int:
    """Insert the order and all its lines in one transaction and return the order id.

    A duplicate number raises DuplicateOrderError(number); any other database error
    propagates unchanged. Either way nothing of the order is left behind.
    """
    async with pool.acquire() as conn, conn.transaction():
        try:
            order_id: int = await conn.fetchval(
                "INSERT INTO s6_8_ex_orders (tenant, number, metadata)"
                " VALUES ($1, $2, $3) RETURNING id",
                order["tenant"],
                order["number"],
                order["metadata"],
            )
        except asyncpg.UniqueViolationError as error:
            raise DuplicateOrderError(order["number"]) from error
        await conn.executemany(
            "INSERT INTO s6_8_ex_order_lines (order_id, sku, quantity, unit_price)"
            " VALUES ($1, $2, $3, $4)",
            [
                (order_id, line["sku"], line["quantity"], line["unit_price"])
                for line in order["lines"]
            ],
        )
    return order_id


async def place_orders(pool: Pool, orders: list[OrderIn], *, concurrency: int) -> PlacementReport:
    """Place every order concurrently, never more than `concurrency` at once.

    A failing order is recorded in "failed" under its number with the exception's class
    name; it does not stop or undo the others.
    """
    report: PlacementReport = {"placed": {}, "failed": {}}
    gate = asyncio.Semaphore(concurrency)

    async def place_one(order: OrderIn) -> None:
        async with gate:
            try:
                report["placed"][order["number"]] = await place_order(pool, order)
            except (asyncpg.PostgresError, DuplicateOrderError) as error:
                report["failed"][order["number"]] = type(error).__name__

    async with asyncio.TaskGroup() as group:
        for order in orders:
            group.create_task(place_one(order))
    return report


async def import_lines(pool: Pool, order_id: int, lines: list[tuple[str, int, Decimal]]) -> int:
    """Bulk-load (sku, quantity, unit_price) rows for one order; return how many were loaded.

    All or nothing: one bad row means no row of this call is stored.
    """
    records = [(order_id, sku, quantity, price) for sku, quantity, price in lines]
    async with pool.acquire() as conn:
        await conn.copy_records_to_table(
            "s6_8_ex_order_lines",
            records=records,
            columns=("order_id", "sku", "quantity", "unit_price"),
        )
    return len(records)


async def revenue_by_tenant(pool: Pool) -> dict[str, Decimal]:
    """Sum quantity * unit_price per tenant; a tenant whose orders have no lines gets 0."""
    rows = await pool.fetch(
        "SELECT o.tenant, coalesce(sum(l.quantity * l.unit_price), 0) AS revenue"
        " FROM s6_8_ex_orders o LEFT JOIN s6_8_ex_order_lines l ON l.order_id = o.id"
        " GROUP BY o.tenant"
    )
    return {row["tenant"]: row["revenue"] for row in rows}
