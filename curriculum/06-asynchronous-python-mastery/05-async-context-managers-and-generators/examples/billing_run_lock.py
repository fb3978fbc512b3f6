"""A class-based async context manager: one billing run per tenant, enforced by PostgreSQL.

`BillingRunLock.__aenter__` borrows a connection from an asyncpg pool and takes a session-level
advisory lock on it; `__aexit__` unlocks and hands the connection back. Every step prints what
`async with` passed to the protocol methods and how many pool connections are idle afterwards.
"""

import asyncio
import logging
import os
import sys
import threading
from types import TracebackType

import asyncpg
from asyncpg.pool import PoolConnectionProxy

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
DSN = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
BILLING_LOCKS = 6005  # first key of pg_try_advisory_lock(int, int): this service's namespace
log = logging.getLogger("billing.lock")


class BillingRunBusyError(Exception):
    """Another worker is already billing this tenant."""


class BillingRunLock:
    """Hold the tenant's billing-run lock for the length of an `async with` block."""

    def __init__(self, pool: asyncpg.Pool, tenant_id: int) -> None:
        self._pool = pool
        self._tenant_id = tenant_id
        self._conn: PoolConnectionProxy | None = None

    async def __aenter__(self) -> PoolConnectionProxy:
        log.info("  __aenter__: acquiring a connection and the lock for tenant %d", self._tenant_id)
        conn = await self._pool.acquire()
        try:
            locked = await conn.fetchval(
                "SELECT pg_try_advisory_lock($1, $2)", BILLING_LOCKS, self._tenant_id
            )
        except BaseException:
            await self._pool.release(conn)  # __aexit__ will not run if __aenter__ raises
            raise
        if not locked:
            await self._pool.release(conn)
            raise BillingRunBusyError(f"tenant {self._tenant_id} is being billed elsewhere")
        self._conn = conn
        return conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        name = exc_type.__name__ if exc_type else None
        log.info("  __aexit__(%s, %r, %s)", name, exc, "<traceback>" if tb else None)
        conn, self._conn = self._conn, None
        assert conn is not None, "__aexit__ without a successful __aenter__"
        try:
            await conn.execute("SELECT pg_advisory_unlock($1, $2)", BILLING_LOCKS, self._tenant_id)
        finally:
            await self._pool.release(conn)  # returning None (falsy) lets the exception propagate


class LeakyBillingRunLock(BillingRunLock):
    """The same lock with the bug most hand-written managers have: a failing __aenter__ leaks."""

    async def __aenter__(self) -> PoolConnectionProxy:
        conn = await self._pool.acquire()
        if not await conn.fetchval(
            "SELECT pg_try_advisory_lock($1, $2)", BILLING_LOCKS, self._tenant_id
        ):
            raise BillingRunBusyError(f"tenant {self._tenant_id} is being billed elsewhere")
        self._conn = conn
        return conn


class SkipAlreadyInvoiced:
    """Suppress a duplicate-invoice error: __aexit__ returns True for that one exception type."""

    def __init__(self) -> None:
        self.skipped = False

    async def __aenter__(self) -> "SkipAlreadyInvoiced":
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        self.skipped = exc_type is not None and issubclass(exc_type, asyncpg.UniqueViolationError)
        return self.skipped


async def locks_held(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
        " WHERE l.locktype = 'advisory' AND l.classid = $1 AND d.datname = current_database()",
        BILLING_LOCKS,
    )
    return count


async def main() -> None:
    pool = await asyncpg.create_pool(DSN, min_size=3, max_size=3)
    try:
        await pool.execute("DROP TABLE IF EXISTS s6_5_invoices")
        await pool.execute(
            "CREATE TABLE s6_5_invoices"
            " (tenant_id int, period text, PRIMARY KEY (tenant_id, period))"
        )

        print("1. The block finishes: __aexit__ gets three Nones")
        async with BillingRunLock(pool, tenant_id=7) as conn:
            print(f"  body: locks held = {await locks_held(pool)}, idle = {pool.get_idle_size()}")
            await conn.execute("INSERT INTO s6_5_invoices VALUES (7, '2025-05')")
        print(f"  after: locks held = {await locks_held(pool)}, idle = {pool.get_idle_size()}")

        print("2. The block raises: __aexit__ sees the exception, returns None, it propagates")
        try:
            async with BillingRunLock(pool, tenant_id=7):
                raise ValueError("tax rate missing for region EU-7")
        except ValueError as error:
            print(f"  caught outside: {error!r}; locks held = {await locks_held(pool)}")

        print("3. A timeout cancels the body: __aexit__ sees CancelledError, cleanup still awaits")
        try:
            async with asyncio.timeout(0.2), BillingRunLock(pool, tenant_id=7) as conn:
                await conn.execute("SELECT pg_sleep(5)")  # a slow statement the deadline cuts
        except TimeoutError:
            print(f"  caught outside: TimeoutError; locks held = {await locks_held(pool)}")
        print(f"  idle connections = {pool.get_idle_size()}")

        print("4. __aenter__ raises: no __aexit__, so __aenter__ must clean up after itself")
        async with BillingRunLock(pool, tenant_id=7):
            for lock_class in (BillingRunLock, LeakyBillingRunLock):
                try:
                    async with lock_class(pool, tenant_id=7):
                        print("  unreachable: the lock is taken")
                except BillingRunBusyError as error:
                    print(f"  {lock_class.__name__}: {error}; idle = {pool.get_idle_size()}")
        print(f"  after the holder left: idle = {pool.get_idle_size()} of {pool.get_size()}")

        print("5. __aexit__ returns True: the exception is suppressed, execution continues")
        async with SkipAlreadyInvoiced() as guard:
            await pool.execute("INSERT INTO s6_5_invoices VALUES (7, '2025-05')")
            print("  unreachable: the INSERT raised")
        print(f"  after the block: skipped = {guard.skipped}")

        print("6. Mixing up the protocols fails before anything runs")
        try:
            with BillingRunLock(pool, tenant_id=7):  # type: ignore[attr-defined]
                pass
        except TypeError as error:
            print(f"  with on an async manager: TypeError: {error}")
        try:
            async with threading.Lock():  # type: ignore[attr-defined]
                pass
        except TypeError as error:
            print(f"  async with on a threading.Lock: TypeError: {error}")

        await pool.execute("DROP TABLE s6_5_invoices")
    finally:
        try:
            async with asyncio.timeout(1):
                await pool.close()  # waits for every connection to be released
        except TimeoutError:
            print("pool.close() was still waiting for the leaked connection after 1 s")
            pool.terminate()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    asyncio.run(main())
