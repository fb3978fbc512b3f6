"""The same three workloads on asyncpg, psycopg 3 (async), SQLAlchemy Core and ORM on top of
them, and `databases`: point lookups from 8 concurrent tasks over 4 connections, one wide read,
and a bulk insert done each driver's way. Figures are measured on this machine and printed;
they vary from run to run, so the lesson's recorded output masks them.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import cast

import asyncpg
import psycopg
from databases import Database
from sqlalchemy import Numeric, String, Table, bindparam, insert, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
DSN = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
SA_ASYNCPG = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql+asyncpg://")
SA_PSYCOPG = POSTGRES_URL  # create_async_engine picks psycopg's AsyncConnection
CONNECTIONS, WORKERS, LOOKUPS, WIDE_ROWS, BULK_ROWS, SLOW_ROWS = 4, 8, 200, 10_000, 2000, 100
random.seed(2024)
KEYS = [random.randint(1, WIDE_ROWS) for _ in range(LOOKUPS)]
Row = tuple[str, str, Decimal]
BULK: list[Row] = [
    (f"B-{n:05}", "tenant-7", Decimal(n % 500) + Decimal("0.99")) for n in range(BULK_ROWS)
]

Timed = Callable[[], Awaitable[int]]
Reset = Callable[["asyncpg.Connection[asyncpg.Record]"], Awaitable[None]]


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "s6_8_bench_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    tenant: Mapped[str] = mapped_column(String(20))
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))


INVOICES = cast(Table, Invoice.__table__)  # `databases` takes Core tables, not ORM classes


async def spread(lookup: Callable[[int], Awaitable[Decimal]], keys: list[int]) -> int:
    """Run the point queries from WORKERS tasks; return a checksum of the totals."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for key in keys:
        queue.put_nowait(key)
    checksum = Decimal(0)

    async def worker() -> None:
        nonlocal checksum
        while not queue.empty():
            total = await lookup(queue.get_nowait())
            checksum += total  # never `checksum += await ...`: that reads checksum first

    async with asyncio.TaskGroup() as group:
        for _ in range(WORKERS):
            group.create_task(worker())
    return int(checksum)


@asynccontextmanager
async def psycopg_pool() -> AsyncIterator[
    asyncio.Queue[psycopg.AsyncConnection[tuple[object, ...]]]
]:
    """psycopg_pool is not installed here: four connections handed out through a queue."""
    free: asyncio.Queue[psycopg.AsyncConnection[tuple[object, ...]]] = asyncio.Queue()
    for _ in range(CONNECTIONS):
        free.put_nowait(await psycopg.AsyncConnection.connect(DSN, autocommit=True))
    try:
        yield free
    finally:
        while not free.empty():
            await free.get_nowait().close()


async def measure(
    label: str, run: Timed, units: int, baseline: list[float], warm_up: Timed | None = None
) -> None:
    """Time one run of `run` after an untimed warm-up; print ms, µs per unit and the ratio."""
    await (warm_up or run)()  # connections opened, statements prepared, caches filled
    started = time.perf_counter()
    checksum = await run()
    elapsed = time.perf_counter() - started
    per_unit = elapsed / units
    if not baseline:
        baseline.append(per_unit)
    print(
        f"   {label:<36}{elapsed * 1000:9.1f} ms{per_unit * 1e6:9.1f} µs/unit"
        f"{per_unit / baseline[0]:7.1f}x   check {checksum}"
    )


