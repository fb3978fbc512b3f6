"""Window functions with .over(): ranking, top-N per group, running totals, frames, lag()."""

import os
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String, cast, create_engine, func, select
from sqlalchemy.exc import DataError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
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


class Order(Base):
    __tablename__ = "s5_4_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("s5_4_customers.id"), index=True)
    placed_on: Mapped[date]
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))


def seed(session: Session) -> None:
    customers = [
        (1, "Acme", "EU"),
        (2, "Globex", "US"),
        (3, "Initech", "EU"),
        (4, "Umbrella", "US"),
    ]
    session.add_all(Customer(id=i, name=n, region=r) for i, n, r in customers)
    session.flush()
    orders = [
        (101, 1, date(2024, 1, 5), "120.00"),
        (102, 1, date(2024, 1, 20), "80.00"),
        (103, 2, date(2024, 2, 2), "450.00"),
        (104, 2, date(2024, 2, 15), "450.00"),
        (105, 2, date(2024, 2, 15), "50.00"),  # same day as 104
        (106, 4, date(2024, 3, 1), "300.00"),
        (107, 3, date(2024, 3, 3), "75.50"),
    ]
    session.add_all(
        Order(id=i, customer_id=c, placed_on=d, total=Decimal(t)) for i, c, d, t in orders
    )
    session.commit()


def show(session: Session, title: str, stmt: Select[*tuple[Any, ...]], sql: bool = False) -> None:
    print(f"-- {title}")
    if sql:
        print(stmt.compile(engine))
    for row in session.execute(stmt):
        print("   ", tuple(row))


def ranking(session: Session) -> None:
    by_total = Order.total.desc()
    ranks = select(
        Order.id,
        Order.total,
        func.row_number().over(order_by=(by_total, Order.id)).label("row_number"),
        func.rank().over(order_by=by_total).label("rank"),
        func.dense_rank().over(order_by=by_total).label("dense_rank"),
    ).order_by(by_total, Order.id)
    show(session, "row_number, rank and dense_rank on a tie (450.00 twice)", ranks, sql=True)

    position = (
        func.row_number()
        .over(partition_by=Customer.region, order_by=(Order.total.desc(), Order.id))
        .label("position")
    )
    try:
        session.execute(select(Order.id).join(Customer).where(position <= 2))
    except ProgrammingError as exc:
        print(f"-- filtering on a window in WHERE:\n    {str(exc.orig).splitlines()[0]}")
        session.rollback()
    ranked = (
        select(Customer.region, Customer.name, Order.id, Order.total, position)
        .join(Customer, Order.customer_id == Customer.id)
        .subquery("ranked")
    )
    top_two = (
        select(ranked.c.region, ranked.c.name, ranked.c.id, ranked.c.total)
        .where(ranked.c.position <= 2)
        .order_by(ranked.c.region, ranked.c.position)
    )
    show(
        session, "top two orders per region: rank in a subquery, filter outside", top_two, sql=True
    )


def running_totals(session: Session) -> None:
    stmt = (
        select(
            Order.id,
            Order.placed_on,
            Order.total,
            func.sum(Order.total)
            .over(partition_by=Order.customer_id, order_by=Order.placed_on)
            .label("default_frame"),
            func.sum(Order.total)
            .over(
                partition_by=Order.customer_id,
                order_by=(Order.placed_on, Order.id),
                rows=(None, 0),
            )
            .label("rows_frame"),
            (
                Order.total
                - func.lag(Order.total).over(partition_by=Order.customer_id, order_by=Order.id)
            ).label("vs_previous"),
        )
        .where(Order.customer_id == 2)
        .order_by(Order.placed_on, Order.id)
    )
    show(session, "running totals: the default RANGE frame lumps same-day orders", stmt, sql=True)


def windows_over_groups(session: Session) -> None:
    month = func.date_trunc("month", Order.placed_on)
    revenue = func.sum(Order.total)
    monthly = (
        select(
            func.to_char(month, "YYYY-MM").label("month"),
            revenue.label("revenue"),
            func.sum(revenue).over(order_by=month).label("year_to_date"),
            (revenue - func.lag(revenue).over(order_by=month)).label("change"),
        )
        .group_by(month)
        .order_by(month)
    )
    show(session, "windows run after GROUP BY, so they can wrap aggregates", monthly, sql=True)


def share_of_total(session: Session) -> None:
    """`/` casts its right side to that side's type on PostgreSQL: here NUMERIC(10, 2)."""
    session.add(Order(id=108, customer_id=4, placed_on=date(2024, 3, 9), total=Decimal("99999999")))
    session.commit()  # a yen-denominated tenant: the grand total now passes 10**8
    naive = Order.total / func.sum(Order.total).over()
    safe = Order.total / cast(func.sum(Order.total).over(), Numeric)
    for label, share in (("inherits NUMERIC(10, 2)", naive), ("cast to NUMERIC", safe)):
        # LIMIT runs after the window; WHERE id = 101 would shrink the window to one row
        stmt = select(Order.id, func.round(100 * share, 4)).order_by(Order.id).limit(1)
        try:
            print(f"-- share of total, divisor {label}:", session.execute(stmt).one())
        except DataError as exc:
            print(f"-- share of total, divisor {label}:\n    {exc.orig}")
            session.rollback()


def main() -> None:
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            seed(session)
            ranking(session)
            running_totals(session)
            windows_over_groups(session)
            share_of_total(session)
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
