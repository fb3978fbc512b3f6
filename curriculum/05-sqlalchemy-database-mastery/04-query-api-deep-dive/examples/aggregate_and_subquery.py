"""Aggregates, GROUP BY, HAVING, subqueries and CTEs (recursive too) on PostgreSQL."""

import os
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String, create_engine, func, literal, select
from sqlalchemy.exc import ProgrammingError
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
    referred_by_id: Mapped[int | None] = mapped_column(ForeignKey("s5_4_customers.id"))


class Order(Base):
    __tablename__ = "s5_4_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("s5_4_customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    placed_on: Mapped[date]
    total: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))


def seed(session: Session) -> None:
    # (id, name, region, referred by): Acme referred Globex and Initech; Initech referred Umbrella.
    people = [(1, "Acme", "EU", None), (2, "Globex", "US", 1), (3, "Initech", "EU", 1)]
    people += [(4, "Umbrella", "APAC", 3), (5, "Hooli", "US", None)]
    for id_, name, region, referrer in people:
        session.add(Customer(id=id_, name=name, region=region, referred_by_id=referrer))
    session.flush()  # customers exist before the orders that reference them
    orders = [
        (101, 1, "paid", date(2024, 1, 5), "120.00"),
        (102, 1, "refunded", date(2024, 1, 20), "80.00"),
        (103, 2, "paid", date(2024, 2, 2), "450.00"),
        (104, 2, "paid", date(2024, 2, 15), "450.00"),
        (105, 3, "pending", date(2024, 2, 20), None),
        (106, 4, "paid", date(2024, 3, 1), "300.00"),
        (107, 3, "paid", date(2024, 3, 3), "75.50"),
    ]
    for id_, customer_id, status, placed_on, total in orders:
        amount = Decimal(total) if total is not None else None  # None: not priced yet
        session.add(
            Order(id=id_, customer_id=customer_id, status=status, placed_on=placed_on, total=amount)
        )
    session.commit()


def show(session: Session, title: str, stmt: Select[*tuple[Any, ...]], sql: bool = True) -> None:
    print(f"-- {title}")
    if sql:
        print(stmt.compile(engine))
    for row in session.execute(stmt):
        print("   ", tuple(row))


def try_sql(session: Session, title: str, stmt: Select[*tuple[Any, ...]]) -> None:
    try:
        session.execute(stmt)
    except ProgrammingError as exc:
        print(f"-- {title}:\n    {type(exc.orig).__name__}: {str(exc.orig).splitlines()[0]}")
        session.rollback()  # the failed statement aborted the transaction


def aggregates(session: Session) -> None:
    overall = select(
        func.count().label("orders"),
        func.count(Order.total).label("priced"),
        func.sum(Order.total).label("revenue"),
        func.avg(Order.total).label("mean"),
        func.round(func.avg(Order.total), 2).label("mean_2dp"),
    )
    show(session, "count(*) counts rows, count(col) and avg() skip NULL", overall)
    by_region = (
        select(
            Customer.region,
            func.count(Order.id).label("orders"),
            func.count(Order.id).filter(Order.status == "refunded").label("refunds"),
            func.coalesce(func.sum(Order.total), 0).label("revenue"),
        )
        .outerjoin(Order, Order.customer_id == Customer.id)
        .group_by(Customer.region)
        .order_by(Customer.region)
    )
    show(session, "GROUP BY with a FILTER clause: several counts in one pass", by_region)
    stars = (
        select(
            Customer.name, func.count().label("count_star"), func.count(Order.id).label("count_id")
        )
        .outerjoin(Order, Order.customer_id == Customer.id)
        .where(Customer.region == "US")
        .group_by(Customer.id)  # grouping by the key lets us select Customer.name
        .order_by(Customer.name)
    )
    show(session, "count(*) over a LEFT JOIN counts Hooli's NULL row", stars, sql=False)
    try_sql(
        session,
        "a column neither grouped nor aggregated",
        select(Order.status, Order.placed_on, func.count()).group_by(Order.status),
    )


def having(session: Session) -> None:
    paid = func.sum(Order.total).filter(Order.status == "paid")
    big = (
        select(Customer.name, paid.label("paid_revenue"))
        .join(Order, Order.customer_id == Customer.id)
        .group_by(Customer.id)
        .having(paid > 250)
        .order_by(Customer.name)
    )
    show(session, "HAVING filters groups after aggregation", big)
    try_sql(
        session,
        "the same test in WHERE",
        select(Order.customer_id).where(func.sum(Order.total) > 250).group_by(Order.customer_id),
    )


def subqueries_and_ctes(session: Session) -> None:
    last_order = (
        select(func.max(Order.placed_on))
        .where(Order.customer_id == Customer.id)  # correlates to the enclosing query
        .scalar_subquery()
        .label("last_order")
    )
    show(
        session,
        "correlated scalar subquery",
        select(Customer.name, last_order).order_by(Customer.id),
    )

    revenue = (
        select(Order.customer_id, func.sum(Order.total).label("revenue"))
        .where(Order.status == "paid")
        .group_by(Order.customer_id)
        .cte("paid_revenue")
    )
    ranked = (
        select(Customer.name, revenue.c.revenue)
        .join(revenue, revenue.c.customer_id == Customer.id)
        .where(revenue.c.revenue > select(func.avg(revenue.c.revenue)).scalar_subquery())
    )
    show(session, "a CTE referenced twice: customers above the average", ranked)

    tree = (
        select(Customer.id, Customer.name, literal(0).label("depth"))
        .where(Customer.id == 1)
        .cte("referrals", recursive=True)
    )
    tree = tree.union_all(
        select(Customer.id, Customer.name, tree.c.depth + 1).join(
            tree, Customer.referred_by_id == tree.c.id
        )
    )
    walk = select(tree.c.name, tree.c.depth).order_by(tree.c.depth, tree.c.name)
    show(session, "WITH RECURSIVE: everyone Acme referred, directly or not", walk)


def main() -> None:
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            seed(session)
            aggregates(session)
            having(session)
            subqueries_and_ctes(session)
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