async def skip_reset(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    """A pool `reset` hook that sends nothing: safe only if no code changes session state."""


async def round_trips() -> None:
    """What goes over the wire per checkout, from asyncpg's own query logger."""
    sent: list[str] = []

    def log_queries(conn: asyncpg.Connection[asyncpg.Record]) -> None:
        conn.add_query_logger(lambda record: sent.append(record.query.replace("\n", " ")))

    async def logged_pool(reset: Reset | None = None) -> list[str]:
        async def init(conn: asyncpg.Connection[asyncpg.Record]) -> None:
            log_queries(conn)

        async with asyncpg.create_pool(DSN, min_size=1, max_size=1, init=init, reset=reset) as pool:
            sent.clear()
            await pool.fetchval("SELECT total FROM s6_8_bench_invoices WHERE id = $1", 1)
            await asyncio.sleep(0)  # loggers run through call_soon()
            return list(sent)

    print("0. Statements sent for one lookup through a pool")
    print(f"   asyncpg pool:                {await logged_pool()}")
    print(f"   asyncpg pool, reset skipped: {await logged_pool(reset=skip_reset)}")
    engine = create_async_engine(SA_ASYNCPG, pool_size=1)
    try:
        async with engine.connect() as conn:
            driver_connection = (await conn.get_raw_connection()).driver_connection
            assert driver_connection is not None
            log_queries(driver_connection)
        sent.clear()
        async with engine.connect() as conn:
            await conn.execute(select(Invoice.total).where(Invoice.id == 1))
        await asyncio.sleep(0)
        print(f"   SQLAlchemy + asyncpg:        {sent} around the (unlogged) prepared SELECT")
    finally:
        await engine.dispose()


async def reads() -> None:
    pg_pool = await asyncpg.create_pool(DSN, min_size=CONNECTIONS, max_size=CONNECTIONS)
    lean_pool = await asyncpg.create_pool(
        DSN, min_size=CONNECTIONS, max_size=CONNECTIONS, reset=skip_reset
    )
    sa_pg = create_async_engine(SA_ASYNCPG, pool_size=CONNECTIONS, max_overflow=0)
    sa_psy = create_async_engine(SA_PSYCOPG, pool_size=CONNECTIONS, max_overflow=0)
    orm = async_sessionmaker(sa_pg, expire_on_commit=False)
    point = "SELECT total FROM s6_8_bench_invoices WHERE id = $1"
    by_id = select(Invoice.total).where(Invoice.id == bindparam("id"))
    wide = "SELECT id, number, tenant, total FROM s6_8_bench_invoices"
    try:
        async with psycopg_pool() as psy:

            async def asyncpg_lookup(key: int) -> Decimal:
                return Decimal(await pg_pool.fetchval(point, key))

            async def asyncpg_lean_lookup(key: int) -> Decimal:
                return Decimal(await lean_pool.fetchval(point, key))

            async def psycopg_lookup(key: int) -> Decimal:
                conn = await psy.get()
                try:
                    cur = await conn.execute(point.replace("$1", "%s"), (key,))
                    row = await cur.fetchone()
                    return Decimal(str(row[0])) if row else Decimal(0)
                finally:
                    psy.put_nowait(conn)

            async def core_asyncpg_lookup(key: int) -> Decimal:
                async with sa_pg.connect() as conn:
                    return Decimal((await conn.execute(by_id, {"id": key})).scalar_one())

            async def core_psycopg_lookup(key: int) -> Decimal:
                async with sa_psy.connect() as conn:
                    return Decimal((await conn.execute(by_id, {"id": key})).scalar_one())

            async def orm_lookup(key: int) -> Decimal:
                async with orm() as session:
                    invoice = await session.get(Invoice, key)
                    return invoice.total if invoice else Decimal(0)

            print(f"\n1. {LOOKUPS} primary-key lookups, {WORKERS} tasks, {CONNECTIONS} connections")
            base: list[float] = []
            for label, lookup in (
                ("asyncpg pool", asyncpg_lookup),
                ("asyncpg pool, reset skipped", asyncpg_lean_lookup),
                ("psycopg 3 async", psycopg_lookup),
                ("SQLAlchemy Core + asyncpg", core_asyncpg_lookup),
                ("SQLAlchemy Core + psycopg", core_psycopg_lookup),
                ("SQLAlchemy ORM + asyncpg, get()", orm_lookup),
            ):
                await measure(
                    label,
                    functools.partial(spread, lookup, KEYS),
                    LOOKUPS,
                    base,
                    warm_up=functools.partial(spread, lookup, KEYS[:40]),
                )

            async def asyncpg_wide() -> int:
                return sum(row["id"] for row in await pg_pool.fetch(wide))

            async def psycopg_wide() -> int:
                conn = await psy.get()
                try:
                    cur = await conn.execute(wide)
                    return sum(int(str(row[0])) for row in await cur.fetchall())
                finally:
                    psy.put_nowait(conn)

            async def core_wide() -> int:
                async with sa_pg.connect() as conn:
                    return sum(row.id for row in await conn.execute(text(wide)))

            async def orm_wide() -> int:
                async with orm() as session:
                    return sum(invoice.id for invoice in await session.scalars(select(Invoice)))

            print(f"\n2. One query returning {WIDE_ROWS} rows of 4 columns")
            base = []
            await measure("asyncpg fetch()", asyncpg_wide, WIDE_ROWS, base)
            await measure("psycopg 3 async fetchall()", psycopg_wide, WIDE_ROWS, base)
            await measure("SQLAlchemy Core + asyncpg", core_wide, WIDE_ROWS, base)
            await measure("SQLAlchemy ORM + asyncpg, objects", orm_wide, WIDE_ROWS, base)
    finally:
        await pg_pool.close()
        await lean_pool.close()
        await sa_pg.dispose()
        await sa_psy.dispose()


async def bulk() -> None:
    print(f"\n3. Bulk inserts of {BULK_ROWS} rows ({SLOW_ROWS} for the row-at-a-time one)")
    columns = ("number", "tenant", "total")
    insert_sql = "INSERT INTO s6_8_bench_invoices (number, tenant, total) VALUES ($1, $2, $3)"
    conn = await asyncpg.connect(DSN)
    psy = await psycopg.AsyncConnection.connect(DSN, autocommit=True)
    engine = create_async_engine(SA_ASYNCPG)
    orm = async_sessionmaker(engine, expire_on_commit=False)
    database = Database(SA_ASYNCPG)
    await database.connect()

    def as_dicts(records: list[Row]) -> list[dict[str, object]]:
        return [dict(zip(columns, record, strict=True)) for record in records]

    async def loaded() -> int:
        """Count the rows the run added, then delete them for the next contender."""
        added = await conn.fetchval(
            "WITH gone AS (DELETE FROM s6_8_bench_invoices WHERE id > $1 RETURNING 1)"
            " SELECT count(*) FROM gone",
            WIDE_ROWS,
        )
        return int(added)

    async def asyncpg_copy(records: list[Row]) -> int:
        await conn.copy_records_to_table("s6_8_bench_invoices", records=records, columns=columns)
        return await loaded()

    async def asyncpg_unnest(records: list[Row]) -> int:
        await conn.execute(
            "INSERT INTO s6_8_bench_invoices (number, tenant, total)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[])",
            *(list(column) for column in zip(*records, strict=True)),
        )
        return await loaded()

    async def asyncpg_executemany(records: list[Row]) -> int:
        await conn.executemany(insert_sql, records)
        return await loaded()

    async def psycopg_copy(records: list[Row]) -> int:
        async with psy.cursor() as cur:
            copy_sql = "COPY s6_8_bench_invoices (number, tenant, total) FROM STDIN"
            async with cur.copy(copy_sql) as copy:
                for record in records:
                    await copy.write_row(record)
        return await loaded()

    async def psycopg_executemany(records: list[Row]) -> int:
        async with psy.cursor() as cur:
            await cur.executemany(insert_sql.replace("$1, $2, $3", "%s, %s, %s"), records)
        return await loaded()

    async def core_insert(records: list[Row]) -> int:
        async with engine.begin() as sa_conn:
            await sa_conn.execute(insert(Invoice), as_dicts(records))
        return await loaded()

    async def orm_add_all(records: list[Row]) -> int:
        async with orm.begin() as session:
            session.add_all(Invoice(**row) for row in as_dicts(records))
        return await loaded()

    async def databases_execute_many(records: list[Row]) -> int:
        await database.execute_many(insert(INVOICES), as_dicts(records))
        return await loaded()

    try:
        base: list[float] = []
        for label, run, count in (
            ("asyncpg copy_records_to_table()", asyncpg_copy, BULK_ROWS),
            ("asyncpg INSERT ... SELECT unnest()", asyncpg_unnest, BULK_ROWS),
            ("asyncpg executemany()", asyncpg_executemany, BULK_ROWS),
            ("psycopg 3 COPY", psycopg_copy, BULK_ROWS),
            ("psycopg 3 executemany()", psycopg_executemany, BULK_ROWS),
            ("SQLAlchemy Core insert(), dicts", core_insert, BULK_ROWS),
            ("SQLAlchemy ORM add_all()", orm_add_all, BULK_ROWS),
            ("databases execute_many()", databases_execute_many, SLOW_ROWS),
        ):
            await measure(
                label,
                functools.partial(run, BULK[:count]),
                count,
                base,
                warm_up=functools.partial(run, BULK[:20]),
            )
    finally:
        await database.disconnect()
        await engine.dispose()
        await psy.close()
        await conn.close()


async def main() -> None:
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute(
            f"""
            DROP TABLE IF EXISTS s6_8_bench_invoices;
            CREATE TABLE s6_8_bench_invoices (
                id serial PRIMARY KEY, number varchar(20), tenant varchar(20),
                total numeric(10, 2));
            INSERT INTO s6_8_bench_invoices (number, tenant, total)
            SELECT 'INV-' || n, 'tenant-' || n % 50, (n % 1000) + 0.5
            FROM generate_series(1, {WIDE_ROWS}) n;
            ANALYZE s6_8_bench_invoices;
            """
        )
        await round_trips()
        await reads()
        await bulk()
    finally:
        await conn.execute("DROP TABLE IF EXISTS s6_8_bench_invoices")
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
