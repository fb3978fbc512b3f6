"""A TypeDecorator that stores money as integer cents, and a composite() Money value object."""

import logging
import os
import re
import statistics
import time
import warnings
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Dialect,
    Engine,
    String,
    create_engine,
    event,
    func,
    select,
    type_coerce,
)
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, composite, mapped_column
from sqlalchemy.types import TypeDecorator
from typing_extensions import override

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Cents(TypeDecorator[Decimal]):
    """Decimal in Python, an exact BIGINT count of cents in the database. Floats are refused."""

    impl = BigInteger
    cache_ok = True  # no constructor arguments, so every instance renders the same SQL

    @override  # typing.override on 3.12+: a misspelt name would fail mypy
    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be a Decimal, got {type(value).__name__} {value!r}")
        cents = value.scaleb(2)
        if cents != cents.to_integral_value():
            raise ValueError(f"{value} has a fraction of a cent")
        return int(cents)

    @override
    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value).scaleb(-2)


class EuroCents(Cents):
    """A subclass that forgot to repeat cache_ok: SQLAlchemy reads it from the class itself."""


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "s5_11_money_invoices"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column("total_cents", Cents)
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Money] = composite("amount", "currency")
    discount: Mapped[Decimal | None] = mapped_column(Cents)
    legacy_fee: Mapped[Decimal | None] = mapped_column(EuroCents)


class CacheLog(logging.Handler):
    """Collects the cache status SQLAlchemy appends to each logged statement."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = re.match(r"\[(generated in|cached since|no key)", record.getMessage())
        if found:
            self.statuses.append(found.group(1))


def show(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
    shown = f" {dict(sorted(params.items()))}" if params else ""
    print("   SQL:", " ".join(statement.split()) + shown)


def step(session: Session, title: str, statement: Any) -> None:
    print(f"   {title}: {session.scalar(statement)!r}")


def median_ms(session: Session, column: Any) -> float:
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(100):
            query = select(Invoice).where(column > Decimal("0.50"), Invoice.currency == "EUR")
            session.scalars(query.order_by(Invoice.number).limit(20)).all()
        rounds.append((time.perf_counter() - started) * 10)  # ms per query
    return statistics.median(rounds)


def main() -> None:
    engine: Engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    try:
        print("1. the column types the database gets")
        event.listen(engine, "before_cursor_execute", show)
        Base.metadata.create_all(engine, checkfirst=False)
        with Session(engine) as session:
            print("2. Decimal in, integer cents on the wire")
            eur = Money(Decimal("19.99"), "EUR")
            session.add(Invoice(number="INV-3001", total=eur, discount=Decimal("2.50")))
            session.add(Invoice(number="INV-3002", total=Money(Decimal("250.00"), "EUR")))
            session.commit()
            print("3. comparisons bind through the type too")
            found = session.scalars(select(Invoice).where(Invoice.amount > Decimal("100"))).one()
            print(f"   {found.number}: total={found.total}, discount={found.discount!r}")
            first = session.scalars(select(Invoice.number).where(Invoice.total == eur)).one()
            print(f"   composite equality matched {first}")
            event.remove(engine, "before_cursor_execute", show)

            print("4. which expressions keep the type")
            step(session, "sum(amount)", select(func.sum(Invoice.amount)))
            step(session, "avg(amount)", select(func.avg(Invoice.amount)))
            step(
                session,
                "amount + 1.50",
                select(Invoice.amount + Decimal("1.50")).order_by(Invoice.id).limit(1),
            )
            fixed = type_coerce(Invoice.amount + Decimal("1.50"), Cents())
            step(
                session,
                "type_coerce(amount + 1.50, Cents())",
                select(fixed).order_by(Invoice.id).limit(1),
            )

            print("5. bad values never reach the database")
            bad_values: list[Any] = [19.99, Decimal("0.005")]
            for bad in bad_values:
                session.add(Invoice(number="INV-BAD", total=Money(bad, "EUR")))
                try:
                    session.flush()
                except StatementError as error:
                    print(f"   {error.orig!r}")
                    session.rollback()

        print("6. the statement cache: cache_ok=True versus a subclass without it")
        cache_log = CacheLog()
        sql_logger = logging.getLogger("sqlalchemy.engine.Engine")
        sql_logger.addHandler(cache_log)
        sql_logger.setLevel(logging.INFO)
        with Session(engine) as session, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                session.scalars(select(Invoice.id).where(Invoice.discount > Decimal("1"))).all()
            print(f"   Cents:     {cache_log.statuses}")
            cache_log.statuses.clear()
            for _ in range(3):
                session.scalars(select(Invoice.id).where(Invoice.legacy_fee > Decimal("1"))).all()
            print(f"   EuroCents: {cache_log.statuses}")
        sql_logger.removeHandler(cache_log)
        sql_logger.setLevel(logging.WARNING)
        print(f"   warning: {str(caught[0].message)[:92]}...")
        print("7. what the missing cache key costs per execution (median of 5 rounds of 100)")
        with Session(engine) as session, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cached = median_ms(session, Invoice.discount)
            uncached = median_ms(session, Invoice.legacy_fee)
        print(f"   Cents {cached:.2f} ms, EuroCents {uncached:.2f} ms per query")
    finally:
        if event.contains(engine, "before_cursor_execute", show):
            event.remove(engine, "before_cursor_execute", show)
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
