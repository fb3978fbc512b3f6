"""Composing one select() from optional search criteria, with keyset pages and a total count."""

import logging
import os
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import ForeignKey, Numeric, String, create_engine, event, func, select, tuple_
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.sql import Select

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
engine = create_engine(POSTGRES_URL)
log = logging.getLogger("order_search")


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
    status: Mapped[str] = mapped_column(String(10))
    placed_on: Mapped[date]
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))


@dataclass(frozen=True)
class OrderSearch:
    """What an API handler parsed from the query string; every field is optional."""

    region: str | None = None
    statuses: tuple[str, ...] = ()
    min_total: Decimal | None = None
    sort: Literal["newest", "largest"] = "newest"
    after: tuple[Any, int] | None = None  # keyset cursor: (sort value, id) of the last row seen
    page_size: int = 4


@dataclass(frozen=True)
class OrderRow:
    id: int
    customer: str
    placed_on: date
    total: Decimal


SORT_COLUMNS = {"newest": Order.placed_on, "largest": Order.total}  # a whitelist, not getattr()


def matching(criteria: OrderSearch) -> Select[int, str, date, Decimal]:
    """The filtered rows, unordered: the base that both the page and the count reuse."""
    stmt = select(Order.id, Customer.name, Order.placed_on, Order.total).join(
        Customer, Customer.id == Order.customer_id
    )
    if criteria.region is not None:
        stmt = stmt.where(Customer.region == criteria.region)
    if criteria.statuses:
        stmt = stmt.where(Order.status.in_(criteria.statuses))
    if criteria.min_total is not None:
        stmt = stmt.where(Order.total >= criteria.min_total)
    return stmt


def page_of(criteria: OrderSearch) -> Select[int, str, date, Decimal]:
    key = SORT_COLUMNS[criteria.sort]
    stmt = matching(criteria).order_by(key.desc(), Order.id.desc()).limit(criteria.page_size)
    if criteria.after is not None:  # row-value comparison: (key, id) < (last key, last id)
        stmt = stmt.where(tuple_(key, Order.id) < tuple_(*criteria.after))
    return stmt


def count_of(criteria: OrderSearch) -> Select[int]:
    return select(func.count()).select_from(matching(criteria).subquery())


def search(session: Session, criteria: OrderSearch) -> tuple[list[OrderRow], int]:
    rows = [OrderRow(*row) for row in session.execute(page_of(criteria))]
    total = session.execute(count_of(criteria)).scalar_one()
    log.info("search %s -> %d of %d", criteria.sort, len(rows), total)
    return rows, total


def seed(session: Session) -> None:
    customers = [(1, "Acme", "EU"), (2, "Globex", "US"), (3, "Initech", "EU")]
    session.add_all(Customer(id=i, name=n, region=r) for i, n, r in customers)
    session.flush()
    for n in range(1, 13):  # 12 orders, two per day, deterministic amounts
        session.add(
            Order(
                id=100 + n,
                customer_id=1 + n % 3,
                status="refunded" if n % 5 == 0 else "paid",
                placed_on=date(2024, 3, 1) + timedelta(days=n // 2),
                total=Decimal(37 * n % 101) + Decimal("0.50"),
            )
        )
    session.commit()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def count_statements(*args: Any) -> None:
        statements.append(args[2])

    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            seed(session)
            criteria = OrderSearch(region="EU", statuses=("paid",))
            statements.clear()
            page = 1
            while True:
                rows, total = search(session, criteria)
                print(f"-- page {page} ({len(statements)} statements so far, {total} matches)")
                for row in rows:
                    print("   ", row)
                if len(rows) < criteria.page_size:
                    break
                last = rows[-1]
                criteria = replace(criteria, after=(last.placed_on, last.id))
                page += 1
            print("-- the SQL of the last page:")
            print(page_of(criteria).compile(engine))
            print("-- the count reuses the same filters:")
            print(count_of(criteria).compile(engine))
            largest = OrderSearch(sort="largest", min_total=Decimal(50), page_size=3)
            rows, total = search(session, largest)
            print(f"-- largest first, total >= 50: {total} matches")
            for row in rows:
                print("   ", row)
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
