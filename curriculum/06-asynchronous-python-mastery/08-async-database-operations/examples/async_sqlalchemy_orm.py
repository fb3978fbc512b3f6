"""Async SQLAlchemy 2.1 on asyncpg: AsyncEngine, async_sessionmaker and AsyncSession with the
typed ORM; the two MissingGreenlet traps and their fixes; one session per task; a savepoint;
streaming; and how many statements a bulk insert costs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String, event, func, insert, select, text
from sqlalchemy.exc import IntegrityError, MissingGreenlet
from sqlalchemy.ext.asyncio import (
    AsyncAttrs,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
ASYNC_URL = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql+asyncpg://")
log = logging.getLogger("orders.orm")


class Base(AsyncAttrs, DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s6_8_sa_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    orders: Mapped[list[Order]] = relationship(back_populates="customer")


class Order(Base):
    __tablename__ = "s6_8_sa_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("s6_8_sa_customers.id"))
    number: Mapped[str] = mapped_column(String(20), unique=True)
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    customer: Mapped[Customer] = relationship(back_populates="orders")


class StatementLog:
    """Counts the statements the engine sends (executemany counts once)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.statements: list[str] = []
        event.listen(engine.sync_engine, "before_cursor_execute", self.record)

    def record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement.split("(")[0].split(" FROM ")[0].strip())

    def take(self) -> list[str]:
        taken, self.statements = self.statements, []
        return taken


async def greenlet_traps(engine: AsyncEngine) -> None:
    print("\n2. MissingGreenlet, twice")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session:
        customer = await session.scalar(select(Customer).where(Customer.name == "Acme"))
        assert customer is not None
        try:
            print(len(customer.orders))  # a lazy load would need a blocking round trip here
        except MissingGreenlet:
            print("   customer.orders without a loader option: MissingGreenlet")
        orders = await customer.awaitable_attrs.orders
        print(f"   await customer.awaitable_attrs.orders: {len(orders)} orders")
        loaded = await session.scalar(
            select(Customer).where(Customer.name == "Acme").options(selectinload(Customer.orders))
        )
        assert loaded is not None
        print(f"   with selectinload(): {sorted(o.number for o in loaded.orders)}")

    expiring = async_sessionmaker(engine)  # expire_on_commit=True, the sync default
    async with expiring() as session:
        order = await session.scalar(select(Order).where(Order.number == "ORD-1"))
        assert order is not None
        order.total = Decimal("99.00")
        await session.commit()
        try:
            print(order.total)
        except MissingGreenlet:
            print(
                "   reading order.total after commit() with expire_on_commit=True: MissingGreenlet"
            )
        await session.refresh(order)
        print(f"   after await session.refresh(order): {order.total}")


async def one_session_per_task(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    print("\n3. One session per task")

    async def invoice_total(customer: str) -> tuple[str, Decimal]:
        async with sessions() as session:  # each task owns its session and connection
            total = await session.scalar(
                select(func.sum(Order.total)).join(Order.customer).where(Customer.name == customer)
            )
            await asyncio.sleep(0.05)  # stand-in for other awaits while the session is open
            return customer, total or Decimal("0.00")  # SUM over no rows is NULL

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(invoice_total(name)) for name in ("Acme", "Globex", "Initech")]
    for task in tasks:
        name, total = task.result()
        print(f"   {name:<8} {total}")
    print(f"   pool afterwards: {engine.pool.status()}")


async def savepoint(sessions: async_sessionmaker[AsyncSession]) -> None:
    print("\n4. A savepoint inside a unit of work")
    async with sessions.begin() as session:
        customer = await session.scalar(select(Customer).where(Customer.name == "Globex"))
        assert customer is not None
        session.add(Order(customer=customer, number="ORD-20", total=Decimal("20.00")))
        try:
            async with session.begin_nested():  # SAVEPOINT
                session.add(Order(customer=customer, number="ORD-1", total=Decimal("1.00")))
        except IntegrityError as error:
            log.warning("duplicate order skipped: %s", type(error.orig).__name__)
    async with sessions() as session:
        numbers = await session.scalars(
            select(Order.number).join(Order.customer).where(Customer.name == "Globex")
        )
        print(f"   Globex orders after commit: {sorted(numbers)}")


async def bulk_and_stream(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], sql: StatementLog
) -> None:
    print("\n5. Bulk inserts and streaming")
    async with sessions.begin() as session:
        customer_id = await session.scalar(select(Customer.id).where(Customer.name == "Initech"))
        sql.take()
        await session.execute(
            insert(Order),
            [
                {"customer_id": customer_id, "number": f"B-{n:04}", "total": Decimal(n)}
                for n in range(1, 2001)
            ],
        )
        print(f"   insert(Order) with 2000 dicts: {len(sql.take())} statement (executemany)")
        session.add_all(
            Order(customer_id=customer_id, number=f"C-{n:04}", total=Decimal(n))
            for n in range(1, 2001)
        )
        await session.flush()
        print(f"   add_all() of 2000 objects: {len(sql.take())} batched INSERT ... RETURNING")

    async with sessions() as session:
        stream = await session.stream_scalars(
            select(Order).where(Order.number.like("B-%")).execution_options(yield_per=500)
        )
        count, amount = 0, Decimal(0)
        async for order in stream:
            count += 1
            amount += order.total
        print(f"   streamed {count} orders, 500 rows per fetch, total {amount}")

    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT count(*) FROM s6_8_sa_orders"))
        print(f"   Core on an AsyncConnection: {result.scalar_one()} orders in the table")


async def main() -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stdout, format="   %(levelname)s %(name)s: %(message)s"
    )
    engine = create_async_engine(ASYNC_URL, pool_size=5, max_overflow=0, pool_pre_ping=True)
    sql = StatementLog(engine)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)  # sync DDL helpers run via run_sync
            await conn.run_sync(Base.metadata.create_all)
        sessions = async_sessionmaker(engine, expire_on_commit=False)

        print("1. A unit of work")
        sql.take()
        async with sessions.begin() as session:
            catalogue = {
                "Acme": [("ORD-1", "10.00"), ("ORD-2", "25.00")],
                "Globex": [("ORD-3", "40.00")],
                "Initech": [],
            }
            for name, orders in catalogue.items():
                customer = Customer(name=name)
                customer.orders = [Order(number=n, total=Decimal(t)) for n, t in orders]
                session.add(customer)
        print(f"   statements: {sql.take()}")

        await greenlet_traps(engine)
        await one_session_per_task(engine, sessions)
        await savepoint(sessions)
        await bulk_and_stream(engine, sessions, sql)
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
        await engine.dispose()
    print("\nengine disposed")


if __name__ == "__main__":
    asyncio.run(main())
