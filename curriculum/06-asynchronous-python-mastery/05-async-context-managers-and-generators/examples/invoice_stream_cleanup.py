"""When an async generator's cleanup runs, and why `break` is not enough for one that holds a
database connection.

`overdue_invoices()` streams rows through a server-side cursor, which asyncpg only allows inside a
transaction, so the generator holds a pooled connection and an open transaction while it is
suspended at `yield`. Each consumer below stops after three invoices.
"""

import asyncio
import logging
import os
import sys
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
DSN = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
CONSUMER = "dunning-consumer"
log = logging.getLogger("dunning")

OVERDUE = (
    "SELECT id, tenant_id, total FROM s6_5_stream_invoices WHERE status = 'overdue' ORDER BY id"
)


@dataclass(frozen=True)
class Invoice:
    id: int
    tenant_id: int
    total: Decimal


def where_am_i() -> str:
    task = asyncio.current_task()
    return "the consumer's task" if task and task.get_name() == CONSUMER else "a task the loop made"


async def overdue_invoices(conn: asyncpg.Connection) -> AsyncGenerator[Invoice, None]:
    """Stream overdue invoices from one connection, inside the transaction a cursor needs."""
    async with conn.transaction():
        try:
            async for row in conn.cursor(OVERDUE, prefetch=100):
                yield Invoice(row["id"], row["tenant_id"], row["total"])
        finally:
            log.info("    generator cleanup ran in %s", where_am_i())  # then ROLLBACK


async def overdue_from_pool(pool: asyncpg.Pool) -> AsyncGenerator[Invoice, None]:
    """The same stream, borrowing a pooled connection for as long as the generator runs."""
    async with pool.acquire() as conn, conn.transaction():
        try:
            async for row in conn.cursor(OVERDUE, prefetch=100):
                yield Invoice(row["id"], row["tenant_id"], row["total"])
        finally:
            # logged before ROLLBACK and release, so it always precedes the idle count below
            log.info("    generator cleanup ran in %s", where_am_i())


@dataclass
class DunningJob:
    """Keeps the stream on an attribute, as progress-reporting code often does."""

    invoices: AsyncGenerator[Invoice, None]


async def idle_after(pool: asyncpg.Pool, seconds: float) -> int:
    """Let the event loop run other tasks for up to `seconds`, until every connection is idle."""
    async with asyncio.timeout(seconds):
        while pool.get_idle_size() < pool.get_size():
            await asyncio.sleep(0.01)
    return pool.get_idle_size()


def report_loop_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    error = context.get("exception")
    print(f"    loop exception handler: {context['message']}: {type(error).__name__}: {error}")


async def main() -> None:
    asyncio.current_task().set_name(CONSUMER)  # type: ignore[union-attr]
    asyncio.get_running_loop().set_exception_handler(report_loop_errors)
    pool = await asyncpg.create_pool(DSN, min_size=1, max_size=2)
    await pool.execute("DROP TABLE IF EXISTS s6_5_stream_invoices")
    await pool.execute(
        "CREATE TABLE s6_5_stream_invoices AS SELECT g AS id, g % 7 AS tenant_id,"
        " (g * 10)::numeric(10, 2) AS total, 'overdue' AS status FROM generate_series(1, 500) g"
    )

    print("1. break out of async for: cleanup is left to the garbage collector")
    async for invoice in overdue_from_pool(pool):
        if invoice.id == 3:
            break
    print(f"  right after break: idle connections = {pool.get_idle_size()}")
    print(f"  once the loop has run other tasks: idle connections = {await idle_after(pool, 5)}")

    print("2. The same, but a reference to the generator is still alive")
    job = DunningJob(overdue_from_pool(pool))
    async for invoice in job.invoices:
        if invoice.id == 3:
            break
    try:
        await idle_after(pool, 0.5)
    except TimeoutError:
        print(f"  0.5 s later: idle connections = {pool.get_idle_size()}")

    print("3. Shutting down with that generator suspended")
    try:
        async with asyncio.timeout(0.5):
            await pool.close()
    except TimeoutError:
        print("  pool.close() was still waiting after 0.5 s: it waits for every connection")
    await job.invoices.aclose()
    await pool.close()
    print("  after aclose(): pool.close() returned")

    print("4. Reusing the generator's connection right after break")
    conn = await asyncpg.connect(DSN)
    # Prepared up front, the report query is sent the moment the loop is left, before the
    # finalizer task exists; it runs for 50 ms, so that task's ROLLBACK always finds it running.
    tenant_report = await conn.prepare(
        "SELECT count(DISTINCT tenant_id) FROM s6_5_stream_invoices, pg_sleep(0.05)"
    )
    async for invoice in overdue_invoices(conn):
        if invoice.id == 3:
            break
    tenants = await tenant_report.fetchval()
    print(f"  the consumer's query returned {tenants}, inside the generator's transaction")
    await asyncio.sleep(0.2)
    print(f"  connection still in a transaction: {conn.is_in_transaction()}")
    await conn.close()

    print("5. contextlib.aclosing(): cleanup runs at the break, in the consumer's task")
    conn = await asyncpg.connect(DSN)
    async with aclosing(overdue_invoices(conn)) as invoices:
        async for invoice in invoices:
            if invoice.id == 3:
                break
    print(f"  connection still in a transaction: {conn.is_in_transaction()}")
    tenants = await conn.fetchval("SELECT count(DISTINCT tenant_id) FROM s6_5_stream_invoices")
    print(f"  the next query runs on its own: {tenants} tenants")
    await conn.execute("DROP TABLE s6_5_stream_invoices")
    await conn.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    asyncio.run(main())
