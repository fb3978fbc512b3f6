"""Comparison, logical and NULL operators: the SQL each one sends, and the rows it returns."""

import logging
import os
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    Numeric,
    Select,
    String,
    and_,
    create_engine,
    event,
    false,
    not_,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

log = logging.getLogger("s5_5.operators")
POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "s5_5_orders"
    number: Mapped[str] = mapped_column(String(12), primary_key=True)
    status: Mapped[str] = mapped_column(String(12))
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2), index=True)
    paid: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    region: Mapped[str | None] = mapped_column(String(8))
    coupon: Mapped[str | None] = mapped_column(String(20))
    placed_on: Mapped[date] = mapped_column(Date)


ORDERS = [  # number, status, total, paid, region, coupon, placed_on
    ("A-1001", "paid", "120.00", "120.00", "eu", None, date(2024, 3, 1)),
    ("A-1002", "paid", "80.00", "80.00", "us", "SPRING10", date(2024, 3, 2)),
    ("A-1003", "refunded", "45.50", "0.00", None, None, date(2024, 3, 2)),
    ("A-1004", "pending", "300.00", "150.00", "eu", "VIP", date(2024, 3, 5)),
    ("A-1005", "cancelled", "15.00", "0.00", "us", None, date(2024, 3, 6)),
    ("A-1006", "paid", "250.00", "250.00", None, "SPRING10", date(2024, 3, 9)),
]
sent: list[str] = []  # the WHERE clause of every statement psycopg receives


def capture(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def remember(
        conn: Connection, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        where = statement.partition("WHERE ")[2].partition(" ORDER BY")[0]
        sent.append(f"WHERE {where.replace('s5_5_orders.', '')}  {params}")


def show(session: Session, label: str, stmt: Select[str]) -> None:
    numbers = session.scalars(stmt.order_by(Order.number)).all()
    print(f"{label}\n   {sent[-1]}\n   -> {numbers}")


def explain(session: Session, stmt: Select[str]) -> None:
    compiled = stmt.compile(session.get_bind())
    plan = session.connection().exec_driver_sql(
        "EXPLAIN (COSTS OFF) " + str(compiled), compiled.params
    )
    print(f"   total_1 bound as {type(compiled.params['total_1']).__name__}:")
    for line in plan.scalars():
        print(f"      {line}")


def main() -> None:
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    capture(engine)
    try:
        with Session(engine) as session:
            session.add_all(
                Order(
                    number=n,
                    status=s,
                    total=Decimal(t),
                    paid=Decimal(p),
                    region=r,
                    coupon=c,
                    placed_on=d,
                )
                for n, s, t, p, r, c, d in ORDERS
            )
            session.flush()
            q = select(Order.number)
            show(session, "total >= 100", q.where(Order.total >= 100))
            show(session, "between is inclusive", q.where(Order.total.between(80, 250)))
            show(session, "column against column", q.where(Order.paid < Order.total))
            show(
                session,
                "two where() calls are AND",
                q.where(Order.status == "paid").where(Order.placed_on >= date(2024, 3, 2)),
            )
            show(
                session,
                "and_ inside or_",
                q.where(
                    or_(Order.status == "pending", and_(Order.status == "paid", Order.total > 200))
                ),
            )
            show(session, "region == 'eu'", q.where(Order.region == "eu"))
            show(session, "not_() of == becomes !=", q.where(not_(Order.region == "eu")))
            show(
                session,
                "IS DISTINCT FROM keeps NULLs",
                q.where(Order.region.is_distinct_from("eu")),
            )
            show(session, "is_(None)", q.where(Order.coupon.is_(None)))
            show(session, "is_not(None)", q.where(Order.coupon.is_not(None)))
            show(session, "or_(false(), *[]) with no filters", q.where(or_(false(), *[])))
            # mypy --strict rejects the next line; at run time it is where(False):
            broken = q.where(Order.coupon is None)  # type: ignore[arg-type]
            show(session, "Python 'is None' runs before SQL exists", broken)
            # No error and no mypy complaint: bool(==) is False, so `and` returns its left side.
            silent = (Order.status == "paid") and (Order.total > 200)
            show(session, "Python 'and' with == first: the 2nd test vanishes", q.where(silent))

            attempts: list[tuple[str, Callable[[], object]]] = [
                ("Python 'and', > first", lambda: (Order.total > 100) and (Order.status == "paid")),
                ("& without parentheses", lambda: Order.total > 100 & Order.status == "paid"),  # type: ignore[operator, comparison-overlap]
            ]
            for label, build in attempts:
                try:
                    build()
                except TypeError as exc:
                    log.error("%s: TypeError: %s", label, exc)

            session.execute(
                text(
                    "INSERT INTO s5_5_orders (number, status, total, paid, placed_on) "
                    "SELECT 'B-' || i, 'paid', (i % 50000) / 100.0, 0, DATE '2024-01-01' "
                    "FROM generate_series(1, 50000) AS i"
                )
            )
            session.execute(text("ANALYZE s5_5_orders"))
            print("plans for total >= 499.99 over 50,006 rows, index on total:")
            explain(session, q.where(Order.total >= Decimal("499.99")))
            explain(session, q.where(Order.total >= 499.99))
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
