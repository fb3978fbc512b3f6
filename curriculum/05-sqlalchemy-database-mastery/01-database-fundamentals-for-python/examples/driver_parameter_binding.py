"""What each driver actually sends to the server for the same parameterised query.

PostgreSQL's current_query() and MariaDB's PROCESSLIST.INFO return the statement text
exactly as the server received it, so the output shows who did the quoting.
"""

import asyncio
import logging
import os
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncpg
import psycopg
import psycopg2
import pymysql

log = logging.getLogger("s5_1.binding")

CUSTOMER = "O'Brien & Sons"
AMOUNT = Decimal("1250.40")


def postgres_url() -> str:
    url = os.environ.get(
        "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
    )
    return "postgresql://" + url.partition("://")[2]


def report(driver: str, row: tuple[Any, ...] | None) -> None:
    if row is None:
        raise RuntimeError(f"{driver}: the query returned no row")
    seen, customer, amount = row
    print(f"{driver:<18} server received: {seen}")
    print(f"{'':<18} values back: {customer!r} {type(amount).__name__}({amount})")


def with_psycopg2() -> None:
    conn = psycopg2.connect(postgres_url())
    try:
        with conn.cursor() as cur:
            query = "SELECT current_query(), %s, %s"
            print("psycopg2 mogrify  ", cur.mogrify(query, (CUSTOMER, AMOUNT)).decode())
            cur.execute(query, (CUSTOMER, AMOUNT))
            report("psycopg2", cur.fetchone())
    finally:
        conn.close()


def with_psycopg3() -> None:
    with psycopg.connect(postgres_url()) as conn:
        query = "SELECT current_query(), %s, %s"
        report("psycopg 3", conn.execute(query, (CUSTOMER, AMOUNT)).fetchone())
        with psycopg.ClientCursor(conn) as cur:  # opt back in to client-side binding
            report("psycopg 3 client", cur.execute(query, (CUSTOMER, AMOUNT)).fetchone())


async def with_asyncpg() -> None:
    conn = await asyncpg.connect(postgres_url())
    try:
        query = "SELECT current_query(), $1::text, $2::numeric"
        record = await conn.fetchrow(query, CUSTOMER, AMOUNT)
        report("asyncpg", None if record is None else tuple(record.values()))
        try:
            await conn.fetchrow("SELECT current_query(), $1, $2", CUSTOMER, AMOUNT)
        except asyncpg.PostgresError as exc:
            log.warning("asyncpg without casts: %s: %s", type(exc).__name__, exc)
    finally:
        await conn.close()


def with_pymysql() -> None:
    url = urlsplit(
        os.environ.get(
            "PYMASTERY_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/pymastery_examples"
        )
    )
    conn = pymysql.connect(
        host=url.hostname,
        port=url.port or 3306,
        user=url.username,
        password=unquote(url.password or ""),
        database=url.path.lstrip("/"),
        ssl_disabled=True,
    )
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT INFO, %s, %s FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()",
            (CUSTOMER, AMOUNT),
        )
        report("PyMySQL", cur.fetchone())


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for module in (psycopg2, psycopg, pymysql):
        print(f"{module.__name__:<9} paramstyle={module.paramstyle}")
    print("asyncpg   (not DB-API: $1, $2 ... positional arguments)")
    with_psycopg2()
    with_psycopg3()
    asyncio.run(with_asyncpg())
    with_pymysql()
