"""A typed repository and unit of work over SQLAlchemy, and the in-memory fakes a service test uses.

The service layer sees only the two Protocols. The same service tests run against the fakes
(no database) and against PostgreSQL, which is how the fakes are kept honest.
"""

import logging
import os
import sys
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any, Protocol, Self

from sqlalchemy import Numeric, String, create_engine, delete, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
log = logging.getLogger("billing")


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "s5_11_repo_invoices"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    paid: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(10))
    due_on: Mapped[date]

    def __init__(self, number: str, total: Decimal, due_on: date) -> None:
        # Defaults set here, not with mapped_column(default=...): that one is applied only
        # by an INSERT, so an object that lives in a fake repository would never get it.
        super().__init__(
            number=number, total=total, due_on=due_on, paid=Decimal("0.00"), status="open"
        )


class InvoiceNotFound(LookupError):
    pass


class OverpaymentError(ValueError):
    pass


# ---- the ports: what the service layer is allowed to know ------------------------------
class InvoiceRepository(Protocol):
    def add(self, invoice: Invoice) -> None: ...
    def get(self, number: str) -> Invoice: ...
    def overdue(self, today: date) -> list[Invoice]: ...


class UnitOfWork(Protocol):
    @property  # read-only, so an implementation may declare a narrower repository type
    def invoices(self) -> InvoiceRepository: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exc_info: object) -> None: ...
    def commit(self) -> None: ...


# ---- the SQLAlchemy adapters --------------------------------------------------------------
class SqlAlchemyInvoiceRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, invoice: Invoice) -> None:
        self.session.add(invoice)

    def get(self, number: str) -> Invoice:
        invoice = self.session.scalars(select(Invoice).where(Invoice.number == number)).first()
        if invoice is None:
            raise InvoiceNotFound(number)
        return invoice

    def overdue(self, today: date) -> list[Invoice]:
        query = select(Invoice).where(Invoice.status == "open", Invoice.due_on < today)
        return list(self.session.scalars(query.order_by(Invoice.due_on, Invoice.number)))


