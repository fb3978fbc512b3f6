"""select(), where/filter/filter_by, ordering, limiting and joins: the SQL and the rows."""

import os
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String, and_, create_engine, func, select
from sqlalchemy.exc import AmbiguousColumnError, InvalidRequestError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.sql import Select

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
engine = create_engine(POSTGRES_URL)


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_4_customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(4))
    orders: Mapped[list["Order"]] = relationship(back_populates="customer")

    def __repr__(self) -> str:
        return f"Customer({self.id}, {self.name!r}, {self.region})"


class Order(Base):
    __tablename__ = "s5_4_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("s5_4_customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    placed_on: Mapped[date]
    total: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))  # NULL until priced
    customer: Mapped[Customer] = relationship(back_populates="orders")


class Warehouse(Base):  # no foreign key to Customer: the ORM cannot guess a join
    __tablename__ = "s5_4_warehouses"
    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str] = mapped_column(String(4))


def seed(session: Session) -> None:
    names = [("Acme", "EU"), ("Globex", "US"), ("Initech", "EU"), ("Umbrella", "APAC")]
    names.append(("Hooli", "US"))  # Hooli never orders
    session.add_all(Customer(id=n, name=a, region=r) for n, (a, r) in enumerate(names, 1))
    rows = [
        (101, 1, "paid", date(2024, 1, 5), "120.00"),
        (102, 1, "refunded", date(2024, 1, 20), "80.00"),
        (103, 2, "paid", date(2024, 2, 2), "450.00"),
        (104, 2, "paid", date(2024, 2, 15), "450.00"),
        (105, 3, "pending", date(2024, 2, 20), None),
        (106, 4, "paid", date(2024, 3, 1), "300.00"),
        (107, 3, "paid", date(2024, 3, 3), "75.50"),
    ]
    for id_, customer_id, status, placed_on, total in rows:
        amount = Decimal(total) if total is not None else None  # None: not priced yet
        session.add(
            Order(id=id_, customer_id=customer_id, status=status, placed_on=placed_on, total=amount)
        )
    session.add_all([Warehouse(id=1, region="EU"), Warehouse(id=2, region="US")])
    session.commit()


def show(
    session: Session, title: str, stmt: Select[*tuple[Any, ...]], *, any_order: bool = False
) -> None:
    """Print the SQL as the PostgreSQL dialect compiles it, then the rows it returns."""
    print(f"-- {title}")
    print(stmt.compile(engine))
    rows = [tuple(row) for row in session.execute(stmt)]
    for row in sorted(rows) if any_order else rows:  # ties come back in no fixed order
        print("   ", row)


def basic_queries(session: Session) -> None:
    eu = select(Customer).where(Customer.region == "EU").filter(Customer.id > 1)
    show(session, "where() and filter() are the same method", eu)
    print("-- session.scalars() unwraps one-entity rows:", session.scalars(eu).all())
    print("-- str(stmt) uses a generic dialect, not the one that will run it:")
    print(" ".join(str(eu).split()))
    us_paid = select(Order.id).join(Order.customer).filter_by(region="US", status="paid")
    show(session, "filter_by(): keyword equality, searched in every FROM entity (2.1)", us_paid)
    try:
        select(Order.id).join(Order.customer).filter_by(id=3)
    except AmbiguousColumnError as exc:
        print(f"-- filter_by(id=3) with two entities that have an id:\n    {exc}")


def ordering_and_limits(session: Session) -> None:
    largest_first = Order.total.desc().nulls_last()
    page = select(Order.id, Order.total).order_by(largest_first, Order.id).limit(2).offset(1)
    show(session, "ORDER BY ... NULLS LAST with a unique tie-breaker, LIMIT/OFFSET", page)
    top = select(Order.id, Order.total).order_by(largest_first).fetch(1, with_ties=True)
    show(session, "FETCH FIRST 1 ROWS WITH TIES returns both 450.00 orders", top, any_order=True)


def joins(session: Session) -> None:
    inner = select(Customer.name, Order.id).join(Customer.orders).order_by(Order.id).limit(3)
    show(session, "inner join along the relationship", inner)
    paid_orders = func.count(Order.id).label("paid_orders")
    in_where = (
        select(Customer.name, paid_orders)
        .outerjoin(Customer.orders)
        .where(Order.status == "paid")
        .group_by(Customer.name)
        .order_by(Customer.name)
    )
    show(session, "LEFT JOIN, but WHERE on the right side drops Hooli", in_where)
    in_on = (
        select(Customer.name, paid_orders)
        .outerjoin(Order, and_(Order.customer_id == Customer.id, Order.status == "paid"))
        .group_by(Customer.name)
        .order_by(Customer.name)
    )
    show(session, "LEFT JOIN with the condition in ON keeps Hooli", in_on)
    try:
        session.execute(select(Customer.name).join(Warehouse))
    except InvalidRequestError as exc:
        print(f"-- join() with no foreign key to follow:\n    {exc}")
    explicit = (
        select(Customer.name, Warehouse.id)
        .join(Warehouse, Warehouse.region == Customer.region)
        .order_by(Customer.name)
    )
    show(session, "an explicit ON clause makes any join possible", explicit)


def main() -> None:
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            seed(session)
            basic_queries(session)
            ordering_and_limits(session)
            joins(session)
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
