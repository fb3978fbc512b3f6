"""Hybrid properties with a SQL side, and custom operators through op() and bool_op()."""

import logging
import os
import warnings
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Date,
    Float,
    Numeric,
    String,
    and_,
    cast,
    create_engine,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import CIDR, INET
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.hybrid import hybrid_method, hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement

log = logging.getLogger("s5_5.hybrids")
POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "s5_5_invoices"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(120))
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    paid: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    due_on: Mapped[date] = mapped_column(Date)
    client_ip: Mapped[str] = mapped_column(INET)

    @hybrid_property
    def balance(self) -> Decimal:  # arithmetic reads the same in Python and in SQL
        return self.total - self.paid

    @hybrid_property
    def domain(self) -> str:
        return self.email.rpartition("@")[2].lower()

    @domain.inplace.expression
    @classmethod
    def _domain_expression(cls) -> ColumnElement[str]:  # the SQL twin of the Python body
        return func.lower(func.split_part(cls.email, "@", 2))

    @hybrid_method
    def overdue_on(self, day: date) -> bool:
        return self.balance > 0 and self.due_on < day

    @overdue_on.expression  # hybrid_method mutates in place; .inplace trips mypy here
    @classmethod
    def _overdue_on_expression(cls, day: date) -> ColumnElement[bool]:
        return and_(cls.balance > 0, cls.due_on < day)

    @hybrid_method
    def naive_overdue_on(self, day: date) -> bool:  # no expression: fine on rows, not in SQL
        return self.balance > 0 and self.due_on < day


def within(address: ColumnElement[str] | Mapped[str], network: str) -> ColumnElement[bool]:
    """INET "is contained within or equals": PostgreSQL's <<=, which SQLAlchemy has no name for."""
    return address.bool_op("<<=")(cast(network, CIDR))


INVOICES = [  # email, total, paid, due_on, client_ip
    ("ap@Acme.example", "1200.00", "1200.00", date(2024, 4, 1), "10.20.0.15"),
    ("billing@acme.example", "800.00", "300.00", date(2024, 3, 15), "10.20.4.2"),
    ("finance@globex.example", "450.00", "0.00", date(2024, 5, 1), "192.0.2.44"),
    ("ops@initech.example", "95.50", "0.00", date(2024, 2, 28), "10.99.0.7"),
]
TODAY = date(2024, 4, 10)
TRGM_LOCK_KEY = 5_505_001  # advisory-lock key shared by the scripts that install pg_trgm


def ensure_pg_trgm(engine: Engine) -> None:
    """Install pg_trgm if it is missing, and leave it installed afterwards.

    An extension belongs to the database, not to one script: a concurrent run (this example,
    another section, a test suite) may own indexes that depend on it, so dropping it at the
    end would fail or break them. The advisory lock makes two runs that both find it missing
    install it one after the other instead of colliding on pg_extension's unique index.
    """
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TRGM_LOCK_KEY})
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except IntegrityError:  # a session that skips the lock installed it at the same moment
        log.info("pg_trgm was installed concurrently by another session")


def main() -> None:
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    engine = create_engine(POSTGRES_URL)
    ensure_pg_trgm(engine)  # the <-> operator below comes from pg_trgm
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            session.add_all(
                Invoice(email=e, total=Decimal(t), paid=Decimal(p), due_on=d, client_ip=ip)
                for e, t, p, d, ip in INVOICES
            )
            session.flush()
            first = session.get_one(Invoice, 1)
            print(
                f"instance level: balance={first.balance} domain={first.domain} "
                f"overdue={first.overdue_on(TODAY)}"
            )

            print("SQL:", Invoice.balance > 0)
            print("SQL:", Invoice.domain == "acme.example")
            print("SQL:", Invoice.overdue_on(TODAY))
            rows = session.execute(
                select(Invoice.id, Invoice.domain, Invoice.balance)
                .where(Invoice.overdue_on(TODAY))
                .order_by(Invoice.balance.desc())
            )
            print("overdue on", TODAY, [tuple(row) for row in rows])
            try:
                select(Invoice.id).where(Invoice.naive_overdue_on(TODAY))
            except TypeError as exc:
                log.error("hybrid without an expression, used in SQL: TypeError: %s", exc)

            office = within(Invoice.client_ip, "10.20.0.0/16")
            print("SQL:", office)
            print(
                "from the office network:",
                session.scalars(select(Invoice.id).where(office).order_by(Invoice.id)).all(),
            )

            typo = "biling@acme.exmaple"
            guessed = Invoice.email.op("<->")(typo)  # trigram distance, a float in PostgreSQL
            distance = Invoice.email.op("<->", return_type=Float)(typo)
            print(f"result type: without return_type {guessed.type}, with it {distance.type}")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                guessed * 100  # arithmetic on what SQLAlchemy believes is a VARCHAR
            print("guessed * 100 ->", caught[0].category.__name__, caught[0].message)
            print("SQL:", distance < 0.7)
            closest = session.execute(select(Invoice.email, distance).order_by(distance).limit(2))
            print("did you mean:", [(email, round(d, 3)) for email, d in closest])

            session.execute(
                update(Invoice).where(Invoice.domain == "acme.example").values(paid=Invoice.total)
            )
            print(
                "after settling acme:",
                session.scalars(
                    select(Invoice.id).where(Invoice.balance > 0).order_by(Invoice.id)
                ).all(),
            )
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
