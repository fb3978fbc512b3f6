"""The SQL that joinedload, subqueryload and selectinload send for the same paginated query."""

import os
from typing import Any

from sqlalchemy import Engine, ForeignKey, String, create_engine, event, exc, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    joinedload,
    mapped_column,
    relationship,
    selectinload,
    subqueryload,
)
from sqlalchemy.orm.interfaces import LoaderOption

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_6_eager_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    orders: Mapped[list["Order"]] = relationship(order_by="Order.id")


class Order(Base):
    __tablename__ = "s5_6_eager_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey(Customer.id), index=True)
    reference: Mapped[str] = mapped_column(String(20))


class RowCounter:
    """Prints each statement with the number of rows it brought back over the wire."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.statements, self.rows = engine, 0, 0

    def _after(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        self.statements += 1
        self.rows += cursor.rowcount
        print(f"   SQL ({cursor.rowcount} rows): {' '.join(statement.split())}")

    def __enter__(self) -> "RowCounter":
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc_info: object) -> None:
        event.remove(self.engine, "after_cursor_execute", self._after)
        print(f"   -> {self.statements} statements, {self.rows} rows")


def first_page(engine: Engine, label: str, option: LoaderOption) -> None:
    print(f"{label}: the 2 first customers by name, with their orders")
    stmt = select(Customer).order_by(Customer.name).limit(2).options(option)
    with Session(engine) as session, RowCounter(engine):
        for customer in session.scalars(stmt).unique():
            print(f"   {customer.name}: {[order.reference for order in customer.orders]}")


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            for name in ["Umbrella", "Acme", "Initech", "Globex"]:
                refs = [f"{name[:3].upper()}-{i}" for i in (1, 2, 3)]
                session.add(Customer(name=name, orders=[Order(reference=r) for r in refs]))
            session.commit()

        first_page(engine, "joinedload", joinedload(Customer.orders))
        first_page(engine, "subqueryload", subqueryload(Customer.orders))
        first_page(engine, "selectinload", selectinload(Customer.orders))

        print("joinedload on a collection without .unique():")
        with Session(engine) as session:
            try:
                session.scalars(select(Customer).options(joinedload(Customer.orders))).all()
            except exc.InvalidRequestError as error:
                print(f"   {type(error).__name__}: {error}")

        print("streaming with yield_per and subqueryload:")
        with Session(engine) as session:
            stmt = select(Customer).options(subqueryload(Customer.orders))
            try:
                session.scalars(stmt.execution_options(yield_per=100)).all()
            except exc.InvalidRequestError as error:
                print(f"   {type(error).__name__}: {error}")
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
