"""A tenant's invoice export: a Redis lock, a PostgreSQL stream, a generator stage, a Redis sink.

Every piece that holds something is an async context manager or a generator someone closes, so
an error halfway through releases the lock, ends the read transaction and returns the pooled
connection before the error reaches the caller. Committed batches stay exported, so a rerun
resumes where the failed run stopped.
"""

import asyncio
import logging
import os
import sys
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from decimal import Decimal

import asyncpg
import redis.asyncio as redis
from redis.exceptions import LockError

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
DSN = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
EXPORT_BATCH = 40
log = logging.getLogger("exports")

UNEXPORTED = """
    SELECT id, number, total FROM s6_5_export_invoices
    WHERE tenant_id = $1 AND NOT exported ORDER BY id
"""


class InvalidInvoiceError(Exception):
    """An invoice the accounting system would reject."""


@dataclass(frozen=True)
class Invoice:
    id: int
    number: str
    total: Decimal


@dataclass(frozen=True)
class ExportRow:
    invoice: Invoice
    plan: str


def lock_key(tenant_id: int) -> str:
    return f"s6_5:export-lock:{tenant_id}"


def export_key(tenant_id: int) -> str:
    return f"s6_5:export:{tenant_id}"


async def unexported_invoices(pool: asyncpg.Pool, tenant_id: int) -> AsyncGenerator[Invoice, None]:
    """Source: one read-only snapshot, streamed through a server-side cursor."""
    try:
        async with (
            pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            async for row in conn.cursor(UNEXPORTED, tenant_id, prefetch=100):
                yield Invoice(row["id"], row["number"], row["total"])
    finally:
        log.info("    source: snapshot closed, connection back in the pool")


async def with_plan(
    invoices: AsyncGenerator[Invoice, None], client: redis.Redis, tenant_id: int
) -> AsyncGenerator[ExportRow, None]:
    """Middle stage: it owns the generator it consumes, so it is the one that closes it."""
    stored = await client.get(f"s6_5:tenant:{tenant_id}:plan")
    plan = stored.decode() if isinstance(stored, bytes) else "basic"
    async with aclosing(invoices):
        async for invoice in invoices:
            if invoice.total < 0:
                raise InvalidInvoiceError(f"{invoice.number} has a negative total {invoice.total}")
            yield ExportRow(invoice, plan)
    log.info("    stage: source exhausted")


async def flush(
    pool: asyncpg.Pool, client: redis.Redis, tenant_id: int, batch: list[ExportRow]
) -> int:
    """Sink: write a batch to Redis in one MULTI/EXEC, then mark it exported in PostgreSQL."""
    async with client.pipeline(transaction=True) as pipe:
        for row in batch:
            pipe.hset(export_key(tenant_id), row.invoice.number, f"{row.invoice.total}|{row.plan}")
        await pipe.execute()
    await pool.execute(
        "UPDATE s6_5_export_invoices SET exported = true WHERE id = ANY($1::int[])",
        [row.invoice.id for row in batch],
    )
    log.info("    sink: %d invoices exported", len(batch))
    return len(batch)


async def export_tenant(pool: asyncpg.Pool, client: redis.Redis, tenant_id: int) -> int:
    """Export a tenant's unexported invoices; only one exporter per tenant at a time."""
    async with client.lock(lock_key(tenant_id), timeout=60, blocking_timeout=0):
        exported = 0
        batch: list[ExportRow] = []
        async with aclosing(
            with_plan(unexported_invoices(pool, tenant_id), client, tenant_id)
        ) as rows:
            async for row in rows:
                batch.append(row)
                if len(batch) == EXPORT_BATCH:
                    exported += await flush(pool, client, tenant_id, batch)
                    batch = []
        if batch:
            exported += await flush(pool, client, tenant_id, batch)
        return exported


async def state(pool: asyncpg.Pool, client: redis.Redis, tenant_id: int) -> str:
    exported = await pool.fetchval(
        "SELECT count(*) FROM s6_5_export_invoices WHERE tenant_id = $1 AND exported", tenant_id
    )
    in_redis = await client.hlen(export_key(tenant_id))
    locked = await client.exists(lock_key(tenant_id)) == 1
    idle = f"{pool.get_idle_size()}/{pool.get_size()}"
    return f"exported={exported}, in redis={in_redis}, locked={locked}, idle connections={idle}"


async def main() -> None:
    tenant_id = 3
    async with (
        asyncpg.create_pool(DSN, min_size=2, max_size=2) as pool,
        redis.Redis.from_url(REDIS_URL) as client,
    ):
        await client.delete(export_key(tenant_id), lock_key(tenant_id))
        await client.set(f"s6_5:tenant:{tenant_id}:plan", "pro")
        await pool.execute("DROP TABLE IF EXISTS s6_5_export_invoices")
        await pool.execute(
            "CREATE TABLE s6_5_export_invoices (id int PRIMARY KEY, tenant_id int, number text,"
            " total numeric(10, 2), exported boolean NOT NULL DEFAULT false)"
        )
        await pool.execute(
            "INSERT INTO s6_5_export_invoices (id, tenant_id, number, total)"
            " SELECT g, $1, 'INV-' || lpad(g::text, 5, '0'),"
            " CASE WHEN g = 57 THEN -19.90 ELSE g * 3.50 END FROM generate_series(1, 100) g",
            tenant_id,
        )

        print("1. An invalid invoice halfway through the export")
        try:
            await export_tenant(pool, client, tenant_id)
        except InvalidInvoiceError as error:
            print(f"  export failed: {error}")
        print(f"  {await state(pool, client, tenant_id)}")

        print("2. Fix the invoice and run again: it resumes after the committed batch")
        await pool.execute("UPDATE s6_5_export_invoices SET total = 19.90 WHERE id = 57")
        print(f"  exported in this run: {await export_tenant(pool, client, tenant_id)}")
        print(f"  {await state(pool, client, tenant_id)}")

        print("3. A second exporter while the first holds the lock")
        async with client.lock(lock_key(tenant_id), timeout=60):
            try:
                await export_tenant(pool, client, tenant_id)
            except LockError as error:
                print(f"  LockError: {error}")

        await client.delete(export_key(tenant_id), f"s6_5:tenant:{tenant_id}:plan")
        await pool.execute("DROP TABLE s6_5_export_invoices")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    asyncio.run(main())
