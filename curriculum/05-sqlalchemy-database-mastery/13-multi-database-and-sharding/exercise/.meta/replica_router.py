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

from sqlalchemy import Engine, Numeric, Select, String, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, SessionTransaction, mapped_column
from sqlalchemy.sql.dml import UpdateBase


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
        self.primary = primary
        self.replicas = list(replicas)
        self._down: set[Engine] = set()
        self._turn = 0

    def mark_down(self, replica: Engine) -> None:
        """Stop sending reads to `replica` (lagging too far, or unreachable)."""
        if replica not in self.replicas:
            raise ValueError("not one of this set's replicas")
        self._down.add(replica)

    def mark_up(self, replica: Engine) -> None:
        """Send reads to `replica` again."""
        self._down.discard(replica)

    def next_reader(self) -> Engine:
        """The next healthy replica in turn; the primary when no replica is healthy."""
        healthy = [replica for replica in self.replicas if replica not in self._down]
        if not healthy:
            return self.primary
        reader = healthy[self._turn % len(healthy)]
        self._turn += 1
        return reader


def is_write(clause: object) -> bool:
    """True unless `clause` is a plain SELECT without FOR UPDATE."""
    if isinstance(clause, UpdateBase):
        return True
    if isinstance(clause, Select):
        return clause._for_update_arg is not None
    return True


class RoutingSession(Session):
    """A Session whose get_bind() applies the module's routing rules."""

    def __init__(self, replica_set: ReplicaSet, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.replica_set = replica_set
        self._transaction_bind: Engine | None = None
        event.listen(self, "after_transaction_end", self._transaction_ended)

    def get_bind(self, mapper: Any = None, *, clause: Any = None, **kw: Any) -> Engine:
        primary = self.replica_set.primary
        if (
            kw.get("use_primary")
            or self._flushing
            or is_write(clause)
            or self._transaction_bind is primary
        ):
            self._transaction_bind = primary
            return primary
        if self._transaction_bind is None:
            self._transaction_bind = self.replica_set.next_reader()
        return self._transaction_bind

    def _transaction_ended(self, session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:
            self._transaction_bind = None
