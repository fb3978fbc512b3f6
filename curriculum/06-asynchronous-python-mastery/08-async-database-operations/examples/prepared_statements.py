"""Prepared statements across the async drivers: what each one leaves in PostgreSQL's
pg_prepared_statements, the asyncpg cache and its two failure modes, the cache switched off
(the PgBouncer setting), psycopg's prepare_threshold, and aiomysql's client-side interpolation.
"""

from __future__ import annotations

import asyncio
import os
import warnings
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomysql  # type: ignore[import-untyped]  # aiomysql 0.3 ships no type hints
import asyncpg
import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
MYSQL_URL = os.environ.get(
    "PYMASTERY_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/pymastery_examples"
)
DSN = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
LOOKUP = "SELECT id, sku, price FROM s6_8_ps_products WHERE id = $1"
EVERYTHING = "SELECT * FROM s6_8_ps_products WHERE id = $1"
PREPARED = (  # the session's server-side prepared statements that touch the products table
    "SELECT count(*) FROM pg_prepared_statements"
    " WHERE statement LIKE '%s6_8_ps_products%' AND statement NOT LIKE '%pg_prepared%'"
)


async def setup(conn: asyncpg.Connection[asyncpg.Record]) -> None:
    await conn.execute(
        """
        DROP TABLE IF EXISTS s6_8_ps_products;
        CREATE TABLE s6_8_ps_products (id int PRIMARY KEY, sku text, price numeric(8, 2));
        INSERT INTO s6_8_ps_products SELECT n, 'SKU-' || n, n * 1.5 FROM generate_series(1, 100) n;
        """
    )


async def asyncpg_cache() -> None:
    print("1. asyncpg: every parametrised query is prepared and cached per connection")
    conn = await asyncpg.connect(DSN)
    try:
        await setup(conn)
        for product_id in (1, 2, 3):
            await conn.fetchrow(LOOKUP, product_id)
        print(f"   3 executions of one query -> {await conn.fetchval(PREPARED)} server statement")

        statement = await conn.prepare(LOOKUP)
        params = [t.name for t in statement.get_parameters()]
        columns = [(a.name, a.type.name) for a in statement.get_attributes()]
        print(f"   conn.prepare(): parameters {params}, columns {columns}")
        rows = [await statement.fetchrow(product_id) for product_id in (10, 20)]
        print(f"   reused: {[(r['sku'], str(r['price'])) for r in rows if r is not None]}")

        try:
            await conn.fetchrow(LOOKUP, "42")
        except asyncpg.DataError as error:
            print(f"   a str for an int parameter: DataError: {str(error).split(': ', 1)[1]}")

        await conn.fetchrow(EVERYTHING, 1)
        await conn.execute("ALTER TABLE s6_8_ps_products ADD COLUMN currency text")
        row = await conn.fetchrow(EVERYTHING, 1)  # result type changed: asyncpg re-prepares
        print(
            f"   SELECT * after ADD COLUMN, outside a transaction: retried, {len(row or [])} cols"
        )
        await conn.execute("ALTER TABLE s6_8_ps_products DROP COLUMN currency")
        try:
            async with conn.transaction():
                await conn.fetchrow(EVERYTHING, 1)
        except asyncpg.InvalidCachedStatementError as error:
            print(f"   the same inside a transaction: InvalidCachedStatementError: {error}")
        lookup = await conn.fetchrow(LOOKUP, 1)  # an explicit column list never changed type
        print(f"   the explicit-column query survived both changes: {lookup is not None}")
    finally:
        await conn.close()

    conn = await asyncpg.connect(DSN, statement_cache_size=0)  # what PgBouncer setups need
    try:
        for product_id in (1, 2, 3):
            await conn.fetchrow(LOOKUP, product_id)
        print(
            f"   statement_cache_size=0: 3 executions -> {await conn.fetchval(PREPARED)}"
            " named statements (unnamed ones are re-parsed every time)"
        )
    finally:
        await conn.close()


async def sqlalchemy_cache() -> None:
    print("\n2. SQLAlchemy's asyncpg dialect keeps its own cache (100 statements per connection)")
    url = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql+asyncpg://")
    query = text("SELECT sku FROM s6_8_ps_products WHERE id = :id")
    for cache_size in (100, 0):
        engine = create_async_engine(
            url, connect_args={"prepared_statement_cache_size": cache_size}
        )
        try:
            async with engine.connect() as conn:
                for product_id in (1, 2, 3):
                    await conn.execute(query, {"id": product_id})
                prepared = (await conn.execute(text(PREPARED))).scalar_one()
                print(f"   prepared_statement_cache_size={cache_size}: {prepared} kept")
        finally:
            await engine.dispose()


async def psycopg_threshold() -> None:
    print("\n3. psycopg 3 prepares a query only after prepare_threshold (5) executions")
    async with await psycopg.AsyncConnection.connect(DSN, autocommit=True) as conn:
        seen = []
        for execution in range(1, 8):
            await conn.execute("SELECT sku FROM s6_8_ps_products WHERE id = %s", (execution,))
            # the comment makes each check a new query text, so the check is never prepared
            cur = await conn.execute(f"{PREPARED} /* check {execution} */")
            row = await cur.fetchone()
            seen.append(row[0] if row else None)
        print(f"   prepared statements after executions 1..7: {seen}")
        cur = await conn.execute("SELECT sku FROM s6_8_ps_products WHERE id = %s", ("42",))
        print(f"   a str parameter is sent as text and cast by the server: {await cur.fetchone()}")


async def aiomysql_interpolation() -> None:
    print("\n4. aiomysql quotes parameters into the SQL text on the client")
    parts = urlsplit(MYSQL_URL)
    options: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "db": parts.path.lstrip("/"),
    }
    conn = await aiomysql.connect(**options)
    try:
        async with conn.cursor() as cur:
            sql = "SELECT %s AS sku, %s AS note"
            sent = cur.mogrify(sql, ("SKU-1", "it's 10% off"))
            print(f"   mogrify: {sent}")
            await cur.execute("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'")
            _, before = await cur.fetchone()
            for product in range(3):
                await cur.execute(sql, (f"SKU-{product}", "x"))
            await cur.execute("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'")
            _, after = await cur.fetchone()
            print(f"   server-side prepares for 3 executions: {int(after) - int(before)}")
    finally:
        conn.close()


async def main() -> None:
    warnings.filterwarnings("ignore", message="Unknown table")
    await asyncpg_cache()
    await sqlalchemy_cache()
    await psycopg_threshold()
    await aiomysql_interpolation()
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute("DROP TABLE s6_8_ps_products")
    finally:
        await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
