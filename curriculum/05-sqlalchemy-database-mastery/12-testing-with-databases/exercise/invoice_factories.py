"""Test data for the invoicing suite: factory_boy factories and a scenario builder.

The tests own the database session (a connection, an outer transaction, a savepoint session);
this module only decides what valid test data looks like and where it is written.
"""
# factory_boy 3.3 leaves its declarations unannotated: exempt calls into `factory`, check the rest.
# mypy: untyped-calls-exclude=factory

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta  # noqa: F401 (timedelta: you will need it)
from decimal import Decimal

from factory.alchemy import SQLAlchemyModelFactory
from factory.declarations import LazyAttribute, Sequence, SubFactory, Trait  # noqa: F401
from factory.faker import Faker  # noqa: F401
from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

# Given: the models and the error type. Do not change them.


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_12_ex_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))


class Invoice(Base):
    __tablename__ = "s5_12_ex_invoices"
    __table_args__ = (CheckConstraint("amount >= 0", name="ck_s5_12_ex_invoices_amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey(Customer.id))
    customer: Mapped[Customer] = relationship()
    number: Mapped[str] = mapped_column(String(20), unique=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    status: Mapped[str] = mapped_column(String(10))
    issued_on: Mapped[date]
    due_on: Mapped[date]
    paid_on: Mapped[date | None]


class FactoriesNotBound(RuntimeError):
    """A factory tried to write while no test session was bound."""


# Yours from here on.


def current_session() -> Session:
    """The session bound by bind_factories(); FactoriesNotBound outside of it.

    The error message must mention bind_factories, so that whoever meets it knows the fix.
    """
    # TODO: keep the bound session somewhere this function can read it.
    raise NotImplementedError


@contextmanager
def bind_factories(session: Session) -> Iterator[None]:
    """Make every factory write through `session` inside the block, and through none after.

    Unbind even when the block raises.
    """
    # TODO
    raise NotImplementedError
    yield


class CustomerFactory(SQLAlchemyModelFactory):
    """A valid customer: email customer<n>@example.com (unique), a Faker company name, "US".

    create() writes through current_session(), and the row must survive a rollback() by the
    code under test, the way a row that existed before the request would.
    """

    class Meta:
        model = Customer
        # TODO: sqlalchemy_session_factory and sqlalchemy_session_persistence

    # TODO: email, name, country


class InvoiceFactory(SQLAlchemyModelFactory):
    """A valid open invoice: its own customer unless one is given, number INV-<5 digits>
    (unique), amount 100.00, issued 2025-03-01, due 30 days after issue (also after an
    overridden issue date), not paid. InvoiceFactory(paid=True) gives status "paid" and
    paid_on 10 days after issue.
    """

    class Meta:
        model = Invoice
        # TODO: the same session settings as CustomerFactory

    # TODO: class Params with the `paid` trait, then the field declarations


def overdue_scenario(today: date) -> dict[str, Invoice]:
    """One customer with four invoices dated relative to `today`, each issued 30 days before
    it is due:

    - "paid": due 20 days ago and paid;
    - "current": due in 5 days;
    - "late": due 10 days ago;
    - "very_late": due 45 days ago.
    """
    # TODO: build them with the factories (create the customer once).
    raise NotImplementedError
