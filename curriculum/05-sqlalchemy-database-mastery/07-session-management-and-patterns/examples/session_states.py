"""The five object states, read with inspect(), and what expunge() and merge() do to them.

Every statement the engine sends is printed (column lists shortened), so each state change
can be matched with the SQL that caused it, or with the absence of SQL.
"""

import os
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Numeric, String, create_engine, event, exc, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, object_session, sessionmaker

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "s5_7_state_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    status: Mapped[str] = mapped_column(String(10), default="draft")


def state_of(obj: object) -> str:
    """The one state flag that is true, plus the identity once the object has one."""
    insp = inspect(obj)
    flags = ("transient", "pending", "persistent", "deleted", "detached")
    name = next(flag for flag in flags if getattr(insp, flag))
    return f"{name:<10} identity={insp.identity}"


def show_sql(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
    flat = re.sub(r"^SELECT .*? FROM", "SELECT ... FROM", " ".join(statement.split()))
    print("      sql:", re.sub(r"::\w+(\(\d+(, \d+)?\))?", "", flat))


def show_begin(conn: Connection) -> None:
    print("      sql: BEGIN (implicit)")


def show_commit(conn: Connection) -> None:
    print("      sql: COMMIT")


def show_rollback(conn: Connection) -> None:
    print("      sql: ROLLBACK")


LISTENERS: dict[str, Callable[..., None]] = {
    "before_cursor_execute": show_sql,
    "begin": show_begin,
    "commit": show_commit,
    "rollback": show_rollback,
}


def walk_the_states(factory: sessionmaker[Any]) -> None:
    print("1. one invoice through every state")
    invoice = Invoice(number="INV-1001", total=Decimal("120.00"))
    print(f"   Invoice(...)          -> {state_of(invoice)}")
    with factory() as session:
        session.add(invoice)
        print(f"   session.add()         -> {state_of(invoice)}")
        session.flush()
        print(f"   session.flush()       -> {state_of(invoice)}")
        session.commit()
        expired = inspect(invoice).expired
        print(f"   session.commit()      -> {state_of(invoice)}, expired: {expired}")
        session.delete(invoice)
        print(f"   session.delete()      -> {state_of(invoice)} (nothing sent yet)")
        session.flush()
        print(f"   flush after delete    -> {state_of(invoice)}")
        session.commit()
        print(f"   commit after delete   -> {state_of(invoice)}, was_deleted: ", end="")
        print(inspect(invoice).was_deleted)


def expunge_and_merge(factory: sessionmaker[Any]) -> None:
    print("2. expunge(): the session forgets the object, and its changes with it")
    with factory.begin() as session:
        session.add_all(
            [
                Invoice(number="INV-2001", total=Decimal("80.00")),
                Invoice(number="INV-2002", total=Decimal("45.50")),
            ]
        )
    with factory() as session:
        cached = session.get(Invoice, 2)
        assert cached is not None
        cached.status = "sent"
        session.expunge(cached)
        modified = inspect(cached).modified
        print(f"   after expunge         -> {state_of(cached)}, modified: {modified}")
        session.commit()
        print("   commit sent no UPDATE: the change left with the object")

    print("3. merge(): copy a detached object's state onto the session's own copy")
    cached.status = "paid"  # e.g. an object rebuilt from a cache or a form
    with factory() as session:
        merged = session.merge(cached)
        print(f"   merge() returned      -> {state_of(merged)}")
        print(f"   the argument          -> {state_of(cached)}; same object: {merged is cached}")
        session.commit()

    print("4. merge(load=False): trust the caller, no SELECT, but only for clean objects")
    with factory() as session:
        snapshot = session.get(Invoice, 3)  # loaded, never changed: e.g. what a cache holds
    assert snapshot is not None
    with factory() as session:
        trusted = session.merge(snapshot, load=False)
        print(f"   status={trusted.status!r}       -> {state_of(trusted)}")
    snapshot.status = "void"
    with factory() as session:
        try:
            session.merge(snapshot, load=False)
        except exc.InvalidRequestError as error:
            print(f"   {type(error).__name__}: {error}")

    print("5. add() refuses an object another open session still owns")
    first, second = factory(), factory()
    owned = first.get(Invoice, 3)
    try:
        second.add(owned)
    except exc.InvalidRequestError as error:
        print(f"   {type(error).__name__}: {error}")
    finally:
        first.close()
        second.close()


def deleted_without_expiry(factory: sessionmaker[Any]) -> None:
    print("6. expire_on_commit=False: a committed delete is never detached by the session")
    with factory(expire_on_commit=False) as session:
        refund = Invoice(number="INV-6001", total=Decimal("15.00"))
        session.add(refund)
        session.commit()
        session.delete(refund)
        session.commit()
        print(f"   commit after delete   -> {state_of(refund)}")
    still_linked = object_session(refund) is session
    print(f"   after close()         -> {state_of(refund)}, object_session(): {still_linked}")
    print(f"   was_deleted: {inspect(refund).was_deleted}, the flag to branch on")


def main() -> None:
    engine: Engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    for name, listener in LISTENERS.items():
        event.listen(engine, name, listener)
    factory = sessionmaker(engine)
    try:
        walk_the_states(factory)
        expunge_and_merge(factory)
        deleted_without_expiry(factory)
    finally:
        for name, listener in LISTENERS.items():
            event.remove(engine, name, listener)
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
