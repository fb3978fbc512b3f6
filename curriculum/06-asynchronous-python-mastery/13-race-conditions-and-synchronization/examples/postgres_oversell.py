"""The last console in stock, two orders, PostgreSQL: a check-then-act race and four ways out.

Each order reads the stock, waits on a slow call (a fraud check, a payment authorisation), then
writes. In production two orders land inside that window by chance; here a ContentionWindow
holds each order until the other one is inside too, so the worst interleaving happens on every
run whenever the code allows it, and never when the code makes it impossible.
"""

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TypeAlias

import asyncpg

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log %(name)s: %(message)s")
log = logging.getLogger("inventory")

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
DSN = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
SKU = "CONSOLE-BNDL-01"

SCHEMA = """
DROP TABLE IF EXISTS s6_13_reservations, s6_13_stock;
CREATE TABLE s6_13_stock (
    sku text PRIMARY KEY,
    available integer NOT NULL CHECK (available >= 0)
);
CREATE TABLE s6_13_reservations (
    order_no text PRIMARY KEY,
    sku text NOT NULL REFERENCES s6_13_stock (sku),
    quantity integer NOT NULL CHECK (quantity > 0)
);
"""

Pool: TypeAlias = "asyncpg.Pool[asyncpg.Record]"


class ContentionWindow:
    """The slow await between check and act, made worst-case.

    An order entering the window waits until another order is inside as well (an
    asyncio.Barrier of 2), or until `patience` runs out, which only happens when the code
    keeps the other order out: an asyncio.Lock, or a row lock inside PostgreSQL.
    """

    def __init__(self, patience: float = 1.0) -> None:
        self._barrier = asyncio.Barrier(2)
        self._patience = patience
        self.together = 0
        self.alone = 0

    async def enter(self) -> None:
        try:
            async with asyncio.timeout(self._patience):
                await self._barrier.wait()
            self.together += 1
        except TimeoutError:
            self.alone += 1


class InventoryService:
    """One instance is one process of the order service: its own pool, its own asyncio.Lock."""

    def __init__(self, pool: Pool, window: ContentionWindow) -> None:
        self.pool = pool
        self.window = window
        self.lock = asyncio.Lock()

    async def reserve_read_then_write(self, order_no: str, qty: int) -> bool:
        async with self.pool.acquire() as conn:
            available = await conn.fetchval("SELECT available FROM s6_13_stock WHERE sku = $1", SKU)
            if available < qty:
                log.info("%s sold out, order refused", SKU)
                return False
            await self.window.enter()
            async with conn.transaction():
                await conn.execute(
                    "UPDATE s6_13_stock SET available = $2 WHERE sku = $1", SKU, available - qty
                )
                await conn.execute(
                    "INSERT INTO s6_13_reservations VALUES ($1, $2, $3)", order_no, SKU, qty
                )
            return True

    async def reserve_with_asyncio_lock(self, order_no: str, qty: int) -> bool:
        async with self.lock:
            return await self.reserve_read_then_write(order_no, qty)

    async def reserve_for_update(self, order_no: str, qty: int) -> bool:
        async with self.pool.acquire() as conn, conn.transaction():
            available = await conn.fetchval(
                "SELECT available FROM s6_13_stock WHERE sku = $1 FOR UPDATE", SKU
            )
            if available < qty:
                log.info("%s sold out, order refused", SKU)
                return False
            await self.window.enter()  # the row stays locked for the whole window
            await conn.execute(
                "UPDATE s6_13_stock SET available = available - $2 WHERE sku = $1", SKU, qty
            )
            await conn.execute(
                "INSERT INTO s6_13_reservations VALUES ($1, $2, $3)", order_no, SKU, qty
            )
            return True

    async def reserve_atomic(self, order_no: str, qty: int) -> bool:
        await self.window.enter()  # the slow call happens first; the decision is one statement
        async with self.pool.acquire() as conn, conn.transaction():
            left = await conn.fetchval(
                """UPDATE s6_13_stock SET available = available - $2
                   WHERE sku = $1 AND available >= $2
                   RETURNING available""",
                SKU,
                qty,
            )
            if left is None:
                log.info("%s sold out, order refused", SKU)
                return False
            await conn.execute(
                "INSERT INTO s6_13_reservations VALUES ($1, $2, $3)", order_no, SKU, qty
            )
            return True


Reserve = Callable[[str, int], Awaitable[bool]]


async def attempt(
    label: str,
    pools: tuple[Pool, Pool],
    pick: Callable[[InventoryService], Reserve],
    instances: int,
) -> None:
    window = ContentionWindow()
    first = InventoryService(pools[0], window)
    second = InventoryService(pools[1], window) if instances == 2 else first
    async with pools[0].acquire() as conn:
        await conn.execute("TRUNCATE s6_13_reservations, s6_13_stock")
        await conn.execute("INSERT INTO s6_13_stock VALUES ($1, 1)", SKU)

    print(label)  # before the orders run, so their log lines appear under this heading
    results = await asyncio.gather(pick(first)("ORD-1001", 1), pick(second)("ORD-1002", 1))

    async with pools[0].acquire() as conn:
        available = await conn.fetchval("SELECT available FROM s6_13_stock")
        reserved = await conn.fetchval("SELECT count(*) FROM s6_13_reservations")
    verdict = f"OVERSOLD by {reserved - 1}" if reserved > 1 else "correct"
    print(f"   in the window together: {window.together}, alone: {window.alone}")
    print(f"   confirmed {sum(results)}, available {available}, reservations {reserved}: {verdict}")


async def main() -> None:
    try:
        pool_a = await asyncpg.create_pool(DSN, min_size=2, max_size=2)
        pool_b = await asyncpg.create_pool(DSN, min_size=2, max_size=2)
    except (OSError, asyncpg.PostgresError) as exc:
        sys.exit(f"PostgreSQL is not reachable at {DSN!r}: {exc}")
    pools = (pool_a, pool_b)
    try:
        async with pool_a.acquire() as conn:
            await conn.execute(SCHEMA)
        print(f"stock: 1 x {SKU}; two orders for it arrive together\n")
        await attempt(
            "1. read, slow call, write; one service instance",
            pools,
            lambda s: s.reserve_read_then_write,
            instances=1,
        )
        await attempt(
            "2. the same inside asyncio.Lock; one service instance",
            pools,
            lambda s: s.reserve_with_asyncio_lock,
            instances=1,
        )
        await attempt(
            "3. asyncio.Lock; two instances, one order each",
            pools,
            lambda s: s.reserve_with_asyncio_lock,
            instances=2,
        )
        await attempt(
            "4. SELECT ... FOR UPDATE in one transaction; two instances",
            pools,
            lambda s: s.reserve_for_update,
            instances=2,
        )
        await attempt(
            "5. one conditional UPDATE ... RETURNING; two instances",
            pools,
            lambda s: s.reserve_atomic,
            instances=2,
        )
    finally:
        async with pool_a.acquire() as conn:
            await conn.execute("DROP TABLE IF EXISTS s6_13_reservations, s6_13_stock")
        await pool_a.close()
        await pool_b.close()


if __name__ == "__main__":
    asyncio.run(main())
