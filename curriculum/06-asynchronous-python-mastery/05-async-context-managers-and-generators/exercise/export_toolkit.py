"""Streaming building blocks for a tenant invoice export, on asyncpg.

A read-only snapshot as an async context manager, a cursor-backed async generator, a batching
stage that closes what it consumes, a keyset-paginating async iterator, and the export that
ties them together without leaving a connection behind when the sink fails.
"""

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
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
    # TODO: acquire a connection from the pool and open the transaction, both as async
    #       context managers, and yield the connection inside them.
    raise NotImplementedError
    yield  # unreachable: keeps this an async generator until you write it


async def stream_invoices(
    conn: PoolConnectionProxy, tenant_id: int, *, prefetch: int = 100
) -> AsyncGenerator[Invoice, None]:
    """Yield the tenant's invoices in id order through a server-side cursor.

    Rows arrive `prefetch` at a time, never all at once. The caller provides the transaction
    a cursor needs (read_snapshot gives one).
    """
    # TODO: iterate conn.cursor(...) with async for and yield to_invoice(row) for each row.
    raise NotImplementedError
    yield  # unreachable


async def batched(source: AsyncIterable[T], size: int) -> AsyncGenerator[list[T], None]:
    """Group the items of `source` into lists of `size`; the last list may be shorter.

    A size below 1 raises ValueError. When this generator is closed before the end (aclose(),
    or an aclosing() block left with break), it closes `source` too, if `source` has aclose().
    """
    # TODO: validate size, collect items into lists, yield each full list and the short tail;
    #       make sure the source is closed however this generator ends.
    raise NotImplementedError
    yield  # unreachable


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
        # TODO: the state __anext__ needs between pages.

    # TODO: __aiter__ and __anext__ (one pool.fetch per page, ORDER BY id LIMIT page_size).


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
    # TODO: read_snapshot + stream_invoices + batched, with every generator closed on the way out.
    raise NotImplementedError
