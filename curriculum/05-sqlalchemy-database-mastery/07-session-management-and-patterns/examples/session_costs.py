"""Tests that commit yet leave nothing behind, and what three session habits cost.

Application code takes a sessionmaker; the test hands it one bound to a connection whose
outer transaction is rolled back at the end. Timings are medians; the statement counts are exact.
"""

import os
import re
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    Numeric,
    String,
    Table,
    create_engine,
    event,
    exc,
    func,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
JoinMode = Literal["conditional_savepoint", "create_savepoint"]


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "s5_7_cost_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))


# The rest of a modest schema: the cost of TRUNCATE and of create_all grows with it.
SIDE_TABLES = [
    Table(f"s5_7_cost_side_{n}", Base.metadata, Column("id", Integer, primary_key=True))
    for n in range(11)
]
ALL_TABLES = ", ".join(table.name for table in Base.metadata.sorted_tables)


class StatementLog:
    """Counts (and optionally prints) the statements an engine sends."""

    def __init__(self, engine: Engine, echo: bool = False) -> None:
        self.engine, self.echo, self.count = engine, echo, 0

    def __call__(self, conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        self.count += 1
        if self.echo:
            flat = re.sub(r"\(.*\) RETURNING .*", "(...)", " ".join(statement.split()))
            print(f"      sql: {flat}")

    def __enter__(self) -> "StatementLog":
        event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self)


# --- application code: it only knows it is given a session factory ------------------------


def register_invoice(factory: sessionmaker[Session], number: str) -> bool:
    """Store an invoice; False if the number is taken. Commits, as production code does."""
    with factory() as session:
        session.add(Invoice(number=number, total=Decimal("10.00")))
        try:
            session.commit()
        except exc.IntegrityError:
            session.rollback()
            return False
        return True


# --- the test harness -------------------------------------------------------------------


@contextmanager
def rollback_isolated(engine: Engine, mode: JoinMode) -> Iterator[sessionmaker[Session]]:
    with engine.connect() as connection:
        outer = connection.begin()
        try:
            yield sessionmaker(bind=connection, join_transaction_mode=mode)
        finally:
            if outer.is_active:
                outer.rollback()


def isolated_test(engine: Engine, mode: JoinMode, echo: bool) -> None:
    with rollback_isolated(engine, mode) as factory:
        with StatementLog(engine, echo):
            fixture = register_invoice(factory, "INV-7000")  # the test's own setup data
            first = register_invoice(factory, "INV-7001")
            duplicate = register_invoice(factory, "INV-7001")
        with factory() as session:
            visible = session.scalar(select(func.count()).select_from(Invoice))
        print(f"   registered {fixture}, {first}, {duplicate}; rows the test can see: {visible}")
    with Session(engine) as session:
        left = session.scalar(text("SELECT count(*) FROM s5_7_cost_invoices"))
        print(f"   rows left after the test: {left}")


def median_ms(run: Callable[[], None], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def isolation_strategies(engine: Engine) -> None:
    print(f"3. per test, 3 inserts + isolation, {len(Base.metadata.tables)} tables (median of 9)")

    def body(factory: sessionmaker[Session]) -> None:
        for number in ("INV-1", "INV-2", "INV-3"):
            register_invoice(factory, number)

    def by_rollback() -> None:
        with rollback_isolated(engine, "create_savepoint") as factory:
            body(factory)

    def by_truncate() -> None:
        body(sessionmaker(engine))
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {ALL_TABLES} RESTART IDENTITY"))

    def by_recreate() -> None:
        body(sessionmaker(engine))
        Base.metadata.drop_all(engine)
        Base.metadata.create_all(engine)

    for name, strategy in (
        ("outer transaction + rollback", by_rollback),
        ("TRUNCATE after each test", by_truncate),
        ("drop_all + create_all", by_recreate),
    ):
        print(f"   {name:<30} {median_ms(strategy, 9):8.2f} ms")


def habits(engine: Engine) -> None:
    print("4. reading 200 objects after commit, and merging 200 cached objects")
    for expire in (True, False):
        factory = sessionmaker(engine, expire_on_commit=expire)
        with factory() as session:
            invoices = [Invoice(number=f"EXP-{i}", total=Decimal(i)) for i in range(200)]
            session.add_all(invoices)
            session.commit()
            with StatementLog(engine) as counter:
                started = time.perf_counter()
                totals = [invoice.total for invoice in invoices]
                elapsed = (time.perf_counter() - started) * 1000
            print(
                f"   expire_on_commit={expire!s:<5}  statements={counter.count:<3}"
                f" {elapsed:8.2f} ms   totals[7]={totals[7]!r}"
            )
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE s5_7_cost_invoices RESTART IDENTITY"))
    with Session(engine) as session:
        session.add_all(Invoice(number=f"C-{i}", total=Decimal(i)) for i in range(200))
        session.commit()
        cached = list(session.scalars(select(Invoice)))  # loaded, then detached by close()
    for load in (True, False):
        with Session(engine) as session, StatementLog(engine) as counter:
            started = time.perf_counter()
            for invoice in cached:
                session.merge(invoice, load=load)
            elapsed = (time.perf_counter() - started) * 1000
        print(f"   merge(load={load!s:<5})  statements={counter.count:<3} {elapsed:8.2f} ms")


def main() -> None:
    engine = create_engine(POSTGRES_URL, pool_size=2, max_overflow=0)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        print("1. create_savepoint: each commit() releases a SAVEPOINT; the test rolls back")
        isolated_test(engine, "create_savepoint", echo=True)
        print("2. default conditional_savepoint: the app's rollback() ends the test's transaction")
        isolated_test(engine, "conditional_savepoint", echo=False)
        isolation_strategies(engine)
        habits(engine)
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
