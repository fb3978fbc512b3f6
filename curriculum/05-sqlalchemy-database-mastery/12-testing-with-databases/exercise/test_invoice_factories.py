"""Behavioural tests for invoice_factories.py, run against a real PostgreSQL.

Every test gets a session joined to an outer transaction that is rolled back afterwards, the
same fixture the lesson builds; the factories must write through it and nowhere else.
"""

import os
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from invoice_factories import (
    Base,
    Customer,
    CustomerFactory,
    FactoriesNotBound,
    Invoice,
    InvoiceFactory,
    bind_factories,
    overdue_scenario,
)
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
TODAY = date(2025, 6, 15)


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    engine = create_engine(URL)
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
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


@pytest.fixture
def bound(session: Session) -> Iterator[Session]:
    with bind_factories(session):
        yield session


def count(session: Session, model: type[Base]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_customers_get_unique_emails_and_database_ids(bound: Session) -> None:
    first, second = CustomerFactory.create(), CustomerFactory.create()
    assert first.email != second.email, "email is unique in the table: use a Sequence"
    assert re.fullmatch(r"customer\d+@example\.com", first.email), f"got {first.email!r}"
    assert first.id is not None and second.id is not None, "create() must write the rows"
    assert first.country == "US"
    assert first.name, "name comes from Faker('company')"


def test_build_sends_nothing_to_the_database(bound: Session) -> None:
    draft = InvoiceFactory.build()
    assert draft.id is None, "build() makes objects without a session"
    assert draft not in bound, "build() must not add the object to the session"
    assert draft.customer.id is None, "the SubFactory follows the build strategy too"
    assert count(bound, Customer) == 0


def test_an_invoice_brings_its_own_customer(bound: Session) -> None:
    invoice = InvoiceFactory.create()
    assert invoice.customer_id == invoice.customer.id, "customer = SubFactory(CustomerFactory)"
    assert count(bound, Customer) == 1
    assert re.fullmatch(r"INV-\d{5}", invoice.number), f"got {invoice.number!r}"
    assert (invoice.amount, invoice.status, invoice.paid_on) == (Decimal("100.00"), "open", None)


def test_invoices_for_a_given_customer_reuse_it(bound: Session) -> None:
    customer = CustomerFactory.create(country="DE")
    invoices = InvoiceFactory.create_batch(3, customer=customer)
    assert {invoice.customer_id for invoice in invoices} == {customer.id}
    assert count(bound, Customer) == 1, "passing customer= must not create another customer"
    assert len({invoice.number for invoice in invoices}) == 3, "numbers are unique"


def test_due_date_follows_an_overridden_issue_date(bound: Session) -> None:
    default = InvoiceFactory.create()
    assert (default.issued_on, default.due_on) == (date(2025, 3, 1), date(2025, 3, 31))
    moved = InvoiceFactory.create(issued_on=date(2025, 1, 10))
    assert moved.due_on == date(2025, 2, 9), "due_on = issued_on + 30 days: a LazyAttribute"


def test_the_paid_trait_sets_status_and_payment_date(bound: Session) -> None:
    invoice = InvoiceFactory.create(paid=True, issued_on=date(2025, 4, 1))
    assert invoice.status == "paid", "paid=True is a Trait in class Params"
    assert invoice.paid_on == date(2025, 4, 11), "paid_on = issued_on + 10 days"


def test_the_database_still_checks_what_factories_write(bound: Session) -> None:
    with pytest.raises(IntegrityError, match="ck_s5_12_ex_invoices_amount"):
        InvoiceFactory.create(amount=Decimal("-1.00"))


def test_factory_rows_survive_a_rollback_in_the_code_under_test(bound: Session) -> None:
    invoice = InvoiceFactory.create()
    bound.add(Customer(email=invoice.customer.email, name="Duplicate", country="US"))
    with pytest.raises(IntegrityError):  # the code under test fails on a duplicate email ...
        bound.flush()
    bound.rollback()  # ... and rolls back, as it should
    assert count(bound, Invoice) == 1, (
        "the factory's invoice was undone with the code's work: persist with 'commit' so each "
        "factory row is released into the test's outer transaction"
    )


def test_nothing_survives_the_test(engine: Engine) -> None:
    with engine.connect() as connection:
        outer = connection.begin()
        with bind_factories(Session(bind=connection, join_transaction_mode="create_savepoint")):
            InvoiceFactory.create_batch(2)
        outer.rollback()
    with Session(engine) as fresh:
        assert count(fresh, Invoice) == 0, "factories must write through the bound session only"


def test_a_factory_outside_bind_factories_raises_a_clear_error(session: Session) -> None:
    with pytest.raises(FactoriesNotBound, match="bind_factories"):
        CustomerFactory.create()


def test_bind_factories_unbinds_even_when_the_block_raises(session: Session) -> None:
    with pytest.raises(ZeroDivisionError), bind_factories(session):
        CustomerFactory.create()
        1 / 0  # noqa: B018
    try:
        CustomerFactory.create()
    except FactoriesNotBound:
        return
    pytest.fail("the session stayed bound after the block raised: unbind in a `finally:`")


def test_overdue_scenario_dates_four_invoices_relative_to_today(bound: Session) -> None:
    scenario = overdue_scenario(TODAY)
    assert sorted(scenario) == ["current", "late", "paid", "very_late"]
    assert count(bound, Customer) == 1, "all four invoices belong to one customer"
    assert count(bound, Invoice) == 4
    assert scenario["late"].due_on == date(2025, 6, 5), "late: due 10 days before today"
    assert scenario["very_late"].due_on == date(2025, 5, 1), "very_late: due 45 days before"
    assert scenario["current"].due_on > TODAY, "current: not yet due"
    assert scenario["paid"].status == "paid" and scenario["paid"].due_on < TODAY
    assert all(i.issued_on.toordinal() + 30 == i.due_on.toordinal() for i in scenario.values())
