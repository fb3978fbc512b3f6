"""Session plumbing for a billing service.

Everything the service does with a database goes through these five pieces: a name for an
object's state, a unit of work, per-thread request sessions, re-attaching cached invoices,
and a session factory for tests that commit yet leave nothing behind.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Literal

from sqlalchemy import Engine, Numeric, String
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

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
    # TODO: inspect(obj) returns its InstanceState, which has one boolean per state.
    raise NotImplementedError


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a new session from `factory`.

    Commit when the block finishes, roll back and re-raise when it raises, and close the
    session in every case, so its connection goes back to the pool.
    """
    # TODO: get a session, yield it, commit; on any exception roll back and re-raise;
    #       close it whatever happened.
    raise NotImplementedError
    yield  # unreachable: makes this a generator until you write it


class RequestSessions:
    """One session per thread, from the first `current()` of a request to `end_request()`."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        # TODO: keep a thread-local registry of sessions made by `factory`.
        raise NotImplementedError

    def current(self) -> Session:
        """This thread's session; the same object until `end_request()` is called."""
        # TODO
        raise NotImplementedError

    def active(self) -> bool:
        """Whether this thread holds a session right now."""
        # TODO: without creating a session.
        raise NotImplementedError

    def end_request(self, *, commit: bool) -> None:
        """Commit if asked, then close and forget this thread's session.

        Safe to call when the thread has no session. If the commit fails, the session is
        still closed and forgotten before the error propagates.
        """
        # TODO
        raise NotImplementedError


def reattach(session: Session, cached: Invoice) -> Invoice:
    """Return `session`'s own instance for a detached invoice taken from a cache.

    A clean invoice is trusted and costs no SQL. One that was changed after it left its
    session is loaded first and the changes are applied on top, to be flushed as an UPDATE.
    """
    # TODO: which merge() can skip its SELECT, and when is that refused?
    raise NotImplementedError


@contextmanager
def rollback_only_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory for tests: nothing its sessions do survives the block.

    Every session rides on one connection and one outer transaction, which is rolled back at
    the end. A session's commit() or rollback() only touches its own SAVEPOINT.
    """
    # TODO: one connection, one outer transaction, a sessionmaker bound to that connection
    #       whose sessions use SAVEPOINTs; roll the outer transaction back at the end.
    raise NotImplementedError
    yield  # unreachable: makes this a generator until you write it
