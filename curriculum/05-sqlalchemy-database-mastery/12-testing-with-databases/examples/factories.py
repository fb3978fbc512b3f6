"""Test objects from a hand-written factory function and from factory_boy, with the SQL each costs.

factory_boy 3.3 ships a py.typed marker but leaves most of its declarations unannotated, so
mypy --strict reports every `Sequence(...)` as a call to an untyped function. The setting below
exempts only functions defined in the `factory` package; every other call stays checked.
"""
# mypy: untyped-calls-exclude=factory

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import factory.random
from factory.alchemy import SQLAlchemyModelFactory
from factory.declarations import LazyAttribute, Sequence, SubFactory, Trait
from factory.faker import Faker
from sqlalchemy import (
    CheckConstraint,
    Engine,
    ForeignKey,
    Numeric,
    String,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_12_fa_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))


class Invoice(Base):
    __tablename__ = "s5_12_fa_invoices"
    __table_args__ = (CheckConstraint("amount >= 0", name="ck_s5_12_fa_invoices_amount"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey(Customer.id))
    customer: Mapped[Customer] = relationship()
    number: Mapped[str] = mapped_column(String(20), unique=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    status: Mapped[str] = mapped_column(String(10))
    issued_on: Mapped[date]
    due_on: Mapped[date]


# --- 1. The factory pattern by hand: defaults in one place, overrides per test -------------
_customer_numbers = itertools.count(1)


def make_customer(session: Session, **overrides: Any) -> Customer:
    """A valid customer with unique fields; the test names only what it is about."""
    n = next(_customer_numbers)
    fields: dict[str, Any] = {
        "email": f"buyer{n}@example.org",
        "name": f"Buyer {n}",
        "country": "US",
    }
    customer = Customer(**(fields | overrides))
    session.add(customer)
    session.flush()  # the id exists now, and constraints have been checked
    return customer


# --- 2. The same with factory_boy --------------------------------------------------------
class CustomerFactory(SQLAlchemyModelFactory):
    class Meta:
        model = Customer
        sqlalchemy_session_persistence = "flush"

    email = Sequence(lambda n: f"customer{n}@example.com")
    name = Faker("name")
    country = "US"


class InvoiceFactory(SQLAlchemyModelFactory):
    class Meta:
        model = Invoice
        sqlalchemy_session_persistence = "flush"

    class Params:
        paid = Trait(status="paid")

    customer = SubFactory(CustomerFactory)
    number = Sequence(lambda n: f"INV-{n:05d}")
    amount = Decimal("120.00")
    status = "open"
    issued_on = date(2025, 3, 1)
    due_on = LazyAttribute(lambda invoice: invoice.issued_on + timedelta(days=30))


def create_invoice(**overrides: Any) -> Invoice:
    invoice: Invoice = InvoiceFactory.create(**overrides)
    return invoice


@contextmanager
def factories_bound_to(session: Session) -> Iterator[None]:
    """What a pytest fixture does: point every factory at this test's session, then unbind."""
    factories = (CustomerFactory, InvoiceFactory)
    for factory_class in factories:
        factory_class._meta.sqlalchemy_session = session  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for factory_class in factories:
            factory_class._meta.sqlalchemy_session = None  # type: ignore[attr-defined]


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.statements: list[str] = []
        event.listen(engine, "before_cursor_execute", self.record)

    def record(self, *args: Any) -> None:
        words = str(args[2]).split()  # args[2] is the SQL text
        self.statements.append(" ".join(words[:2]) if words[0] == "RELEASE" else words[0])

    def take(self) -> str:
        taken, self.statements = self.statements, []
        return f"SQL: {', '.join(taken) or 'none'}"


def demo(engine: Engine, counter: StatementCounter) -> None:
    with engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        print("1. a hand-written factory function")
        customer = make_customer(session, country="DE")
        print(f"   {customer.email} {customer.name} {customer.country} id set: {customer.id > 0}")
        print(f"   {counter.take()}")

        with factories_bound_to(session):
            print("2. factory_boy: build() makes objects, create() persists them")
            draft: Invoice = InvoiceFactory.build()
            print(f"   build : {draft.number} due {draft.due_on} id={draft.id}, ", end="")
            print(f"in session: {draft in session}; {counter.take()}")
            invoice = create_invoice(amount=Decimal("99.50"))
            print(f"   create: {invoice.number} for {invoice.customer.email} ", end="")
            print(f"({invoice.customer.name}) due {invoice.due_on}")
            print(f"   {counter.take()}")

            print("3. a trait, a related override and a batch sharing one customer")
            paid = create_invoice(paid=True, customer__country="FR")
            print(f"   paid=True -> status={paid.status}, customer country={paid.customer.country}")
            batch: list[Invoice] = InvoiceFactory.create_batch(3, customer=paid.customer)
            print(f"   batch: {[i.number for i in batch]}, one customer: ", end="")
            print(f"{len({i.customer_id for i in batch}) == 1}")
            print(f"   {counter.take()}")
            total = session.scalar(select(func.count()).select_from(Invoice))
            print(f"   invoices visible to the test: {total}")
        session.close()
        outer.rollback()
    with engine.connect() as other:
        left = other.scalar(select(func.count()).select_from(Invoice))
    print(f"   invoices left after the rollback: {left}")


def persistence_modes(engine: Engine, counter: StatementCounter) -> None:
    print("4. sqlalchemy_session_persistence: what create() sends, per setting")
    for mode in (None, "flush", "commit"):
        with engine.connect() as connection:
            outer = connection.begin()
            session = Session(bind=connection, join_transaction_mode="create_savepoint")
            CustomerFactory._meta.sqlalchemy_session = session  # type: ignore[attr-defined]
            CustomerFactory._meta.sqlalchemy_session_persistence = mode  # type: ignore[attr-defined]
            counter.take()
            customer: Customer = CustomerFactory.create()
            print(f"   {mode!s:<6} id={customer.id!s:<5} {counter.take()}")
            session.close()
            outer.rollback()
    CustomerFactory._meta.sqlalchemy_session_persistence = "flush"  # type: ignore[attr-defined]
    CustomerFactory._meta.sqlalchemy_session = None  # type: ignore[attr-defined]


def reproducible_names() -> None:
    print("5. Faker values repeat when the seed and the sequences are reset")
    for run in (1, 2):
        factory.random.reseed_random(20250301)
        CustomerFactory.reset_sequence()  # type: ignore[no-untyped-call]  # (inherited)
        names = [f"{c.email}={c.name}" for c in CustomerFactory.build_batch(2)]
        print(f"   run {run}: {names}")


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    counter = StatementCounter(engine)
    factory.random.reseed_random(20250301)
    try:
        demo(engine, counter)
        persistence_modes(engine, counter)
        reproducible_names()
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
