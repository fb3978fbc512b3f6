"""When a Session holds a connection, two factories over one engine, and three context managers.

The pool's checked-out count is printed at each step: a Session costs a connection only
between its first SQL statement and the end of its transaction.
"""

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from sqlalchemy import Engine, Numeric, String, create_engine, event, exc, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    SessionTransaction,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.pool import QueuePool

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
log = logging.getLogger("billing.db")


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "s5_7_lifecycle_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))


class DuplicateInvoiceError(Exception):
    """The domain's name for a unique violation on the invoice number."""


def checked_out(engine: Engine) -> int:
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    return pool.checkedout()


def on_begin(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    log.info("      event after_begin: the session now holds a connection")


def on_commit(conn: Connection) -> None:
    log.info("      sql: COMMIT")


def on_rollback(conn: Connection) -> None:
    log.info("      sql: ROLLBACK")


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Commit on success, roll back on error, always close; translate what callers handle."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except exc.IntegrityError as error:
            session.rollback()
            log.warning("   unit of work rolled back: %s", str(error.orig).splitlines()[0])
            raise DuplicateInvoiceError("invoice number already used") from error
        except BaseException:
            session.rollback()
            raise


def lifecycle(engine: Engine, factory: sessionmaker[Session]) -> None:
    log.info("1. lifecycle: connection checked out from first SQL to end of transaction")
    session = factory()
    log.info("   factory()           checked out=%d", checked_out(engine))
    invoice = Invoice(number="INV-3001", total=Decimal("99.00"))
    session.add(invoice)
    log.info("   add()               checked out=%d", checked_out(engine))
    session.flush()
    log.info("   flush()             checked out=%d", checked_out(engine))
    session.commit()
    log.info("   commit()            checked out=%d", checked_out(engine))
    log.info("   read after commit   total=%s (expire_on_commit=False: no SQL)", invoice.total)
    session.scalars(select(Invoice)).all()
    log.info("   select()            checked out=%d", checked_out(engine))
    session.close()
    log.info("   close()             checked out=%d", checked_out(engine))


def two_factories(engine: Engine) -> None:
    log.info("2. a second factory over the same pool: read-only transactions for reports")
    reports = sessionmaker(engine.execution_options(postgresql_readonly=True))
    with reports() as session:
        count = session.scalar(select(func.count()).select_from(Invoice))
        log.info("   report sees %d invoice(s)", count)
        session.add(Invoice(number="INV-3002", total=Decimal("1.00")))
        try:
            session.flush()
        except exc.InternalError as error:
            log.warning("   %s", str(error.orig).splitlines()[0])


def context_managers(factory: sessionmaker[Session]) -> None:
    log.info("3. `with factory() as s`: close() rolls back what was never committed")
    with factory() as session:
        session.add(Invoice(number="INV-3003", total=Decimal("10.00")))
        session.flush()
    log.info("4. `with factory.begin() as s`: commit at the end, rollback on an exception")
    with factory.begin() as session:
        session.add(Invoice(number="INV-3004", total=Decimal("20.00")))
    log.info("5. a custom unit of work turns IntegrityError into a domain error")
    try:
        with unit_of_work(factory) as session:
            session.add(Invoice(number="INV-3004", total=Decimal("20.00")))
    except DuplicateInvoiceError as error:
        log.info("   caller got DuplicateInvoiceError: %s", error)
    log.info("6. begin() after autobegin is refused")
    with factory() as session:
        session.scalar(select(func.count()).select_from(Invoice))
        try:
            with session.begin():
                pass
        except exc.InvalidRequestError as error:
            log.warning("   InvalidRequestError: %s", error)


def autoflush_for_text(factory: sessionmaker[Session]) -> None:
    log.info("7. SQLAlchemy 2.1: text() through Session.execute() autoflushes too")
    count_sql = text("SELECT count(*) FROM s5_7_lifecycle_invoices")
    with factory() as session:
        session.add(Invoice(number="INV-3005", total=Decimal("5.00")))
        log.info("   text() count with a pending invoice: %s", session.scalar(count_sql))
        session.add(Invoice(number="INV-3006", total=Decimal("6.00")))
        unflushed = count_sql.execution_options(autoflush=False)
        log.info("   ... with execution_options(autoflush=False): %s", session.scalar(unflushed))
        session.add(Invoice(number="INV-3007", total=Decimal("7.00")))
        with session.no_autoflush:
            log.info("   ... inside session.no_autoflush: %s", session.scalar(count_sql))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    engine = create_engine(POSTGRES_URL, pool_size=2, max_overflow=0)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    # One factory per process, configured once; every unit of work calls it.
    factory = sessionmaker(engine, expire_on_commit=False)
    event.listen(factory, "after_begin", on_begin)  # session event: every session it makes
    event.listen(engine, "commit", on_commit)  # engine events: what reaches the connection
    event.listen(engine, "rollback", on_rollback)
    try:
        lifecycle(engine, factory)
        two_factories(engine)
        context_managers(factory)
        autoflush_for_text(factory)
    finally:
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "rollback", on_rollback)
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
