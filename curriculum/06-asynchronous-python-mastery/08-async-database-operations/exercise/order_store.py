"""An order store on asyncpg: a pool with a jsonb codec, atomic orders, bounded concurrent
placement with a per-order report, a COPY-based line import, and a revenue query."""

from __future__ import annotations

import asyncio  # noqa: F401  # you will need it
import json  # noqa: F401  # you will need it
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
    # TODO: register a codec for the "jsonb" type (schema "pg_catalog") that encodes with
    # json.dumps and decodes with json.loads.
    raise NotImplementedError


async def open_pool(dsn: str, *, max_size: int = 4) -> Pool:
    """Create the pool: min_size 1, the given max_size, init_connection on every new
    connection, and a 5-second command timeout."""
    # TODO: asyncpg.create_pool(...) with min_size=1, max_size, init=init_connection and
    # command_timeout=5.
    raise NotImplementedError


async def place_order(pool: Pool, order: OrderIn) -> int:
    """Insert the order and all its lines in one transaction and return the order id.

    A duplicate number raises DuplicateOrderError(number); any other database error
    propagates unchanged. Either way nothing of the order is left behind.
    """
    # TODO: acquire a connection, open a transaction, INSERT ... RETURNING id, then insert
    # the lines in one executemany(). Translate asyncpg.UniqueViolationError.
    raise NotImplementedError


async def place_orders(pool: Pool, orders: list[OrderIn], *, concurrency: int) -> PlacementReport:
    """Place every order concurrently, never more than `concurrency` at once.

    A failing order is recorded in "failed" under its number with the exception's class
    name; it does not stop or undo the others.
    """
    # TODO: an asyncio.Semaphore(concurrency), one task per order in a TaskGroup, and a
    # try/except inside each task so one failure does not cancel the rest.
    raise NotImplementedError


async def import_lines(pool: Pool, order_id: int, lines: list[tuple[str, int, Decimal]]) -> int:
    """Bulk-load (sku, quantity, unit_price) rows for one order; return how many were loaded.

    All or nothing: one bad row means no row of this call is stored.
    """
    # TODO: build (order_id, sku, quantity, unit_price) records and load them with
    # conn.copy_records_to_table(...) on an acquired connection.
    raise NotImplementedError


async def revenue_by_tenant(pool: Pool) -> dict[str, Decimal]:
    """Sum quantity * unit_price per tenant; a tenant whose orders have no lines gets 0."""
    # TODO: LEFT JOIN orders to lines, GROUP BY tenant, coalesce the sum to 0.
    raise NotImplementedError
