"""Under AsyncSession an implicit lazy load cannot run: the loader choice becomes compulsory."""

import asyncio
import os

from sqlalchemy import ForeignKey, String, exc, make_url, select
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


class Base(AsyncAttrs, DeclarativeBase):  # AsyncAttrs adds obj.awaitable_attrs
    pass


class Customer(Base):
    __tablename__ = "s5_6_async_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    orders: Mapped[list["Order"]] = relationship(order_by="Order.id")  # lazy="select"


class Order(Base):
    __tablename__ = "s5_6_async_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey(Customer.id), index=True)
    reference: Mapped[str] = mapped_column(String(20))


async def read_orders_implicitly(engine: AsyncEngine, label: str) -> None:
    """What a serializer does: touch customer.orders as if it were plain data."""
    async with AsyncSession(engine) as session:
        acme = (await session.scalars(select(Customer))).one()
        try:
            print(f"   {label}: {[order.reference for order in acme.orders]}")
        except exc.StatementError as error:  # psycopg wraps it: the SQL had been built
            print(f"   {label}: {type(error).__name__}: {str(error).splitlines()[0]}")
        except exc.MissingGreenlet as error:
            print(f"   {label}: {type(error).__name__}: {error}")


async def main() -> None:
    engine = create_async_engine(POSTGRES_URL)  # postgresql+psycopg selects psycopg's async mode
    asyncpg_engine = create_async_engine(
        make_url(POSTGRES_URL).set(drivername="postgresql+asyncpg")
    )
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
            await conn.run_sync(Base.metadata.create_all)
        async with AsyncSession(engine) as session:
            session.add(Customer(name="Acme", orders=[Order(reference="ACM-1")]))
            await session.commit()

        print("1. customer.orders read without a loader option")
        await read_orders_implicitly(asyncpg_engine, "asyncpg")
        await read_orders_implicitly(engine, "psycopg")

        print("2. the fixes: load it in the query, or await the load explicitly")
        # The usual async setting: after a commit, reading an expired attribute is IO too.
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with sessions() as session:
            stmt = select(Customer).options(selectinload(Customer.orders))
            acme = (await session.scalars(stmt)).one()
            print(f"   selectinload: {[order.reference for order in acme.orders]}")
        async with sessions() as session:
            acme = (await session.scalars(select(Customer))).one()
            orders = await acme.awaitable_attrs.orders  # one awaited lazy load, still N+1 in a loop
            print(f"   awaitable_attrs: {[order.reference for order in orders]}")
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)
        await asyncpg_engine.dispose()
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
