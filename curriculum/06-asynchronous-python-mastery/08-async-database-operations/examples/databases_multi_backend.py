"""The `databases` library (0.9) on SQLAlchemy 2.1: one invoice repository run unchanged against
PostgreSQL (asyncpg underneath) and MariaDB (aiomysql underneath), and the places where the
abstraction leaks: return values, child tasks inside a transaction, and execute_many().
"""

from __future__ import annotations

import asyncio
import os
import warnings
from decimal import Decimal
from importlib.metadata import version
from typing import Any

import sqlalchemy as sa
from databases import Database
from databases.core import Connection
from sqlalchemy.schema import CreateTable, DropTable

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
MYSQL_URL = os.environ.get(
    "PYMASTERY_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/pymastery_examples"
)
BACKENDS = {
    "PostgreSQL": POSTGRES_URL.replace("postgresql+psycopg://", "postgresql+asyncpg://"),
    "MariaDB": MYSQL_URL.replace("mysql+pymysql://", "mysql+aiomysql://"),
}

metadata = sa.MetaData()
invoices = sa.Table(
    "s6_8_db_invoices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.String(40), nullable=False),
    sa.Column("number", sa.String(20), nullable=False, unique=True),
    sa.Column("total", sa.Numeric(10, 2), nullable=False),
    sa.Column("paid", sa.Boolean, nullable=False, default=False),
)


async def reset_schema(db: Database) -> None:
    await db.execute("DROP TABLE IF EXISTS s6_8_db_invoices")
    await db.execute(CreateTable(invoices))  # DDL compiled by the backend's own dialect


async def statement_counter(db: Database) -> Any:
    """A callable returning how many statements this task's connection has sent so far."""
    raw = db.connection().raw_connection
    if db.url.dialect == "postgresql":
        sent: list[str] = []
        raw.add_query_logger(lambda record: sent.append(record.query))

        async def postgres_count() -> int:
            await asyncio.sleep(0)  # asyncpg calls query loggers with call_soon()
            return len(sent)

        return postgres_count

    async def mysql_count() -> int:
        async with raw.cursor() as cur:
            await cur.execute("SHOW SESSION STATUS LIKE 'Com_insert'")
            _, value = await cur.fetchone()
            return int(value)

    return mysql_count


def invoice(number: str, total: int, tenant: str = "acme") -> dict[str, Any]:
    return {"tenant": tenant, "number": number, "total": Decimal(total), "paid": False}


async def crud(db: Database) -> None:
    new_id = await db.execute(invoices.insert(), invoice("INV-1", 120))
    print(f"   execute(insert) returned {new_id!r}")
    try:  # `paid` has a Python-side default=False in the Table
        await db.execute(invoices.insert(), {"tenant": "acme", "number": "INV-0", "total": 1})
        print("   insert without `paid`: the column default was applied")
    except Exception as error:
        print(f"   insert without `paid`: {type(error).__name__}, the default was not applied")
    await db.execute_many(invoices.insert(), [invoice(f"INV-{n}", n * 10) for n in range(2, 6)])
    changed = await db.execute(invoices.update().where(invoices.c.total >= 40).values(paid=True))
    print(f"   execute(update) returned {changed!r}")
    query = (
        sa.select(
            invoices.c.paid,
            sa.func.count().label("invoices"),
            sa.func.sum(invoices.c.total).label("amount"),
        )
        .group_by(invoices.c.paid)
        .order_by(invoices.c.paid)
    )
    for row in await db.fetch_all(query):
        print(f"   paid={row['paid']!r:<5} invoices={row['invoices']} amount={row['amount']!r}")


async def transactions(db: Database) -> None:
    try:
        async with db.transaction():
            await db.execute(invoices.delete())
            raise RuntimeError("abort the purge")
    except RuntimeError:
        pass
    count = await db.fetch_val(sa.select(sa.func.count()).select_from(invoices))
    print(f"   after a rolled-back purge: {count} invoices")

    async with db.transaction():
        await db.execute(invoices.update().where(invoices.c.number == "INV-1").values(paid=True))
        try:
            async with db.transaction():  # nested: a SAVEPOINT on the same connection
                await db.execute(invoices.insert(), invoice("INV-1", 1))
        except Exception as error:  # the driver's own IntegrityError: there is no common type
            print(f"   savepoint rolled back: {type(error).__module__}.{type(error).__name__}")
    paid = await db.fetch_val(sa.select(invoices.c.paid).where(invoices.c.number == "INV-1"))
    print(f"   outer transaction committed: INV-1 paid={paid!r}")


async def insert_child(target: Database | Connection) -> None:
    await target.execute(invoices.insert(), invoice("G-CHILD", 1, tenant="globex"))


async def child_task_in_transaction(db: Database, pass_connection: bool) -> None:
    try:
        async with db.transaction():
            conn = db.connection()  # this task's connection, the one in the transaction
            await conn.execute(invoices.insert(), invoice("G-PARENT", 1, tenant="globex"))
            async with asyncio.TaskGroup() as group:
                # db.execute() in the child task checks out that task's own connection
                group.create_task(insert_child(conn if pass_connection else db))
            raise RuntimeError("roll the whole batch back")
    except RuntimeError:
        pass
    left = await db.fetch_all(sa.select(invoices.c.number).where(invoices.c.tenant == "globex"))
    how = "connection passed to the child" if pass_connection else "child calls db.execute()"
    print(f"   {how}: left after rollback {[row['number'] for row in left]}")
    await db.execute(invoices.delete().where(invoices.c.tenant == "globex"))


async def execute_many_round_trips(db: Database) -> None:
    async with db.connection():  # pin one connection to this task for the whole block
        count = await statement_counter(db)
        before = await count()
        rows = [invoice(f"B-{n}", n, tenant="initech") for n in range(50)]
        await db.execute_many(invoices.insert(), rows)
        print(f"   execute_many() of 50 rows sent {await count() - before} INSERT statements")


async def run_repository(name: str, url: str) -> None:
    print(f"\n== {name} ({url.split('://')[0]}) ==")
    async with Database(url, min_size=1, max_size=3) as db:
        await reset_schema(db)
        await crud(db)
        print("   -- transactions")
        await transactions(db)
        print("   -- a child task inside a transaction")
        await child_task_in_transaction(db, pass_connection=False)
        await child_task_in_transaction(db, pass_connection=True)
        print("   -- execute_many() round trips")
        await execute_many_round_trips(db)
        await db.execute(DropTable(invoices))


async def main() -> None:
    warnings.filterwarnings("ignore", message="Unknown table")  # MariaDB's note on DROP IF EXISTS
    print(f"databases {version('databases')} with SQLAlchemy {sa.__version__}")
    for name, url in BACKENDS.items():
        await run_repository(name, url)


if __name__ == "__main__":
    asyncio.run(main())
