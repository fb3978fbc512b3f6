"""What in-memory SQLite hides: one model, the same operations, SQLite and PostgreSQL side by side.

Then the rollback fixture on SQLite (rows leak between tests under the sqlite3 module's default
transaction handling), the documented fix, and what each database costs per test.
"""

import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    ForeignKey,
    Numeric,
    String,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
PLACED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_12_sq_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(20))


class Order(Base):
    __tablename__ = "s5_12_sq_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey(Customer.id))
    quantity: Mapped[int]
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def order(**overrides: Any) -> Order:
    fields: dict[str, Any] = {"customer_id": 1, "quantity": 1, "total": Decimal("9.99")}
    return Order(**(fields | {"placed_at": PLACED_AT} | overrides))


def try_flush(session: Session, new_object: Base) -> str:
    """Flush one object; report 'stored' or the driver's exception class."""
    with session.begin_nested() as savepoint:
        session.add(new_object)
        try:
            session.flush()
        except DBAPIError as error:
            savepoint.rollback()
            return type(error.orig).__name__
    return "stored"


def checks(session: Session) -> dict[str, str]:
    session.add(Customer(id=1, email="ada@example.com"))
    session.flush()
    results = {
        "30 chars into String(20)": try_flush(session, Customer(id=2, email="x" * 30)),
        "order for customer 999 (FK)": try_flush(session, order(customer_id=999)),
        "quantity 3_000_000_000": try_flush(session, order(quantity=3_000_000_000)),
    }
    session.add(order())
    session.flush()
    matches = session.scalars(select(Customer).where(Customer.email.like("ADA%"))).all()
    results["email LIKE 'ADA%'"] = f"{len(matches)} row(s)"
    session.expire_all()
    placed_at = session.scalars(select(Order.placed_at)).first()
    assert placed_at is not None
    try:
        results["placed_at < now(UTC)"] = str(placed_at < datetime.now(UTC))
    except TypeError:
        results["placed_at < now(UTC)"] = "TypeError (naive)"
    per_customer = select(Customer.email, func.count(Order.id)).join(Order)
    with session.begin_nested() as savepoint:
        try:
            session.execute(per_customer.group_by(Order.customer_id)).all()
            results["SELECT email ... GROUP BY customer_id"] = "runs"
        except DBAPIError as error:
            savepoint.rollback()
            results["SELECT email ... GROUP BY customer_id"] = type(error.orig).__name__
    bind = session.get_bind()
    locking = str(select(Customer).with_for_update().compile(bind))
    results["select().with_for_update()"] = "FOR UPDATE" if "FOR UPDATE" in locking else "dropped"
    return results


def compare(sqlite: Engine, postgres: Engine) -> None:
    print(f"1. {'the same operation':<38} {'SQLite (memory)':<22} PostgreSQL 15")
    columns = []
    for engine in (sqlite, postgres):
        with Session(engine) as session:
            columns.append(checks(session))
            session.rollback()
    for name, on_sqlite in columns[0].items():
        print(f"   {name:<38} {on_sqlite:<22} {columns[1][name]}")


def emit_our_own_begin(engine: Engine) -> None:
    """SQLAlchemy's documented fix for pysqlite's transaction handling (every Python version)."""

    @event.listens_for(engine, "connect")
    def disable_pysqlite_begin(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


@contextmanager
def rollback_fixture(engine: Engine) -> Iterator[Session]:
    with engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


def leak_between_tests(make_engine: Callable[[], Engine], label: str) -> None:
    engine = make_engine()
    Base.metadata.create_all(engine)
    seen = []
    for test in (1, 2, 3):
        with rollback_fixture(engine) as session:
            seen.append(session.scalar(select(func.count()).select_from(Customer)))
            session.add(Customer(id=test, email=f"test{test}@example.com"))
            session.commit()  # the code under test commits
    print(f"   {label:<46} customers at the start of tests 1-3: {seen}")
    engine.dispose()


def per_test_cost(engine: Engine, runs: int) -> float:
    """Median ms for the fixture plus a typical small test: 1 customer, 3 orders, 1 query."""
    timings = []
    for n in range(runs):
        started = time.perf_counter()
        with rollback_fixture(engine) as session:
            session.add(Customer(id=1000 + n, email=f"t{n}@example.com"))
            session.flush()
            session.add_all([order(customer_id=1000 + n) for _ in range(3)])
            session.commit()
            session.scalar(select(func.sum(Order.total)).where(Order.customer_id == 1000 + n))
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    postgres = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(postgres)
    Base.metadata.create_all(postgres)
    sqlite = create_engine("sqlite://")
    Base.metadata.create_all(sqlite)
    try:
        compare(sqlite, postgres)

        print("\n2. the rollback fixture; each test commits one customer")
        leak_between_tests(lambda: create_engine("sqlite://"), "SQLite, default pysqlite handling")

        def fixed_sqlite() -> Engine:
            engine = create_engine("sqlite://")
            emit_our_own_begin(engine)
            return engine

        leak_between_tests(fixed_sqlite, "SQLite, SQLAlchemy emits BEGIN")
        leak_between_tests(lambda: create_engine(POSTGRES_URL), "PostgreSQL")

        print("\n3. cost per test (median of 200): fixture + 4 inserts + 1 query")
        fast_sqlite = fixed_sqlite()
        Base.metadata.create_all(fast_sqlite)
        for label, engine in (("SQLite in memory", fast_sqlite), ("PostgreSQL", postgres)):
            print(f"   {label:<18} {per_test_cost(engine, 200):6.2f} ms")
        fast_sqlite.dispose()
    finally:
        Base.metadata.drop_all(postgres)
        postgres.dispose()
        sqlite.dispose()


if __name__ == "__main__":
    main()
