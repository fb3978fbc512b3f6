"""@asynccontextmanager units of work on asyncpg, two bugs they invite, and an AsyncExitStack.

The generator's code before `yield` is __aenter__, the code after it is __aexit__, and an
exception raised in the `async with` body is thrown into the generator at the `yield`.
"""

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis.asyncio as redis
from asyncpg.pool import PoolConnectionProxy

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
DSN = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
log = logging.getLogger("orders.db")


class CreditLimitError(Exception):
    """The order would take the tenant over its credit limit."""


@asynccontextmanager
async def tenant_transaction(
    pool: asyncpg.Pool, tenant_id: int
) -> AsyncIterator[PoolConnectionProxy]:
    """One connection, one transaction, with the tenant id set for row-level security policies."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('app.tenant_id', $1, true)", str(tenant_id))
        log.info("  enter: BEGIN for tenant %d", tenant_id)
        try:
            yield conn
        except BaseException as exc:
            log.info("  %s thrown in at the yield: ROLLBACK, then re-raise", type(exc).__name__)
            raise
        log.info("  block done: COMMIT")


@asynccontextmanager
async def quiet_transaction(
    pool: asyncpg.Pool, tenant_id: int
) -> AsyncIterator[PoolConnectionProxy]:
    """BUG: logs the failure and forgets to re-raise, so the caller never hears about it."""
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            yield conn
        except Exception as exc:
            await tx.rollback()
            log.error("  order failed for tenant %d: %s", tenant_id, type(exc).__name__)  # no raise
        else:
            await tx.commit()


@asynccontextmanager
async def retrying_transaction(pool: asyncpg.Pool) -> AsyncIterator[PoolConnectionProxy]:
    """BUG: tries to re-run the body by yielding again after a serialization failure."""
    for attempt in (1, 2):
        try:
            async with pool.acquire() as conn, conn.transaction(isolation="serializable"):
                yield conn
            return
        except asyncpg.SerializationError:
            log.info("  attempt %d hit a serialization failure; yielding again", attempt)


async def count_orders(pool: asyncpg.Pool) -> int:
    count: int = await pool.fetchval("SELECT count(*) FROM s6_5_orders")
    return count


@asynccontextmanager
async def announced(
    name: str, resource: AbstractAsyncContextManager[object]
) -> AsyncIterator[None]:
    """Enter a resource's own context manager and log when it opens and closes."""
    async with resource:
        log.info("  opened %s", name)
        try:
            yield
        finally:
            log.info("  closing %s", name)


async def close_logged(name: str, close: Callable[[], Awaitable[None]]) -> None:
    log.info("  closing %s", name)
    await close()


@dataclass
class Services:
    pool: asyncpg.Pool
    cache: redis.Redis
    reports: asyncpg.Connection


@asynccontextmanager
async def service_lifespan(reports_database: str) -> AsyncIterator[Services]:
    """Open the service's resources in order; close whatever was opened, newest first."""
    async with AsyncExitStack() as stack:
        pool = asyncpg.create_pool(DSN, min_size=1, max_size=2)
        await stack.enter_async_context(announced("postgres pool", pool))
        cache = redis.Redis.from_url(REDIS_URL)
        await stack.enter_async_context(announced("redis client", cache))
        reports_dsn = urlunsplit(urlsplit(DSN)._replace(path=f"/{reports_database}"))
        reports = await asyncpg.connect(reports_dsn)  # no async with support: push a callback
        stack.push_async_callback(close_logged, "reports connection", reports.close)
        log.info("  opened reports connection")
        yield Services(pool, cache, reports)


async def main() -> None:
    async with asyncpg.create_pool(DSN, min_size=1, max_size=2) as pool:
        await pool.execute("DROP TABLE IF EXISTS s6_5_orders")
        await pool.execute(
            "CREATE TABLE s6_5_orders (id int PRIMARY KEY, tenant_id int NOT NULL, total numeric)"
        )

        print("1. The block finishes: the code after yield runs")
        async with tenant_transaction(pool, tenant_id=41) as conn:
            await conn.execute("INSERT INTO s6_5_orders VALUES (1, 41, 120.00)")
        print(f"  orders stored: {await count_orders(pool)}")

        print("2. The block raises: the same exception object arrives outside")
        raised = CreditLimitError("order 2 takes tenant 41 over its limit of 500.00")
        try:
            async with tenant_transaction(pool, tenant_id=41) as conn:
                await conn.execute("INSERT INTO s6_5_orders VALUES (2, 41, 900.00)")
                raise raised
        except CreditLimitError as error:
            print(f"  caught {type(error).__name__}; same object: {error is raised}")
        print(f"  orders stored: {await count_orders(pool)}")

        print("3. A generator that catches without re-raising suppresses the error")
        async with quiet_transaction(pool, tenant_id=41) as conn:
            await conn.execute("INSERT INTO s6_5_orders VALUES (1, 41, 75.00)")  # duplicate key
        print(f"  the caller carries on as if it worked; orders stored: {await count_orders(pool)}")

        print("4. A generator that yields twice cannot retry the body")
        try:
            async with retrying_transaction(pool) as conn:
                await conn.execute(
                    "DO $$ BEGIN RAISE EXCEPTION 'conflict on s6_5_orders'"
                    " USING ERRCODE = 'serialization_failure'; END $$"
                )
        except RuntimeError as error:
            print(f"  RuntimeError: {error}")
        await pool.execute("DROP TABLE s6_5_orders")
        database: str = await pool.fetchval("SELECT current_database()")

    print("5. AsyncExitStack: a service's resources, closed newest first")
    async with service_lifespan(database) as services:
        print(f"  serving; redis answers ping: {await services.cache.ping()}")

    print("6. AsyncExitStack: startup fails halfway, the opened resources are still closed")
    try:
        async with service_lifespan("pymastery_no_such_reports_db"):
            print("  unreachable: startup failed")
    except asyncpg.InvalidCatalogNameError as error:
        print(f"  caught InvalidCatalogNameError: {error}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    asyncio.run(main())
