"""Three ways to test code that reads overdue invoices: a mocked Session, a fake repository, and
the real query against PostgreSQL. This file is a pytest module; run directly, it runs itself.

The query has a bug only a database shows: `status != 'paid'` is NULL, not true, for the
invoices imported from the old system with no status, so SQL drops them.
"""

import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol
from unittest.mock import create_autospec

import pytest
from sqlalchemy import Engine, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
TODAY = date(2025, 3, 31)


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "s5_12_mk_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_email: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date]
    status: Mapped[str | None] = mapped_column(String(10))  # NULL: imported, never updated


# --- the code under test ---------------------------------------------------------------
class InvoiceRepository(Protocol):
    def overdue(self, today: date) -> Sequence[Invoice]: ...


class SqlInvoiceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def overdue(self, today: date) -> Sequence[Invoice]:
        query = select(Invoice).where(Invoice.due_on < today, Invoice.status != "paid")
        return self.session.scalars(query.order_by(Invoice.number)).all()


class FixedSqlInvoiceRepository(SqlInvoiceRepository):
    def overdue(self, today: date) -> Sequence[Invoice]:
        late = Invoice.due_on < today
        query = select(Invoice).where(late, Invoice.status.is_distinct_from("paid"))
        return self.session.scalars(query.order_by(Invoice.number)).all()


@dataclass
class Outbox:
    sent: list[tuple[str, str]] = field(default_factory=list)

    def send(self, to: str, subject: str) -> None:
        self.sent.append((to, subject))


def send_reminders(invoices: InvoiceRepository, outbox: Outbox, today: date) -> int:
    """One reminder per overdue invoice; the business rule the service owns."""
    overdue = invoices.overdue(today)
    for invoice in overdue:
        days = (today - invoice.due_on).days
        outbox.send(invoice.customer_email, f"{invoice.number} is {days} days late")
    return len(overdue)


# --- the tests -------------------------------------------------------------------------
def invoices() -> list[Invoice]:
    """One paid, one open, one imported without a status, one not yet due."""
    rows: list[tuple[str, date, str | None]] = [
        ("INV-1", date(2025, 2, 1), "paid"),
        ("INV-2", date(2025, 3, 1), "open"),
        ("INV-3", date(2025, 3, 16), None),
        ("INV-4", date(2025, 4, 30), "open"),
    ]
    return [
        Invoice(number=number, customer_email="ap@acme.example", due_on=due, status=status)
        for number, due, status in rows
    ]


class FakeInvoices:
    """An in-memory repository: a second implementation of the query, in Python."""

    def __init__(self, rows: list[Invoice]) -> None:
        self.rows = rows

    def overdue(self, today: date) -> Sequence[Invoice]:
        return [i for i in self.rows if i.due_on < today and i.status != "paid"]


def test_overdue_with_a_mocked_session() -> None:
    session = create_autospec(Session, instance=True)
    session.scalars.return_value.all.return_value = invoices()[1:3]
    found = SqlInvoiceRepository(session).overdue(TODAY)
    assert [invoice.number for invoice in found] == ["INV-2", "INV-3"]
    session.scalars.assert_called_once()  # all it can check: that *some* query was sent


def test_reminders_with_a_fake_repository() -> None:
    outbox = Outbox()
    assert send_reminders(FakeInvoices(invoices()), outbox, TODAY) == 2
    assert outbox.sent == [
        ("ap@acme.example", "INV-2 is 30 days late"),
        ("ap@acme.example", "INV-3 is 15 days late"),
    ]


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        yield session
        session.close()
        outer.rollback()


@pytest.mark.parametrize("repository", [SqlInvoiceRepository, FixedSqlInvoiceRepository])
def test_overdue_query_against_postgresql(
    session: Session, repository: type[SqlInvoiceRepository]
) -> None:
    session.add_all(invoices())
    session.flush()
    found = repository(session).overdue(TODAY)
    assert [invoice.number for invoice in found] == ["INV-2", "INV-3"], "INV-2, INV-3 are late"


# --- run this module with pytest -------------------------------------------------------
PYTEST_INI = """\
[pytest]
addopts = --strict-markers
filterwarnings = error
xfail_strict = true
"""


def run_this_file_with_pytest() -> None:
    sys.dont_write_bytecode = True  # keep pytest's rewritten .pyc out of the examples folder
    os.environ["COLUMNS"] = "80"  # pytest pads its lines to the terminal width
    with tempfile.TemporaryDirectory(prefix="s5_12_") as folder:
        ini = Path(folder) / "pytest.ini"
        ini.write_text(PYTEST_INI)
        arguments = ["-v", "--no-header", "-p", "no:cacheprovider", "--disable-plugin-autoload"]
        here = str(Path(__file__).parent)
        code = pytest.main([__file__, *arguments, "-c", str(ini), "--rootdir", here])
    print(f"pytest exit code: {int(code)}")


if __name__ == "__main__":
    run_this_file_with_pytest()
