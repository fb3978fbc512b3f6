"""raiseload turns a hidden lazy load into an error; noload silently returns wrong data."""

import os
import warnings
from collections.abc import Callable

from sqlalchemy import Engine, ForeignKey, String, create_engine, event, exc, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    noload,
    raiseload,
    relationship,
    selectinload,
)
from sqlalchemy.orm.exc import DetachedInstanceError

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_6_raise_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # Mapping-level guard: every query must ask for this collection explicitly.
    orders: Mapped[list["Order"]] = relationship(
        back_populates="customer", lazy="raise", order_by="Order.id"
    )


class Order(Base):
    __tablename__ = "s5_6_raise_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey(Customer.id), index=True)
    reference: Mapped[str] = mapped_column(String(20))
    customer: Mapped[Customer] = relationship(back_populates="orders")  # default: lazy="select"


def attempt(label: str, read: Callable[[], object]) -> None:
    """Print what reading an attribute gives, or the error it raises."""
    try:
        print(f"   {label}: {read()}")
    except (exc.InvalidRequestError, DetachedInstanceError) as error:
        print(f"   {label}: {type(error).__name__}: {error}")


def main() -> None:
    engine: Engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    try:
        with Session(engine) as session:
            session.add(Customer(name="Acme", orders=[Order(reference=f"ACM-{i}") for i in (1, 2)]))
            session.commit()

        print("1. lazy='raise' on the mapping, and selectinload() lifting it for one query")
        with Session(engine) as session:
            acme = session.scalars(select(Customer)).one()
            attempt("customer.orders", lambda: acme.orders)
            acme = session.scalars(select(Customer).options(selectinload(Customer.orders))).one()
            attempt("with selectinload", lambda: [order.reference for order in acme.orders])

        print("2. raiseload('*'): everything not named in the query raises")
        with Session(engine) as session:
            stmt = select(Order).options(raiseload("*")).order_by(Order.id).limit(1)
            order = session.scalars(stmt).one()
            attempt("order.customer", lambda: order.customer)

        print("3. raiseload(sql_only=True) allows identity-map hits, which are weak references")
        with Session(engine) as session:
            stmt = select(Order).options(raiseload(Order.customer, sql_only=True)).limit(1)
            order = session.scalars(stmt).one()
            session.get(Customer, order.customer_id)  # loaded, but nobody keeps a reference
            attempt("customer discarded", lambda: order.customer)
            kept = session.get(Customer, order.customer_id)
            attempt("customer kept", lambda: order.customer.name)
            del kept

        print("4. a lazy load after the session has closed")
        with Session(engine) as session:
            order = session.scalars(select(Order).limit(1)).one()
        attempt("detached order.customer", lambda: order.customer)

        print("5. noload(): deprecated in SQLAlchemy 2.1, and the answer is wrong")
        with warnings.catch_warnings(record=True) as caught, Session(engine) as session:
            warnings.simplefilter("always")
            sent.clear()
            acme = session.scalars(select(Customer).options(noload(Customer.orders))).one()
            attempt("acme.orders", lambda: acme.orders)
            print(f"   statements sent: {len(sent)}")
            for warning in caught:
                print(f"   {warning.category.__name__}: {warning.message}")
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
