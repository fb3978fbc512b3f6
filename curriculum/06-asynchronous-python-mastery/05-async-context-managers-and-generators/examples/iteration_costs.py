"""What async iteration and async context managers cost, and what a cursor's prefetch buys.

Figures are the best of five runs on whatever machine runs this; compare them with each
other, not with someone else's machine.
"""

import asyncio
import os
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from types import TracebackType

import asyncpg

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
DSN = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
ITEMS = 100_000
ENTRIES = 20_000
ROWS = 5_000
RUNS = 5


async def best_of(runs: int, work: Callable[[], Awaitable[int]]) -> tuple[float, int]:
    """Fastest wall time of `runs` calls, and what the last call returned (a checksum)."""
    best = float("inf")
    result = 0
    for _ in range(runs):
        started = time.perf_counter()
        result = await work()
        best = min(best, time.perf_counter() - started)
    return best, result


async def amounts(n: int) -> AsyncGenerator[int, None]:
    for cents in range(n):
        yield cents


async def amount_pages(n: int, page: int) -> AsyncGenerator[list[int], None]:
    for start in range(0, n, page):
        yield list(range(start, min(start + page, n)))


class Amounts:
    def __init__(self, n: int) -> None:
        self._next = 0
        self._n = n

    def __aiter__(self) -> "Amounts":
        return self

    async def __anext__(self) -> int:
        if self._next >= self._n:
            raise StopAsyncIteration
        self._next += 1
        return self._next - 1


async def sync_loop() -> int:
    total = 0
    for cents in range(ITEMS):
        total += cents
    return total


async def generator_loop() -> int:
    total = 0
    async for cents in amounts(ITEMS):
        total += cents
    return total


async def class_loop() -> int:
    total = 0
    async for cents in Amounts(ITEMS):
        total += cents
    return total


async def paged_loop() -> int:
    total = 0
    async for page in amount_pages(ITEMS, 500):
        for cents in page:
            total += cents
    return total


class Audited:
    async def __aenter__(self) -> "Audited":
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


@asynccontextmanager
async def audited() -> AsyncIterator[None]:
    yield


async def class_manager() -> int:
    for _ in range(ENTRIES):
        async with Audited():
            pass
    return ENTRIES


async def generator_manager() -> int:
    for _ in range(ENTRIES):
        async with audited():
            pass
    return ENTRIES


async def main() -> None:
    print(f"1. Iterating {ITEMS:,} amounts (ns per item)")
    baseline = 0.0
    expected = sum(range(ITEMS))
    for label, loop in (
        ("plain for over range()", sync_loop),
        ("async for over an async generator", generator_loop),
        ("async for over a class with __anext__", class_loop),
        ("async for over pages of 500", paged_loop),
    ):
        seconds, total = await best_of(RUNS, loop)
        assert total == expected, f"{label} summed {total}, expected {expected}"
        baseline = baseline or seconds
        ratio = seconds / baseline
        print(f"  {label:<40} {seconds / ITEMS * 1e9:7.1f} ns  ({ratio:5.1f}x)")

    print(f"2. Entering and leaving async with {ENTRIES:,} times (ns per block)")
    for label, entries in (
        ("class with __aenter__/__aexit__", class_manager),
        ("@asynccontextmanager", generator_manager),
    ):
        seconds, _ = await best_of(RUNS, entries)
        print(f"  {label:<40} {seconds / ENTRIES * 1e9:7.1f} ns")

    print(f"3. Streaming {ROWS:,} rows from PostgreSQL (ms per full read)")
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute("DROP TABLE IF EXISTS s6_5_ledger")
        await conn.execute(
            "CREATE TABLE s6_5_ledger AS SELECT g AS id, g % 97 AS tenant_id,"
            " (g * 1.25)::numeric(12, 2) AS amount FROM generate_series(1, $1::int) g",
            ROWS,
        )
        query = "SELECT id, tenant_id, amount FROM s6_5_ledger ORDER BY id"

        async def read_all() -> int:
            return len(await conn.fetch(query))

        for prefetch in (10, 100, 1000):

            async def stream(prefetch: int = prefetch) -> int:
                rows = 0
                async with conn.transaction():
                    async for _ in conn.cursor(query, prefetch=prefetch):
                        rows += 1
                return rows

            seconds, rows = await best_of(RUNS, stream)
            label = f"cursor, prefetch={prefetch}"
            print(f"  {label:<24} {rows:>5} rows {seconds * 1e3:8.1f} ms")
        seconds, rows = await best_of(RUNS, read_all)
        print(f"  {'fetch() into one list':<24} {rows:>5} rows {seconds * 1e3:8.1f} ms")
        await conn.execute("DROP TABLE s6_5_ledger")
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
