"""Session events for an audit log and a transactional outbox, and three hooks that misbehave.

before_flush writes audit rows and outbox messages into the same transaction as the change;
after_commit only wakes the relay, which publishes from its own session.
"""

import os
import warnings
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    DateTime,
    Engine,
    Numeric,
    String,
    create_engine,
    event,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Mapper,
    Session,
    UOWTransaction,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.orm.exc import FlushError

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
AUDITED = ("status", "total")


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "s5_11_outbox_invoices"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    # active_history: a blind write to an expired attribute loads the old value first,
    # so the audit hook always has something to put in old_value.
    status: Mapped[str] = mapped_column(String(10), active_history=True)
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2), active_history=True)


class AuditEntry(Base):
    __tablename__ = "s5_11_outbox_audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_number: Mapped[str] = mapped_column(String(20))
    field: Mapped[str] = mapped_column(String(30))
    old_value: Mapped[str | None] = mapped_column(String(100))
    new_value: Mapped[str | None] = mapped_column(String(100))


class OutboxMessage(Base):
    __tablename__ = "s5_11_outbox_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def record_changes(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    """before_flush: objects added here are part of this flush and this transaction."""
    for invoice in [obj for obj in session.new if isinstance(obj, Invoice)]:
        payload = {"number": invoice.number, "total": str(invoice.total)}
        session.add(OutboxMessage(topic="invoice.created", payload=payload))
        session.info["outbox_pending"] = True
    for invoice in [obj for obj in session.dirty if isinstance(obj, Invoice)]:
        state = inspect(invoice)
        for field in AUDITED:
            history = state.attrs[field].history
            if not history.deleted or not history.added:
                continue
            old, new = str(history.deleted[0]), str(history.added[0])
            session.add(
                AuditEntry(invoice_number=invoice.number, field=field, old_value=old, new_value=new)
            )
            if field == "status" and new == "paid":
                payload = {"number": invoice.number, "total": str(invoice.total)}
                session.add(OutboxMessage(topic="invoice.paid", payload=payload))
                session.info["outbox_pending"] = True


class OutboxRelay:
    """Publishes unpublished messages from its own session. Here the broker is a list."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory, self.woken, self.broker = factory, False, list[str]()

    def wake(self, session: Session) -> None:
        """after_commit: the data is durable now. No SQL here, just a signal."""
        if session.info.pop("outbox_pending", False):
            self.woken = True

    def forget(self, session: Session) -> None:
        """after_rollback: the messages were never written, so there is nothing to announce."""
        session.info.pop("outbox_pending", None)

    def drain(self) -> None:
        if not self.woken:
            print("   relay: not woken, nothing to publish")
            return
        self.woken = False
        with self.factory.begin() as session:
            query = (
                select(OutboxMessage)
                .where(OutboxMessage.published_at.is_(None))
                .order_by(OutboxMessage.id)
                .with_for_update(skip_locked=True)  # several relays may run; none double-sends
            )
            for message in session.scalars(query):
                self.broker.append(f"{message.topic} {message.payload['number']}")
                print(f"   relay: published {message.topic} {message.payload}")
                message.published_at = func.now()


def count(factory: sessionmaker[Session], model: type[Base]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def show(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
    print("   SQL:", " ".join(statement.split())[:96])


def happy_path(engine: Engine, factory: sessionmaker[Session], relay: OutboxRelay) -> None:
    print("1. create an invoice: the outbox row is written by the same flush")
    event.listen(engine, "before_cursor_execute", show)
    with factory.begin() as session:
        session.add(Invoice(number="INV-5001", status="open", total=Decimal("120.00")))
    event.remove(engine, "before_cursor_execute", show)
    relay.drain()
    print("2. mark it paid: two audit rows, one outbox message, then the relay")
    with factory.begin() as session:
        invoice = session.scalars(select(Invoice)).one()
        invoice.status, invoice.total = "paid", Decimal("110.00")
    relay.drain()
    with factory() as session:
        for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
            print(f"   audit: {entry.field} {entry.old_value} -> {entry.new_value}")
    print("3. a flush that is rolled back leaves no audit, no message and no wake-up")
    with factory() as session:
        session.scalars(select(Invoice)).one().status = "void"
        session.add(Invoice(number="INV-5009", status="open", total=Decimal("1.00")))
        session.flush()
        session.rollback()
    relay.drain()
    print(f"   audit rows: {count(factory, AuditEntry)}, messages: {count(factory, OutboxMessage)}")
    print("4. a bulk UPDATE never passes through before_flush")
    with factory.begin() as session:
        session.execute(update(Invoice).values(status="archived"))
    print(f"   audit rows: {count(factory, AuditEntry)} (the change to 'archived' is not audited)")


def misbehaving_hooks(factory: sessionmaker[Session]) -> None:
    print("5. SQL inside after_commit")

    def query_after_commit(session: Session) -> None:
        try:
            session.execute(text("SELECT 1"))
        except InvalidRequestError as error:
            print(f"   InvalidRequestError: {error}")

    event.listen(factory, "after_commit", query_after_commit)
    with factory() as session:
        session.add(Invoice(number="INV-5002", status="open", total=Decimal("9.00")))
        session.commit()
    event.remove(factory, "after_commit", query_after_commit)

    print("6. an after_flush hook that audits every new object, its own audit rows included")

    def audit_everything(session: Session, flush_context: UOWTransaction) -> None:
        for obj in session.new:
            entry = AuditEntry(invoice_number="?", field=type(obj).__name__, old_value=None)
            session.add(entry)

    event.listen(factory, "after_flush", audit_everything)
    with factory() as session:
        session.add(Invoice(number="INV-5003", status="open", total=Decimal("5.00")))
        try:
            session.commit()
        except FlushError as error:
            print(f"   FlushError: {error}")
    event.remove(factory, "after_flush", audit_everything)

    print("7. Session.add() inside a mapper event (before_insert)")

    def add_in_before_insert(mapper: Mapper[Any], connection: Any, target: Invoice) -> None:
        session = inspect(target).session
        assert session is not None
        session.add(AuditEntry(invoice_number=target.number, field="created", old_value=None))

    event.listen(Invoice, "before_insert", add_in_before_insert)
    with warnings.catch_warnings(record=True) as caught, factory.begin() as session:
        warnings.simplefilter("always")
        session.add(Invoice(number="INV-5004", status="open", total=Decimal("5.00")))
    event.remove(Invoice, "before_insert", add_in_before_insert)
    print(f"   {caught[0].category.__name__}: {caught[0].message}")


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    factory = sessionmaker(engine)
    relay = OutboxRelay(factory)
    event.listen(factory, "before_flush", record_changes)
    event.listen(factory, "after_commit", relay.wake)
    event.listen(factory, "after_rollback", relay.forget)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        happy_path(engine, factory, relay)
        misbehaving_hooks(factory)
    finally:
        if event.contains(engine, "before_cursor_execute", show):
            event.remove(engine, "before_cursor_execute", show)
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
