"""Session plumbing for a billing service.

Everything the service does with a database goes through these five pieces: a name for an
object's state, a unit of work, per-thread request sessions, re-attaching cached invoices,
and a session factory for tests that commit yet leave nothing behind.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Literal

from sqlalchemy import Engine, Numeric, String, inspect
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    scoped_session,
    sessionmaker,
)

ObjectState = Literal["transient", "pending", "persistent", "deleted", "detached"]


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "s5_7_ex_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    status: Mapped[str] = mapped_column(String(10), default="draft")


def object_state(obj: object) -> ObjectState:
    """Name the state a mapped object is in: transient, pending, persistent, deleted or detached."""
    insp = inspect(obj)
    if insp.transient:
        return "transient"
    if insp.pending:
        return "pending"
    if insp.persistent:
        return "persistent"
    if insp.deleted:
        return "deleted"
    return "detached"


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a new session from `factory`.

    Commit when the block finishes, roll back and re-raise when it raises, and close the
    session in every case, so its connection goes back to the pool.
    """
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class RequestSessions:
    """One session per thread, from the first `current()` of a request to `end_request()`."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._registry = scoped_session(factory)

    def current(self) -> Session:
        """This thread's session; the same object until `end_request()` is called."""
        return self._registry()

    def active(self) -> bool:
        """Whether this thread holds a session right now."""
        return self._registry.registry.has()

    def end_request(self, *, commit: bool) -> None:
        """Commit if asked, then close and forget this thread's session.

        Safe to call when the thread has no session. If the commit fails, the session is
        still closed and forgotten before the error propagates.
        """
        if not self.active():
            return
        try:
            if commit:
                self._registry().commit()
        finally:
            self._registry.remove()


def reattach(session: Session, cached: Invoice) -> Invoice:
    """Return `session`'s own instance for a detached invoice taken from a cache.

    A clean invoice is trusted and costs no SQL. One that was changed after it left its
    session is loaded first and the changes are applied on top, to be flushed as an UPDATE.
    """
    if inspect(cached).modified:
        return session.merge(cached)
    return session.merge(cached, load=False)


@contextmanager
def rollback_only_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory for tests: nothing its sessions do survives the block.

    Every session rides on one connection and one outer transaction, which is rolled back at
    the end. A session's commit() or rollback() only touches its own SAVEPOINT.
    """
    with engine.connect() as connection:
        outer = connection.begin()
        try:
            yield sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        finally:
            if outer.is_active:
                outer.rollback()
