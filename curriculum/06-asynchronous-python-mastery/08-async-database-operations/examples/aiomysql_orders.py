"""aiomysql against MariaDB: a pool, explicit transactions, what the pool does with a connection
that was never committed, and how executemany() turns 500 rows into one INSERT statement."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import warnings
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomysql  # type: ignore[import-untyped]  # aiomysql 0.3 ships no type hints

MYSQL_URL = os.environ.get(
    "PYMASTERY_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/pymastery_examples"
)
log = logging.getLogger("orders.mysql")

SCHEMA = [
    "DROP TABLE IF EXISTS s6_8_my_order_lines, s6_8_my_orders",
    """CREATE TABLE s6_8_my_orders (
        id BIGINT AUTO_INCREMENT PRIMARY KEY,
        tenant VARCHAR(40) NOT NULL,
        number VARCHAR(20) NOT NULL UNIQUE
    ) ENGINE=InnoDB""",
    """CREATE TABLE s6_8_my_order_lines (
        order_id BIGINT NOT NULL,
        sku VARCHAR(20) NOT NULL,
        quantity INT NOT NULL CHECK (quantity > 0),
        unit_price DECIMAL(10, 2) NOT NULL,
        FOREIGN KEY (order_id) REFERENCES s6_8_my_orders (id) ON DELETE CASCADE
    ) ENGINE=InnoDB""",
]


def connection_options(url: str) -> dict[str, Any]:
    """aiomysql takes keyword arguments, not a URL: pull them out of the SQLAlchemy-style URL."""
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "db": parts.path.lstrip("/"),
    }


async def place_order(
    pool: Any, tenant: str, number: str, lines: list[tuple[str, int, str]]
) -> int:
    """Insert an order and its lines in one transaction; return the order id."""
    async with pool.acquire() as conn:
        await conn.begin()
        try:
            async with conn.cursor() as cur:
                await cur.execute(
                    "INSERT INTO s6_8_my_orders (tenant, number) VALUES (%s, %s)", (tenant, number)
                )
                order_id = int(cur.lastrowid)
                await cur.executemany(
                    "INSERT INTO s6_8_my_order_lines (order_id, sku, quantity, unit_price)"
                    " VALUES (%s, %s, %s, %s)",
                    [(order_id, sku, quantity, Decimal(price)) for sku, quantity, price in lines],
                )
            await conn.commit()
        except BaseException:
            await conn.rollback()
            raise
    log.info("placed order %s with %d lines", number, len(lines))
    return order_id


async def count_rows(pool: Any, table: str) -> int:
    async with pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute(f"SELECT count(*) FROM {table}")
        (count,) = await cur.fetchone()
        await conn.commit()  # end the read's transaction before the connection goes back
        return int(count)


async def session_statements(cur: Any, name: str) -> int:
    await cur.execute("SHOW SESSION STATUS LIKE %s", (name,))
    _, value = await cur.fetchone()
    return int(value)


async def main() -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stdout, format="   %(levelname)s %(name)s: %(message)s"
    )
    # DROP TABLE IF EXISTS on a missing table makes the server send a note; keep it quiet.
    warnings.filterwarnings("ignore", message="Unknown table")
    pool = await aiomysql.create_pool(
        minsize=1, maxsize=3, autocommit=False, **connection_options(MYSQL_URL)
    )
    try:
        async with pool.acquire() as conn, conn.cursor() as cur:
            for statement in SCHEMA:
                await cur.execute(statement)
        print(f"1. Pool: size {pool.size}, free {pool.freesize}, maxsize {pool.maxsize}")

        print("\n2. A transaction, then a DictCursor")
        await place_order(pool, "acme", "ORD-2001", [("SKU-1", 2, "19.99"), ("SKU-2", 1, "5.50")])
        try:
            await place_order(pool, "acme", "ORD-2002", [("SKU-1", 1, "10.00"), ("SKU-2", 0, "3")])
        except aiomysql.OperationalError as error:
            code, message = error.args
            print(f"   rejected: OperationalError {code}, {message.split(' failed')[0]} failed")
        print(f"   orders stored: {await count_rows(pool, 's6_8_my_orders')}")
        async with pool.acquire() as conn, conn.cursor(aiomysql.DictCursor) as cur:
            await cur.execute(
                "SELECT o.number, sum(l.quantity * l.unit_price) AS total, count(*) AS line_count"
                " FROM s6_8_my_orders o JOIN s6_8_my_order_lines l ON l.order_id = o.id"
                " GROUP BY o.id"
            )
            for row in await cur.fetchall():
                print("   " + ", ".join(f"{k}={v!r}" for k, v in row.items()))
            await conn.commit()

        print("\n3. A write that nobody committed")
        async with pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute(
                "INSERT INTO s6_8_my_orders (tenant, number) VALUES ('acme', 'ORD-2003')"
            )
            in_transaction = conn.get_transaction_status()
            print(f"   inside: rowcount {cur.rowcount}, in transaction {in_transaction}")
        print(f"   after release: pool size {pool.size}, free {pool.freesize}")
        print(f"   orders stored: {await count_rows(pool, 's6_8_my_orders')} (ORD-2003 is gone)")

        print("\n4. executemany() and the statements the server counts")
        async with pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute("SELECT id FROM s6_8_my_orders WHERE number = 'ORD-2001'")
            (order_id,) = await cur.fetchone()
            rows = [(order_id, f"SKU-{i:03}", 1, Decimal("1.00")) for i in range(500)]
            insert = (
                "INSERT INTO s6_8_my_order_lines (order_id, sku, quantity, unit_price)"
                " VALUES (%s, %s, %s, %s)"
            )
            before = await session_statements(cur, "Com_insert")
            await cur.executemany(insert, rows)
            batched = await session_statements(cur, "Com_insert") - before
            before = await session_statements(cur, "Com_insert")
            for row in rows:
                await cur.execute(insert, row)
            looped = await session_statements(cur, "Com_insert") - before
            await conn.rollback()
        print(f"   executemany, 500 rows: {batched} INSERT statement(s)")
        print(f"   execute in a loop, 500 rows: {looped} INSERT statement(s)")

        async with pool.acquire() as conn, conn.cursor() as cur:
            await cur.execute("DROP TABLE s6_8_my_order_lines, s6_8_my_orders")
    finally:
        pool.close()
        await pool.wait_closed()
    print("\npool closed")


if __name__ == "__main__":
    asyncio.run(main())
