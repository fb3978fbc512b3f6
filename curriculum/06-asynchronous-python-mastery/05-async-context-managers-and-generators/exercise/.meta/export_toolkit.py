"""Streaming building blocks for a tenant invoice export, on asyncpg.

A read-only snapshot as an async context manager, a cursor-backed async generator, a batching
stage that closes what it consumes, a keyset-paginating async iterator, and the export that
ties them together without leaving a connection behind when the sink fails.
"""

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

T = TypeVar("T")

TABLE = "s6_5_ex_invoices"
COLUMNS = "id, tenant_id, number, total"


@dataclass(frozen=True)
class Invoice:
    id: int
    tenant_id: int
    number: str
    total: Decimal


def to_invoice(row: asyncpg.Record) -> Invoice:
    return Invoice(row["id"], row["tenant_id"], row["number"], row["total"])


@asynccontextmanager
async def read_snapshot(pool: asyncpg.Pool) -> AsyncIterator[PoolConnectionProxy]:
    """Yield a pooled connection inside a REPEATABLE READ, READ ONLY transaction.

    The connection goes back to the pool when the block ends, whether it finished or raised,
    and an exception raised in the block reaches the caller unchanged.
    """
    async with (
        pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        yield conn


async def stream_invoices(
    conn: PoolConnectionProxy, tenant_id: int, *, prefetch: int = 100
) -> AsyncGenerator[Invoice, None]:
    """Yield the tenant's invoices in id order through a server-side cursor.

    Rows arrive `prefetch` at a time, never all at once. The caller provides the transaction
    a cursor needs (read_snapshot gives one).
    """
    query = f"SELECT {COLUMNS} FROM {TABLE} WHERE tenant_id = $1 ORDER BY id"
    async for row in conn.cursor(query, tenant_id, prefetch=prefetch):
        yield to_invoice(row)


async def batched(source: AsyncIterable[T], size: int) -> AsyncGenerator[list[T], None]:
    """Group the items of `source` into lists of `size`; the last list may be shorter.

    A size below 1 raises ValueError. When this generator is closed before the end (aclose(),
    or an aclosing() block left with break), it closes `source` too, if `source` has aclose().
    """
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    iterator = aiter(source)
    batch: list[T] = []
    try:
        async for item in iterator:
            batch.append(item)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


class InvoicePages:
    """Keyset pagination over a tenant's invoices: `async for page in InvoicePages(...)`.

    Every page is one query on the pool (no connection is held between pages) for the rows
    after the last id already returned. The iteration ends after a short page without asking
    again, or on an empty page; once ended, it stays ended. `queries` counts the queries run.
    """

    def __init__(self, pool: asyncpg.Pool, tenant_id: int, *, page_size: int = 500) -> None:
        self.pool = pool
        self.tenant_id = tenant_id
        self.page_size = page_size
        self.queries = 0
        self._after_id = 0
        self._done = False

    def __aiter__(self) -> "InvoicePages":
        return self

    async def __anext__(self) -> list[Invoice]:
        if self._done:
            raise StopAsyncIteration
        rows = await self.pool.fetch(
            f"SELECT {COLUMNS} FROM {TABLE} WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
            self.tenant_id,
            self._after_id,
            self.page_size,
        )
        self.queries += 1
        if len(rows) < self.page_size:
            self._done = True
        if not rows:
            raise StopAsyncIteration
        self._after_id = rows[-1]["id"]
        return [to_invoice(row) for row in rows]


async def export_invoices(
    pool: asyncpg.Pool,
    tenant_id: int,
    sink: Callable[[list[Invoice]], Awaitable[None]],
    *,
    batch_size: int = 100,
) -> int:
    """Stream the tenant's invoices from one snapshot to `sink`, `batch_size` at a time.

    Returns how many invoices were handed over. If `sink` raises, the error reaches the
    caller, and by then the snapshot has ended and its connection is back in the pool.
    """
    exported = 0
    async with (
        read_snapshot(pool) as conn,
        aclosing(batched(stream_invoices(conn, tenant_id), batch_size)) as batches,
    ):
        async for batch in batches:
            await sink(batch)
            exported += len(batch)
    return exported
