"""Expanding IN, empty lists, the NOT IN / NULL trap, and = ANY(array) for long id lists."""

import os
import statistics
import time
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    any_,
    bindparam,
    create_engine,
    event,
    exists,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, aliased, mapped_column

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_5_customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(80))
    referred_by: Mapped[int | None]  # the customer who referred this one, if any


class Account(Base):  # a bigger table for the timing part
    __tablename__ = "s5_5_accounts"
    id: Mapped[int] = mapped_column(primary_key=True)


wire: list[tuple[str, Any]] = []  # (statement, parameters) exactly as psycopg receives them


def capture(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def remember(
        conn: Connection, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        wire.append((statement, params))


def where_of(statement: str) -> str:
    where = statement.partition("WHERE ")[2].partition(" ORDER BY")[0]
    return "WHERE " + " ".join(where.split())


def show(session: Session, label: str, stmt: Select[int]) -> None:
    ids = session.scalars(stmt.order_by(Customer.id)).all()
    statement, params = wire[-1]
    print(f"{label}\n   {where_of(statement)}  {params}\n   -> {ids}")


def median_ms(session: Session, stmt: Select[int], runs: int = 5) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        session.scalars(stmt).all()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    capture(engine)
    try:
        with Session(engine) as session:
            referrers = [None, 1, None, 1, 3, None]
            session.add_all(
                Customer(id=i, email=f"c{i}@example.com", referred_by=r)
                for i, r in enumerate(referrers, start=1)
            )
            session.flush()
            q = select(Customer.id)

            stmt = q.where(Customer.id.in_([2, 4, 6]))
            print("compiled once, cached:", where_of(str(stmt.compile(engine))))
            show(session, "in_([2, 4, 6]) on the wire", stmt)
            show(session, "in_([]) never matches", q.where(Customer.id.in_([])))
            show(session, "not_in([]) always matches", q.where(Customer.id.not_in([])))
            show(session, "not_in([1, None])", q.where(Customer.id.not_in([1, None])))

            referred = select(Customer.referred_by)  # contains NULLs
            show(
                session, "referred nobody: NOT IN (subquery)", q.where(Customer.id.not_in(referred))
            )
            other = aliased(Customer)
            show(
                session,
                "referred nobody: NOT EXISTS",
                q.where(~exists().where(other.referred_by == Customer.id)),
            )
            ids_param = bindparam("ids", type_=ARRAY(Integer))
            show(
                session,
                "= ANY(array): one parameter",
                q.where(Customer.id == any_(ids_param)).params(ids=[2, 4, 6]),
            )

            session.execute(
                text("INSERT INTO s5_5_accounts (id) SELECT generate_series(1, 100000)")
            )
            session.execute(text("ANALYZE s5_5_accounts"))
            for size in (1_000, 5_000):
                ids = list(range(1, 100_000, 100_000 // size))[:size]
                by_in = select(Account.id).where(Account.id.in_(ids))
                by_any = select(Account.id).where(
                    Account.id == any_(bindparam("ids", ids, type_=ARRAY(Integer)))
                )
                for label, lookup in (("IN   ", by_in), ("= ANY", by_any)):
                    took = median_ms(session, lookup)
                    statement, params = wire[-1]
                    print(
                        f"{size:>5} ids {label}: {len(statement):>6} chars, "
                        f"{len(params):>5} parameters, median {took:.1f} ms"
                    )
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
