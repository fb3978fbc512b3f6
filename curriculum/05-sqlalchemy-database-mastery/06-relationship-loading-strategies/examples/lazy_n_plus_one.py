"""The N+1 problem, statement by statement: lazy loading, the identity map, and the fix."""

import os
from typing import Any

from sqlalchemy import Engine, ForeignKey, String, create_engine, event, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
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
    __tablename__ = "s5_6_lazy_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # No lazy= argument: the default is lazy="select", one SELECT per parent on first access.
    orders: Mapped[list["Order"]] = relationship(back_populates="customer", order_by="Order.id")


class Order(Base):
    __tablename__ = "s5_6_lazy_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey(Customer.id), index=True)
    reference: Mapped[str] = mapped_column(String(20))
    customer: Mapped[Customer] = relationship(back_populates="orders")


class StatementLog:
    """Counts every statement the engine sends and prints it on one line."""

    def __init__(self, engine: Engine, echo: bool = True) -> None:
        self.engine, self.echo, self.count = engine, echo, 0

    def _on_execute(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        self.count += 1
        if self.echo:
            print(f"   SQL {self.count}: {' '.join(statement.split())} {params}")

    def __enter__(self) -> "StatementLog":
        event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_execute)
        print(f"   -> {self.count} statements")


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            for n, name in enumerate(["Acme", "Globex", "Initech", "Umbrella"], start=1):
                refs = [f"{name[:3].upper()}-{i}" for i in range(1, n + 1)]
                session.add(Customer(name=name, orders=[Order(reference=r) for r in refs]))
            session.commit()

        print("1. one-to-many, default lazy loading: 1 query for customers + 1 per customer")
        with Session(engine) as session, StatementLog(engine):
            for customer in session.scalars(select(Customer).order_by(Customer.id)):
                print(f"   {customer.name}: {len(customer.orders)} order(s)")

        print("2. many-to-one, lazy: the identity map answers repeats without SQL")
        with Session(engine) as session, StatementLog(engine):
            for order in session.scalars(select(Order).order_by(Order.id)):
                print(f"   {order.reference} -> {order.customer.name}")

        print("3. the same report as step 1 with selectinload: always 2 statements")
        with Session(engine) as session, StatementLog(engine):
            stmt = select(Customer).order_by(Customer.id).options(selectinload(Customer.orders))
            customers = session.scalars(stmt).all()
            print(f"   {[(c.name, len(c.orders)) for c in customers]}")

        print("4. commit() expires every loaded object: touching them again is N+1 once more")
        with Session(engine) as session:
            customers = session.scalars(stmt).all()
            session.commit()  # expire_on_commit=True is the default
            with StatementLog(engine, echo=False):
                print(f"   {[(c.name, len(c.orders)) for c in customers]}")
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
