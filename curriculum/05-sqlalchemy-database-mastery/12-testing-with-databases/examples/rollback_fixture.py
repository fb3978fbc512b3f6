"""The transaction-rollback fixture, statement by statement, and the default that leaks rows.

`isolated_session()` is the body of the fixture most SQLAlchemy suites write: one connection,
an outer transaction the fixture owns, and a Session that joins it. The "tests" are plain
functions here so that every statement PostgreSQL receives can be printed as it is sent.
"""

import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from sqlalchemy import Engine, String, create_engine, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
JoinMode = Literal["create_savepoint", "conditional_savepoint"]
ENGINE_LOG = logging.getLogger("sqlalchemy.engine.Engine")


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_12_rb_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)


class DuplicateEmail(Exception):
    pass


def register_customer(session: Session, email: str) -> None:
    """The code under test: it commits, and rolls back its own failed transaction."""
    session.add(Customer(email=email))
    try:
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise DuplicateEmail(email) from error


class SqlPrinter(logging.Handler):
    """Prints each statement the engine logger reports, without its parameter lines."""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("["):  # "[generated in 0.0001s] {...}": parameters, timing
            return
        statement = " ".join(message.split())
        if " VALUES " in statement:
            statement = statement.split(" VALUES ")[0] + " VALUES (...)"
        print(f"     SQL> {statement}")


@contextmanager
def sql_shown(shown: bool) -> Iterator[None]:
    previous = ENGINE_LOG.level
    ENGINE_LOG.setLevel(logging.INFO if shown else logging.WARNING)
    try:
        yield
    finally:
        ENGINE_LOG.setLevel(previous)


@contextmanager
def isolated_session(engine: Engine, mode: JoinMode) -> Iterator[Session]:
    """Setup: connect, begin, seed one customer. Teardown: close, roll everything back."""
    with engine.connect() as connection:
        outer = connection.begin()
        connection.execute(insert(Customer), {"email": "seed@example.com"})
        session = Session(bind=connection, join_transaction_mode=mode)
        try:
            yield session
        finally:
            session.close()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                outer.rollback()
            for warning in caught:
                print(f"   teardown warned: {warning.category.__name__}: {warning.message}")


def customers_seen(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Customer)) or 0


def customers_seen_elsewhere(engine: Engine) -> list[str]:
    """What a second connection sees: a worker thread, or an app built with its own engine."""
    with sql_shown(False), engine.connect() as other:
        return list(other.scalars(select(Customer.email).order_by(Customer.email)))


def a_test_that_registers_twice(session: Session, engine: Engine) -> None:
    register_customer(session, "ada@example.com")
    try:
        register_customer(session, "ada@example.com")
    except DuplicateEmail:
        print("   -- second registration refused with DuplicateEmail")
    print(f"   -- the test's session sees {customers_seen(session)} customer(s)")
    print(f"   -- another connection sees {customers_seen_elsewhere(engine)}")
    register_customer(session, "grace@example.com")


def main() -> None:
    ENGINE_LOG.addHandler(SqlPrinter())
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        print('1. join_transaction_mode="create_savepoint"')
        with sql_shown(True), isolated_session(engine, "create_savepoint") as session:
            a_test_that_registers_twice(session, engine)
        print(f"   after teardown a fresh connection sees {customers_seen_elsewhere(engine)}")

        print("\n2. the default, conditional_savepoint (what a bare Session(bind=connection) gets)")
        with sql_shown(True), isolated_session(engine, "conditional_savepoint") as session:
            a_test_that_registers_twice(session, engine)
        print(f"   after teardown a fresh connection sees {customers_seen_elsewhere(engine)}")
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
