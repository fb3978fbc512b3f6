import asyncio
import inspect
import os
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextlib import aclosing
from decimal import Decimal
from typing import TypeVar

import asyncpg
import pytest
from export_toolkit import (
    Invoice,
    InvoicePages,
    batched,
    export_invoices,
    read_snapshot,
    stream_invoices,
)

T = TypeVar("T")
POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
DSN = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")

# tenant 1: 7 invoices (ids 1-7), tenant 2: 6 invoices (ids 11-16), tenant 3: 250 (ids 1001-1250)
SEED = """
    INSERT INTO s6_5_ex_invoices (id, tenant_id, number, total)
    SELECT g, 1, 'A-' || g, g * 10.00 FROM generate_series(1, 7) g
    UNION ALL SELECT g, 2, 'B-' || g, 5.50 FROM generate_series(11, 16) g
    UNION ALL SELECT g, 3, 'C-' || g, 1.00 FROM generate_series(1001, 1250) g
"""


def run(scenario: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """Run `scenario` with a fresh pool of two connections on its own event loop."""

    async def main() -> T:
        async with asyncpg.create_pool(DSN, min_size=2, max_size=2) as pool:
            return await scenario(pool)

    return asyncio.run(main())


@pytest.fixture(scope="module", autouse=True)
def invoices_table() -> Iterator[None]:
    async def create(pool: asyncpg.Pool) -> None:
        await pool.execute("DROP TABLE IF EXISTS s6_5_ex_invoices")
        await pool.execute(
            "CREATE TABLE s6_5_ex_invoices (id int PRIMARY KEY, tenant_id int NOT NULL,"
            " number text NOT NULL, total numeric(10, 2) NOT NULL)"
        )
        await pool.execute(SEED)

    async def drop(pool: asyncpg.Pool) -> None:
        await pool.execute("DROP TABLE IF EXISTS s6_5_ex_invoices")

    run(create)
    yield
    run(drop)


def all_idle(pool: asyncpg.Pool) -> bool:
    return pool.get_idle_size() == pool.get_size()


class OrderLookupError(Exception):
    pass


def test_read_snapshot_is_a_repeatable_read_read_only_transaction() -> None:
    async def scenario(pool: asyncpg.Pool) -> tuple[str, str, bool]:
        async with read_snapshot(pool) as conn:
            isolation = await conn.fetchval("SHOW transaction_isolation")
            read_only = await conn.fetchval("SHOW transaction_read_only")
            try:
                await conn.execute("DELETE FROM s6_5_ex_invoices WHERE id = 1")
                refused = False
            except asyncpg.ReadOnlySQLTransactionError:
                refused = True
        return isolation, read_only, refused

    isolation, read_only, refused = run(scenario)
    assert isolation == "repeatable read", (
        f"the snapshot runs at {isolation!r}, not repeatable read"
    )
    assert read_only == "on", "the snapshot's transaction must be READ ONLY"
    assert refused, "a DELETE inside the snapshot must fail with ReadOnlySQLTransactionError"


def test_read_snapshot_returns_the_connection_and_lets_the_same_error_through() -> None:
    raised = OrderLookupError("invoice 7 has no order")

    async def scenario(pool: asyncpg.Pool) -> tuple[BaseException | None, bool, bool]:
        caught: BaseException | None = None
        try:
            async with read_snapshot(pool) as conn:
                inside = not all_idle(pool)
                await conn.fetchval("SELECT 1")
                raise raised
        except OrderLookupError as error:
            caught = error
        return caught, inside, all_idle(pool)

    caught, inside, idle_after = run(scenario)
    assert inside, "inside the block the snapshot should hold a connection from the pool"
    assert caught is raised, "the exception raised in the block must reach the caller unchanged"
    assert idle_after, "after the block raised, the connection must be back in the pool"


def test_stream_invoices_yields_one_tenants_invoices_in_id_order() -> None:
    async def scenario(pool: asyncpg.Pool) -> list[Invoice]:
        async with read_snapshot(pool) as conn:
            return [invoice async for invoice in stream_invoices(conn, 1)]

    invoices = run(scenario)
    assert [invoice.id for invoice in invoices] == [1, 2, 3, 4, 5, 6, 7], (
        "tenant 1 owns invoices 1-7, and they come in id order"
    )
    assert invoices[2] == Invoice(3, 1, "A-3", Decimal("30.00")), "rows become Invoice objects"


def test_stream_invoices_is_an_async_generator_reading_through_a_server_side_cursor() -> None:
    async def scenario(pool: asyncpg.Pool) -> tuple[bool, int, int]:
        async with read_snapshot(pool) as conn:
            stream = stream_invoices(conn, 3, prefetch=10)
            is_generator = inspect.isasyncgen(stream)
            async with aclosing(stream):
                first = await anext(stream)
                open_cursors = await conn.fetchval(
                    "SELECT count(*) FROM pg_cursors WHERE name <> ''"
                )
        return is_generator, first.id, open_cursors

    is_generator, first_id, open_cursors = run(scenario)
    assert is_generator, "stream_invoices must be an async generator (async def with yield)"
    assert first_id == 1001, "tenant 3's first invoice is 1001"
    assert open_cursors == 1, (
        "while the generator is suspended after its first row, a server-side cursor (a named "
        "portal) should be open: use conn.cursor(), not conn.fetch(), which reads every row at once"
    )


def test_batched_groups_items_and_keeps_the_short_tail() -> None:
    async def numbers(n: int) -> AsyncGenerator[int, None]:
        for number in range(1, n + 1):
            yield number

    async def scenario() -> tuple[list[list[int]], list[list[int]]]:
        seven = [batch async for batch in batched(numbers(7), 3)]
        empty = [batch async for batch in batched(numbers(0), 3)]
        return seven, empty

    seven, empty = asyncio.run(scenario())
    assert seven == [[1, 2, 3], [4, 5, 6], [7]], f"7 items in threes should be 3+3+1, got {seven}"
    assert empty == [], "an empty source yields no batches, not one empty list"


def test_batched_rejects_a_size_below_one() -> None:
    async def scenario() -> None:
        async def one() -> AsyncGenerator[int, None]:
            yield 1

        async for _ in batched(one(), 0):
            pass

    with pytest.raises(ValueError):
        asyncio.run(scenario())


def test_batched_closes_its_source_when_it_is_closed_early() -> None:
    events: list[str] = []

    async def ledger() -> AsyncGenerator[int, None]:
        try:
            for entry in range(100):
                yield entry
        finally:
            events.append("source closed")

    async def scenario() -> None:
        async with aclosing(batched(ledger(), 10)) as batches:
            async for _ in batches:
                break
        events.append("block left")

    asyncio.run(scenario())
    assert events == ["source closed", "block left"], (
        "closing batched() must close the generator it reads from right away, not whenever the "
        f"garbage collector gets to it; order seen: {events}"
    )


def test_batched_accepts_a_source_without_aclose() -> None:
    class Countdown:
        def __init__(self) -> None:
            self.left = 5

        def __aiter__(self) -> "Countdown":
            return self

        async def __anext__(self) -> int:
            if self.left == 0:
                raise StopAsyncIteration
            self.left -= 1
            return self.left

    async def scenario() -> list[list[int]]:
        async with aclosing(batched(Countdown(), 2)) as batches:
            return [batch async for batch in batches]

    assert asyncio.run(scenario()) == [[4, 3], [2, 1], [0]], (
        "a plain AsyncIterator has no aclose(): batched must work with it all the same"
    )


def test_invoice_pages_stops_after_a_short_page_without_another_query() -> None:
    async def scenario(
        pool: asyncpg.Pool,
    ) -> tuple[bool, list[list[int]], int, list[Invoice] | None]:
        pages = InvoicePages(pool, 1, page_size=3)
        is_itself = aiter(pages) is pages
        seen = [[invoice.id for invoice in page] async for page in pages]
        after = await anext(pages, None)
        return is_itself, seen, pages.queries, after

    is_itself, seen, queries, after = run(scenario)
    assert is_itself, "an iterator's __aiter__ returns the iterator itself"
    assert seen == [[1, 2, 3], [4, 5, 6], [7]], f"tenant 1 in pages of 3 is 3+3+1, got {seen}"
    assert queries == 3, f"a short page ends the iteration: 3 queries expected, {queries} were run"
    assert after is None, "once ended, the iterator stays ended (anext with a default returns it)"


def test_invoice_pages_on_an_exact_multiple_ends_on_an_empty_page() -> None:
    async def scenario(pool: asyncpg.Pool) -> tuple[list[int], int, int]:
        pages = InvoicePages(pool, 2, page_size=3)
        sizes = [len(page) async for page in pages]
        queries = pages.queries
        with pytest.raises(StopAsyncIteration):
            await anext(pages)
        return sizes, queries, pages.queries

    sizes, queries, queries_later = run(scenario)
    assert sizes == [3, 3], f"tenant 2's six invoices in pages of 3, got sizes {sizes}"
    assert queries == 3, "two full pages cannot prove the end: a third, empty page is needed"
    assert queries_later == 3, "asking an ended iterator again must not query the database"


def test_invoice_pages_hold_no_connection_between_pages_and_see_new_rows() -> None:
    async def scenario(pool: asyncpg.Pool) -> tuple[bool, list[int]]:
        await pool.execute("DELETE FROM s6_5_ex_invoices WHERE tenant_id = 5")
        await pool.execute(
            "INSERT INTO s6_5_ex_invoices"
            " SELECT g, 5, 'E-' || g, 1 FROM generate_series(501, 504) g"
        )
        pages = InvoicePages(pool, 5, page_size=2)
        ids = [invoice.id for invoice in await anext(pages)]
        idle_between = all_idle(pool)
        await pool.execute("INSERT INTO s6_5_ex_invoices VALUES (505, 5, 'E-505', 1)")
        async for page in pages:
            ids += [invoice.id for invoice in page]
        await pool.execute("DELETE FROM s6_5_ex_invoices WHERE tenant_id = 5")
        return idle_between, ids

    idle_between, ids = run(scenario)
    assert idle_between, "between pages every pool connection must be idle: use pool.fetch per page"
    assert ids == [501, 502, 503, 504, 505], (
        f"keyset paging sees a row added later with a higher id; got {ids}"
    )


def test_export_invoices_hands_batches_to_the_sink_and_returns_the_count() -> None:
    sizes: list[int] = []

    async def sink(batch: list[Invoice]) -> None:
        sizes.append(len(batch))

    count = run(lambda pool: export_invoices(pool, 3, sink, batch_size=100))
    assert sizes == [100, 100, 50], f"250 invoices in batches of 100, got batch sizes {sizes}"
    assert count == 250, f"export_invoices should return 250, got {count}"


def test_export_invoices_returns_the_connection_when_the_sink_fails() -> None:
    class WarehouseDownError(Exception):
        pass

    calls: list[int] = []

    async def sink(batch: list[Invoice]) -> None:
        calls.append(len(batch))
        if len(calls) == 2:
            raise WarehouseDownError("the data warehouse refused batch 2")

    async def scenario(pool: asyncpg.Pool) -> tuple[str, bool]:
        try:
            await export_invoices(pool, 3, sink, batch_size=100)
        except WarehouseDownError as error:
            return str(error), all_idle(pool)
        return "no error", all_idle(pool)

    message, idle = run(scenario)
    assert message == "the data warehouse refused batch 2", "the sink's error must reach the caller"
    assert calls == [100, 100], "the export stops at the failing batch"
    assert idle, "when the error reaches the caller, the snapshot's connection is already back"
