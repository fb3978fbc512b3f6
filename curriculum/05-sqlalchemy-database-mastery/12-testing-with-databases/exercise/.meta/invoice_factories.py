"""Test data for the invoicing suite: factory_boy factories and a scenario builder.

The tests own the database session (a connection, an outer transaction, a savepoint session);
this module only decides what valid test data looks like and where it is written.
"""
# factory_boy 3.3 leaves its declarations unannotated: exempt calls into `factory`, check the rest.
# mypy: untyped-calls-exclude=factory

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal

from factory.alchemy import SQLAlchemyModelFactory
from factory.declarations import LazyAttribute, Sequence, SubFactory, Trait
from factory.faker import Faker
from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


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


_bound: list[Session] = []


def current_session() -> Session:
    """The session bound by bind_factories(); FactoriesNotBound outside of it."""
    if not _bound:
        raise FactoriesNotBound("factories write through a test session: use bind_factories()")
    return _bound[-1]


@contextmanager
def bind_factories(session: Session) -> Iterator[None]:
    """Make every factory write through `session` inside the block, and through none after."""
    _bound.append(session)
    try:
        yield
    finally:
        _bound.pop()


class CustomerFactory(SQLAlchemyModelFactory):
    class Meta:
        model = Customer
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "commit"

    email = Sequence(lambda n: f"customer{n}@example.com")
    name = Faker("company")
    country = "US"


class InvoiceFactory(SQLAlchemyModelFactory):
    class Meta:
        model = Invoice
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "commit"

    class Params:
        paid = Trait(
            status="paid",
            paid_on=LazyAttribute(lambda invoice: invoice.issued_on + timedelta(days=10)),
        )

    customer = SubFactory(CustomerFactory)
    number = Sequence(lambda n: f"INV-{n:05d}")
    amount = Decimal("100.00")
    status = "open"
    issued_on = date(2025, 3, 1)
    due_on = LazyAttribute(lambda invoice: invoice.issued_on + timedelta(days=30))
    paid_on = None


def overdue_scenario(today: date) -> dict[str, Invoice]:
    """One customer with four invoices, dated relative to `today`, keyed by what they show."""
    customer = CustomerFactory.create()

    def invoice(days_past_due: int, **overrides: object) -> Invoice:
        due_on = today - timedelta(days=days_past_due)
        created: Invoice = InvoiceFactory.create(
            customer=customer, issued_on=due_on - timedelta(days=30), **overrides
        )
        return created

    return {
        "paid": invoice(20, paid=True),
        "current": invoice(-5),
        "late": invoice(10),
        "very_late": invoice(45),
    }
