"""Time and statement count of each loader strategy on the same two-level object graph."""

import os
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import (
    Engine,
    ForeignKey,
    Numeric,
    String,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)
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
CUSTOMERS, ORDERS_EACH, LINES_EACH, RUNS = 40, 8, 4, 3
NOTES = "Net 30 terms; partial shipments allowed; invoice by e-mail. " * 35


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_6_bench_customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    notes: Mapped[str] = mapped_column(Text)  # about 2 KB per customer, as real records are
    orders: Mapped[list["Order"]] = relationship()


class Order(Base):
    __tablename__ = "s5_6_bench_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey(Customer.id), index=True)
    reference: Mapped[str] = mapped_column(String(20))
    lines: Mapped[list["OrderLine"]] = relationship()


class OrderLine(Base):
    __tablename__ = "s5_6_bench_order_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey(Order.id), index=True)
    sku: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))


STRATEGIES: dict[str, Sequence[LoaderOption]] = {
    "lazy (default)": [],
    "joinedload + joinedload": [joinedload(Customer.orders).joinedload(Order.lines)],
    "subqueryload + subqueryload": [subqueryload(Customer.orders).subqueryload(Order.lines)],
    "selectinload + selectinload": [selectinload(Customer.orders).selectinload(Order.lines)],
    "selectinload + joinedload": [selectinload(Customer.orders).joinedload(Order.lines)],
}


def seed(engine: Engine) -> None:
    n_orders = CUSTOMERS * ORDERS_EACH
    with engine.begin() as conn:
        conn.execute(
            insert(Customer),
            [{"name": f"Customer {c:03}", "notes": NOTES} for c in range(CUSTOMERS)],
        )
        conn.execute(
            insert(Order),
            [
                {"customer_id": 1 + o // ORDERS_EACH, "reference": f"SO-{o:05}"}
                for o in range(n_orders)
            ],
        )
        conn.execute(
            insert(OrderLine),
            [
                {"order_id": 1 + n // LINES_EACH, "sku": f"SKU-{n % 7}", "amount": Decimal(n % 50)}
                for n in range(n_orders * LINES_EACH)
            ],
        )


def revenue(session: Session, options: Sequence[LoaderOption]) -> Decimal:
    """The report under test: sum every line of every order of every customer."""
    customers = session.scalars(select(Customer).options(*options)).unique().all()
    return sum((line.amount for c in customers for o in c.orders for line in o.lines), Decimal())


def revenue_in_sql(session: Session) -> Decimal:
    """The same figure when the report needs a number, not objects."""
    stmt = select(func.sum(OrderLine.amount)).join(Order).join(Customer)
    return session.execute(stmt).scalar_one()


REPORTS: dict[str, Callable[[Session], Decimal]] = {
    **{label: partial(revenue, options=opts) for label, opts in STRATEGIES.items()},
    "SUM() in SQL, no objects": revenue_in_sql,
}


class WireCounter:
    """after_cursor_execute listener: statements, rows and bytes of values received."""

    def __init__(self) -> None:
        self.statements, self.rows, self.received = 0, 0, 0

    def __call__(self, conn: Any, cursor: Any, *_: Any) -> None:
        result = cursor.pgresult  # psycopg 3: the raw libpq result, values as received
        self.statements += 1
        self.rows += result.ntuples
        for row in range(result.ntuples):
            self.received += sum(
                len(result.get_value(row, c) or b"") for c in range(result.nfields)
            )


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        seed(engine)
        with engine.connect() as conn:  # warm the pool; measure one network round trip
            started = time.perf_counter()
            for _ in range(200):
                conn.execute(text("SELECT 1"))
            round_trip = (time.perf_counter() - started) / 200 * 1000
        print(f"{CUSTOMERS} customers, {ORDERS_EACH} orders each, {LINES_EACH} lines per order")
        print(f"one SELECT 1 round trip: {round_trip:.3f} ms")
        print(f"{'strategy':<28}{'statements':>11}{'rows':>7}{'received':>12}{'best time':>13}")
        totals: set[Decimal] = set()
        for label, report in REPORTS.items():
            wire = WireCounter()  # one counted run, then RUNS timed runs without the listener
            event.listen(engine, "after_cursor_execute", wire)
            with Session(engine) as session:
                totals.add(report(session))
            event.remove(engine, "after_cursor_execute", wire)
            timings = []
            for _ in range(RUNS):
                started = time.perf_counter()
                with Session(engine) as session:
                    report(session)
                timings.append((time.perf_counter() - started) * 1000)
            kb, best = f"{wire.received / 1024:.1f} KB", f"{min(timings):.1f} ms"
            print(f"{label:<28}{wire.statements:>11}{wire.rows:>7}{kb:>12}{best:>13}")
        print(f"distinct revenue totals: {', '.join(map(str, totals))} (every strategy agrees)")
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
