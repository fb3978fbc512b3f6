"""Route a Session's statements between a primary and its read replicas.

The rules, checked in this order for every statement:

1. `bind_arguments={"use_primary": True}` sends it to the primary.
2. A flush, an INSERT/UPDATE/DELETE, a locking SELECT (`with_for_update()`) and anything that
   is not a SELECT at all (`text()`, DDL) go to the primary.
3. Once a transaction has used the primary, the rest of that transaction stays on it, so it
   reads its own writes.
4. Once a transaction has read from a replica, its later reads use that same replica.
5. Otherwise the ReplicaSet picks the next healthy replica, or the primary if none is healthy.

Rules 3 and 4 last until the transaction ends (commit, rollback or close).
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Numeric, String
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "s5_13_ex_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="new")
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))


class ReplicaSet:
    """The primary, its replicas, and which replicas are currently healthy."""

    def __init__(self, primary: Engine, replicas: Sequence[Engine]) -> None:
        # TODO: keep the primary, the replicas in order, the set of replicas marked down,
        #       and whose turn is next.
        raise NotImplementedError

    def mark_down(self, replica: Engine) -> None:
        """Stop sending reads to `replica` (lagging too far, or unreachable).

        Raise ValueError for an engine that is not one of the replicas.
        """
        # TODO
        raise NotImplementedError

    def mark_up(self, replica: Engine) -> None:
        """Send reads to `replica` again."""
        # TODO
        raise NotImplementedError

    def next_reader(self) -> Engine:
        """The next healthy replica in turn; the primary when no replica is healthy."""
        # TODO: round robin over the replicas that are not marked down.
        raise NotImplementedError


def is_write(clause: object) -> bool:
    """True unless `clause` is a plain SELECT without FOR UPDATE."""
    # TODO: INSERT, UPDATE and DELETE share a base class in sqlalchemy.sql.dml; a Select
    #       built with .with_for_update() remembers it in an attribute.
    raise NotImplementedError


class RoutingSession(Session):
    """A Session whose get_bind() applies the module's routing rules."""

    def __init__(self, replica_set: ReplicaSet, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # TODO: keep the replica set, remember which engine the current transaction uses,
        #       and forget it when the transaction ends (a Session event).
        raise NotImplementedError

    def get_bind(self, mapper: Any = None, *, clause: Any = None, **kw: Any) -> Engine:
        """Return the engine this statement must run on (see the module docstring).

        `clause` is the statement being executed: None for the flush's own INSERT/UPDATE/
        DELETE, but a real Select for a SELECT the flush emits, so check the flush itself too.
        `kw` holds the caller's `bind_arguments`, such as `use_primary`.
        """
        # TODO
        raise NotImplementedError
