"""Sales reports for a finance dashboard, each answered by one SELECT built with select()."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, ForeignKey, Integer, Numeric, String, cast, exists, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

PAID = "paid"


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_4_ex_customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    region: Mapped[str] = mapped_column(String(4))


class Order(Base):
    __tablename__ = "s5_4_ex_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("s5_4_ex_customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))  # "paid" or "refunded"
    placed_on: Mapped[date]
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))


def create_schema(engine: Engine) -> None:
    """Drop and recreate the exercise's two tables (tests call this; you need not)."""
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)


@dataclass(frozen=True)
class RegionLeader:
    region: str
    rank: int
    name: str
    revenue: Decimal


@dataclass(frozen=True)
class MonthRevenue:
    month: int
    revenue: Decimal
    year_to_date: Decimal


def region_leaders(session: Session, top: int) -> list[RegionLeader]:
    """The `top` customers of every region by paid revenue.

    Rank 1 is the highest revenue; equal revenue is ordered by name, and ranks are 1, 2, 3...
    with no gaps or repeats. Customers without a paid order do not appear. Sorted by region,
    then rank. One SELECT statement.
    """
    if top < 1:
        raise ValueError("top must be at least 1")
    revenue = func.sum(Order.total)
    rank = func.row_number().over(
        partition_by=Customer.region, order_by=(revenue.desc(), Customer.name)
    )
    ranked = (
        select(Customer.region, rank.label("rank"), Customer.name, revenue.label("revenue"))
        .join(Order, Order.customer_id == Customer.id)
        .where(Order.status == PAID)
        .group_by(Customer.id)
        .subquery()
    )
    stmt = (
        select(ranked.c.region, ranked.c.rank, ranked.c.name, ranked.c.revenue)
        .where(ranked.c.rank <= top)
        .order_by(ranked.c.region, ranked.c.rank)
    )
    return [RegionLeader(*row) for row in session.execute(stmt)]


def monthly_revenue(session: Session, year: int) -> list[MonthRevenue]:
    """Paid revenue per calendar month of `year`, with the running total for the year.

    Months without a paid order are left out; `month` is an int from 1 to 12. One SELECT.
    """
    month = cast(func.extract("month", Order.placed_on), Integer)
    revenue = func.sum(Order.total)
    stmt = (
        select(month, revenue, func.sum(revenue).over(order_by=month))
        .where(
            Order.status == PAID,
            Order.placed_on >= date(year, 1, 1),
            Order.placed_on < date(year + 1, 1, 1),
        )
        .group_by(month)
        .order_by(month)
    )
    return [MonthRevenue(*row) for row in session.execute(stmt)]


def dormant_customers(session: Session, since: date) -> list[str]:
    """Names of customers with no paid order on or after `since`, sorted by name.

    Customers who never ordered count as dormant; refunded orders are not activity. One SELECT.
    """
    recent = exists().where(
        Order.customer_id == Customer.id,
        Order.status == PAID,
        Order.placed_on >= since,
    )
    stmt = select(Customer.name).where(~recent).order_by(Customer.name)
    return list(session.scalars(stmt))


def repeat_buyers(session: Session, min_orders: int) -> dict[str, int]:
    """{name: number of paid orders} for customers with at least `min_orders` paid orders.

    Insertion order follows the count, highest first, then name. One SELECT.
    """
    count = func.count(Order.id)
    stmt = (
        select(Customer.name, count)
        .join(Order, Order.customer_id == Customer.id)
        .where(Order.status == PAID)
        .group_by(Customer.id)
        .having(count >= min_orders)
        .order_by(count.desc(), Customer.name)
    )
    return dict(session.execute(stmt).all())
