"""Wire SQLAlchemy into a payments service: one engine, one declarative Base, one session factory.

The same table is then read twice, through Core (rows) and through the ORM (objects), to show
that both layers send identical SQL over the same pooled connection.
"""

import logging
import os
import sys
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import Engine, ForeignKey, MetaData, Numeric, String, create_engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.types import TypeEngine

DATABASE_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
log = logging.getLogger("payments.db")
sql_log = logging.getLogger("sqlalchemy.engine")

# Predictable constraint names: a later migration can drop or alter them by name.
NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[type, TypeEngine[Any]]] = {
        str: String(120),
        Decimal: Numeric(12, 2),
    }


class Account(Base):
    __tablename__ = "s5_2_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(unique=True)


class Payment(Base):
    __tablename__ = "s5_2_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("s5_2_accounts.id"), index=True)
    amount: Mapped[Decimal]
    reference: Mapped[str | None] = mapped_column(String(40))


def build_engine(url: str) -> Engine:
    """One engine per process, created at start-up; every setting is explicit."""
    return create_engine(
        url,
        pool_size=5,
        max_overflow=5,
        pool_timeout=10,
        pool_pre_ping=True,
        connect_args={"application_name": "s5_2_payments", "options": "-c statement_timeout=5s"},
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s | %(message)s", stream=sys.stdout)
    engine = build_engine(DATABASE_URL)
    log.info("engine built, nothing connected yet: %s", engine.pool.status())
    Base.metadata.drop_all(engine)  # the first connection runs the dialect's start-up queries

    sql_log.setLevel(logging.INFO)
    Base.metadata.create_all(engine)
    sql_log.setLevel(logging.WARNING)

    session_factory = sessionmaker(engine, expire_on_commit=False)
    with session_factory.begin() as session:
        account = Account(email="billing@northwind.example")
        session.add(account)
        session.flush()  # INSERT ... RETURNING fills account.id
        session.add_all(
            [
                Payment(account_id=account.id, amount=Decimal("1200.00"), reference="PO-7731"),
                Payment(account_id=account.id, amount=Decimal("89.90")),
            ]
        )

    payments = Payment.__table__
    sql_log.setLevel(logging.INFO)
    with engine.connect() as conn:  # Core: a Connection, a Table, tuples back
        row = conn.execute(select(payments).where(payments.c.amount > Decimal("100"))).one()
    with session_factory() as session:  # ORM: a Session, a mapped class, objects back
        payment = session.scalars(select(Payment).where(Payment.amount > Decimal("100"))).one()
        tracked = payment in session
    sql_log.setLevel(logging.WARNING)
    log.info("Core returned a %s: %r", type(row).__name__, tuple(row))
    log.info("ORM returned a %s, tracked by its session: %s", type(payment).__name__, tracked)

    Base.metadata.drop_all(engine)
    engine.dispose()


if __name__ == "__main__":
    try:
        main()
    except OperationalError as exc:
        log.error("database unreachable: %s", exc.orig)
        sys.exit(1)
