"""Sales reports for a finance dashboard, each answered by one SELECT built with select()."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, ForeignKey, Numeric, String
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
    # TODO: reject top < 1 with ValueError before touching the database.
    # TODO: rank each customer's summed paid revenue inside its region with a window
    #       function, in a subquery; keep rank <= top in the outer query.
    raise NotImplementedError


def monthly_revenue(session: Session, year: int) -> list[MonthRevenue]:
    """Paid revenue per calendar month of `year`, with the running total for the year.

    Months without a paid order are left out; `month` is an int from 1 to 12. One SELECT.
    """
    # TODO: group paid orders of the year by month (an int), sum them, and add a
    #       running total as a window over that sum. Keep the date filter index-friendly.
    raise NotImplementedError


def dormant_customers(session: Session, since: date) -> list[str]:
    """Names of customers with no paid order on or after `since`, sorted by name.

    Customers who never ordered count as dormant; refunded orders are not activity. One SELECT.
    """
    # TODO: customers for whom no paid order on or after `since` EXISTS.
    raise NotImplementedError


def repeat_buyers(session: Session, min_orders: int) -> dict[str, int]:
    """{name: number of paid orders} for customers with at least `min_orders` paid orders.

    Insertion order follows the count, highest first, then name. One SELECT.
    """
    # TODO: count paid orders per customer and keep the groups that reach min_orders.
    raise NotImplementedError
