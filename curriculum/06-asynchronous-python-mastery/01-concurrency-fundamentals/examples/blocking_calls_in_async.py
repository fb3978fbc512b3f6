"""One blocking call inside async code freezes every other task in the process.

A heartbeat task ticks every 20 ms, as a health check or a websocket ping would. Each variant
runs a 250 ms PostgreSQL query (pg_sleep) or 250 ms of Python work while the heartbeat is
supposed to keep ticking, and we count the ticks that got through.
"""

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

import asyncpg
import psycopg

DSN = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
).replace("postgresql+psycopg://", "postgresql://")
SLOW_QUERY = "SELECT pg_sleep(0.25)"
TICK = 0.020

log = logging.getLogger("orders-api")


class Heartbeat:
    """Ticks every TICK seconds and records how late each tick woke up."""

    def __init__(self) -> None:
        self.ticks = 0
        self.worst_delay = 0.0

    async def run(self) -> None:
        while True:
            due = time.perf_counter() + TICK
            await asyncio.sleep(TICK)
            self.worst_delay = max(self.worst_delay, time.perf_counter() - due)
            self.ticks += 1


def build_invoice_json() -> str:
    """About a quarter of a second of pure-Python work on this machine."""
    lines = [
        {"sku": f"SKU-{n % 500:04d}", "net": str(Decimal(n % 997) / 10 * (n % 7 + 1))}
        for n in range(60_000)
    ]
    return json.dumps(lines)


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sync_conn = psycopg.connect(DSN, autocommit=True)
    async_conn = await psycopg.AsyncConnection.connect(DSN, autocommit=True)
    pg = await asyncpg.connect(DSN)

    async def sync_driver_called_directly() -> None:
        sync_conn.execute(SLOW_QUERY)  # blocks the thread, and the loop runs on this thread

    async def sync_driver_in_a_thread() -> None:
        await asyncio.to_thread(sync_conn.execute, SLOW_QUERY)

    async def psycopg_async_api() -> None:
        await async_conn.execute(SLOW_QUERY)

    async def asyncpg_driver() -> None:
        await pg.execute(SLOW_QUERY)

    async def cpu_work_inline() -> None:
        build_invoice_json()

    async def cpu_work_in_a_thread() -> None:
        await asyncio.to_thread(build_invoice_json)

    variants: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("psycopg sync, called in async def", sync_driver_called_directly),
        ("psycopg sync, via asyncio.to_thread", sync_driver_in_a_thread),
        ("psycopg AsyncConnection", psycopg_async_api),
        ("asyncpg", asyncpg_driver),
        ("pure-Python JSON, inline", cpu_work_inline),
        ("pure-Python JSON, via asyncio.to_thread", cpu_work_in_a_thread),
    ]
    heartbeat = Heartbeat()
    beating = asyncio.create_task(heartbeat.run())
    try:
        await asyncio.sleep(TICK * 3)  # let the heartbeat settle
        print(f"{'variant':<40} {'ticks':>5} {'worst heartbeat delay':>22}")
        for label, work in variants:
            before, heartbeat.worst_delay = heartbeat.ticks, 0.0
            try:
                await work()
            except (psycopg.Error, asyncpg.PostgresError):
                log.exception("%s failed", label)
                raise
            ticks = heartbeat.ticks - before  # read before this task yields again
            await asyncio.sleep(TICK * 2)  # a frozen tick fires now and reports its delay
            print(f"{label:<40} {ticks:>5} {heartbeat.worst_delay * 1000:>19.0f} ms")
    finally:
        beating.cancel()
        sync_conn.close()
        await async_conn.close()
        await pg.close()


if __name__ == "__main__":
    asyncio.run(main())