class SqlAlchemyUnitOfWork:
    """Owns one session and its transaction: nothing is written unless commit() is called."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def __enter__(self) -> Self:
        self.session = self.factory()
        self.invoices = SqlAlchemyInvoiceRepository(self.session)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.session.rollback()  # a no-op after commit(); undoes everything otherwise
        self.session.close()

    def commit(self) -> None:
        self.session.commit()


# ---- the fakes ----------------------------------------------------------------------------
class FakeInvoiceRepository:
    def __init__(self, invoices: list[Invoice]) -> None:
        self.rows = {invoice.number: invoice for invoice in invoices}

    def add(self, invoice: Invoice) -> None:
        self.rows[invoice.number] = invoice

    def get(self, number: str) -> Invoice:
        try:
            return self.rows[number]
        except KeyError:
            raise InvoiceNotFound(number) from None

    def overdue(self, today: date) -> list[Invoice]:
        found = [i for i in self.rows.values() if i.status == "open" and i.due_on < today]
        return sorted(found, key=lambda i: (i.due_on, i.number))


class FakeUnitOfWork:
    def __init__(self, invoices: list[Invoice]) -> None:
        self.invoices = FakeInvoiceRepository(invoices)
        self.commits = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def commit(self) -> None:
        self.commits += 1


# ---- the service layer: business rules, no SQLAlchemy -------------------------------------
def record_payment(uow: UnitOfWork, number: str, amount: Decimal) -> str:
    with uow:
        invoice = uow.invoices.get(number)
        outstanding = invoice.total - invoice.paid
        if amount > outstanding:
            raise OverpaymentError(f"{number}: {amount} exceeds the {outstanding} outstanding")
        invoice.paid += amount
        status = invoice.status = "paid" if invoice.paid == invoice.total else "open"
        uow.commit()
    return status


def list_overdue(uow: UnitOfWork, today: date) -> list[str]:
    with uow:
        return [invoice.number for invoice in uow.invoices.overdue(today)]


# ---- service tests, written once, run against either unit of work -------------------------
def seed() -> list[Invoice]:
    return [
        Invoice(number="INV-4001", total=Decimal("100.00"), due_on=date(2025, 3, 1)),
        Invoice(number="INV-4002", total=Decimal("40.00"), due_on=date(2025, 2, 1)),
        Invoice(number="INV-4003", total=Decimal("75.00"), due_on=date(2025, 6, 1)),
    ]


def test_partial_then_full_payment(make_uow: Callable[[], UnitOfWork]) -> None:
    assert record_payment(make_uow(), "INV-4001", Decimal("60.00")) == "open"
    assert record_payment(make_uow(), "INV-4001", Decimal("40.00")) == "paid"


def test_overpayment_is_refused_and_nothing_changes(make_uow: Callable[[], UnitOfWork]) -> None:
    try:
        record_payment(make_uow(), "INV-4002", Decimal("40.01"))
    except OverpaymentError:
        pass
    else:
        raise AssertionError("an overpayment must raise OverpaymentError")
    assert record_payment(make_uow(), "INV-4002", Decimal("40.00")) == "paid"


def test_overdue_excludes_paid_and_future(make_uow: Callable[[], UnitOfWork]) -> None:
    record_payment(make_uow(), "INV-4002", Decimal("40.00"))
    assert list_overdue(make_uow(), date(2025, 4, 1)) == ["INV-4001"]


SERVICE_TESTS = [
    test_partial_then_full_payment,
    test_overpayment_is_refused_and_nothing_changes,
    test_overdue_excludes_paid_and_future,
]


def fake_backend() -> Callable[[], UnitOfWork]:
    uow = FakeUnitOfWork(seed())  # one shared "database" for the whole test
    return lambda: uow


def postgres_backend(factory: sessionmaker[Session]) -> Callable[[], UnitOfWork]:
    with factory.begin() as session:  # a fresh data set per test, in the real table
        session.execute(delete(Invoice))
        session.add_all(seed())
    return lambda: SqlAlchemyUnitOfWork(factory)


def run_suite(name: str, backend: Callable[[], Callable[[], UnitOfWork]], rounds: int) -> None:
    started = time.perf_counter()
    for _ in range(rounds):
        for test in SERVICE_TESTS:
            test(backend())
    per_test = (time.perf_counter() - started) / (rounds * len(SERVICE_TESTS))
    count = len(SERVICE_TESTS)
    log.info(
        "   %-8s %d tests x %d rounds passed, %.0f us per test", name, count, rounds, per_test * 1e6
    )


def show_sql(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
    log.info("   SQL: %s", " ".join(statement.split())[:100])


def show_commit(conn: Any) -> None:
    log.info("   SQL: COMMIT")


def show_rollback(conn: Any) -> None:
    log.info("   SQL: ROLLBACK")


def main() -> None:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    engine = create_engine(POSTGRES_URL)
    factory = sessionmaker(engine)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    listeners: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", show_sql),
        ("commit", show_commit),
        ("rollback", show_rollback),
    ]
    try:
        make_uow = postgres_backend(factory)
        for name, listener in listeners:
            event.listen(engine, name, listener)
        log.info("1. one service call through the SQLAlchemy unit of work")
        log.info("   -> %s", record_payment(make_uow(), "INV-4003", Decimal("75.00")))
        log.info("2. the rule fails inside the block: __exit__ rolls back")
        try:
            record_payment(make_uow(), "INV-4001", Decimal("500.00"))
        except OverpaymentError as error:
            log.info("   -> OverpaymentError: %s", error)
        for name, listener in listeners:
            event.remove(engine, name, listener)

        log.info("3. the same service tests, against the fake and against PostgreSQL")
        run_suite("fake", fake_backend, rounds=200)
        run_suite("postgres", lambda: postgres_backend(factory), rounds=10)
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
