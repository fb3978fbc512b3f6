"""What a Session does between begin and close: identity map, autoflush, expiry, detachment.

Every statement the Session sends is logged (column lists shortened), so each behaviour is
visible as SQL, or as the absence of SQL.
"""

import logging
import os
import re
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import String, create_engine, event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.orm.exc import DetachedInstanceError

DATABASE_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
log = logging.getLogger("subscriptions")


class Base(DeclarativeBase):
    pass


class Subscription(Base):
    __tablename__ = "s5_2_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer: Mapped[str] = mapped_column(String(60), unique=True)
    seats: Mapped[int]


def log_sql(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
    short = re.sub(r"^SELECT .*? FROM", "SELECT ... FROM", " ".join(statement.split()))
    log.info("    sql: %s", short)


LISTENERS: dict[str, Callable[..., None]] = {
    "begin": lambda conn: log.info("    sql: BEGIN (implicit)"),
    "before_cursor_execute": log_sql,
    "commit": lambda conn: log.info("    sql: COMMIT"),
    "rollback": lambda conn: log.info("    sql: ROLLBACK"),
}


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    engine = create_engine(DATABASE_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    for name, listener in LISTENERS.items():
        event.listen(engine, name, listener)
    factory = sessionmaker(engine)  # configured once per process; expire_on_commit=True

    log.info("unit of work: factory.begin() commits at the end of the block")
    with factory.begin() as session:
        session.add_all([Subscription(customer=c, seats=5) for c in ("acme", "globex", "initech")])

    log.info("identity map: the second get() sends no SQL and returns the same object")
    with factory() as session:
        first = session.get(Subscription, 1)
        again = session.get(Subscription, 1)
        assert first is not None
        log.info("  same object: %s", first is again)

        log.info("change tracking: only the changed column is written, at commit")
        first.seats = 12
        session.commit()
        log.info("expire_on_commit: reading seats after commit reloads the row")
        log.info("  seats = %d", first.seats)

        log.info("autoflush: the pending INSERT is sent before the SELECT that could see it")
        session.add(Subscription(customer="umbrella", seats=3))
        total = session.scalar(select(func.sum(Subscription.seats)))
        log.info("  total seats = %s", total)
        session.commit()

    try:
        log.info("  seats after close = %d", first.seats)
    except DetachedInstanceError as exc:
        log.error("  %s: %s", type(exc).__name__, str(exc).split(" (Background")[0])

    log.info("a failing unit of work rolls back and leaves the next one unaffected")
    try:
        with factory.begin() as session:
            session.add(Subscription(customer="acme", seats=1))
    except IntegrityError as exc:
        log.warning("  rejected: %s", str(exc.orig).splitlines()[0])
    with factory() as session:
        log.info("  rows: %d", session.scalar(select(func.count()).select_from(Subscription)))

    for name, listener in LISTENERS.items():
        event.remove(engine, name, listener)
    Base.metadata.drop_all(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
