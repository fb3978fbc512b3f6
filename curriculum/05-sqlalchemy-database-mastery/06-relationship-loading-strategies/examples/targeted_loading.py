"""Load less: contains_eager, criteria on a loader, load_only on related rows, IN chunking."""

import os
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, ForeignKey, String, create_engine, event, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    contains_eager,
    mapped_column,
    relationship,
    selectinload,
)

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_6_target_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    orders: Mapped[list["Order"]] = relationship(order_by="Order.id")


class Order(Base):
    __tablename__ = "s5_6_target_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey(Customer.id), index=True)
    reference: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    shipping_address: Mapped[str] = mapped_column(String(300))


def show_sql(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
    print(f"   SQL: {' '.join(statement.split())} {params}")


def order_refs(customers: Iterable["Customer"]) -> str:
    """Each customer with the references now in its orders collection."""
    return "; ".join(f"{c.name}: {[o.reference for o in c.orders]}" for c in customers)


def main() -> None:
    engine: Engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            for name in ["Acme", "Globex", "Initech", "Umbrella", "Vandelay"]:
                orders = [
                    Order(
                        reference=f"{name[:3].upper()}-{i}",
                        status=status,
                        shipping_address="1 Main St",
                    )
                    for i, status in enumerate(["open", "shipped", "open"], start=1)
                ]
                session.add(Customer(name=name, orders=orders))
            session.commit()
        event.listen(engine, "before_cursor_execute", show_sql)
        only_open = Order.status == "open"

        print("1. contains_eager: filter in your own JOIN, fill the collection from it")
        stmt = (
            select(Customer)
            .join(Customer.orders)
            .where(only_open, Customer.name.in_(["Acme", "Globex"]))
            .options(contains_eager(Customer.orders))
            .order_by(Customer.id, Order.id)
        )
        with Session(engine) as session:
            acme = session.scalars(select(Customer).where(Customer.name == "Acme")).one()
            print(f"   already loaded: {order_refs([acme])}")
            print(f"   contains_eager: {order_refs(session.scalars(stmt).unique())}")
            print("   the same with populate_existing=True:")
            fresh = session.scalars(stmt.execution_options(populate_existing=True)).unique()
            print(f"   contains_eager: {order_refs(fresh)}")

        print("2. criteria on the loader itself: Customer.orders.and_(...)")
        stmt = (
            select(Customer)
            .where(Customer.id <= 2)
            .options(selectinload(Customer.orders.and_(only_open)).load_only(Order.reference))
        )
        with Session(engine) as session:
            print(f"   {order_refs(session.scalars(stmt))}")

        print("3. selectinload(chunksize=2): at most 2 parent keys per IN list")
        stmt = (
            select(Customer)
            .order_by(Customer.id)
            .options(selectinload(Customer.orders, chunksize=2).load_only(Order.reference))
        )
        with Session(engine) as session:
            print(f"   loaded {sum(len(c.orders) for c in session.scalars(stmt))} orders")
    finally:
        if event.contains(engine, "before_cursor_execute", show_sql):
            event.remove(engine, "before_cursor_execute", show_sql)
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
