"""Writes to the primary, reads to a replica: a Session whose get_bind() routes each statement.

Only one PostgreSQL server runs here, so the "replica" is a stand-in with the two properties
that matter to the application:
- it is read-only: its connections start with default_transaction_read_only=on, so a write
  fails with the same message a hot standby gives;
- it lags: every replica transaction imports a snapshot exported earlier by an open
  transaction on the primary (SET TRANSACTION SNAPSHOT), so it sees exactly the commits made
  before that point. catch_up() exports a new snapshot, as replaying WAL would.
"""

import logging
import os
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Numeric,
    Select,
    String,
    create_engine,
    event,
    exc,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    SessionTransaction,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.orm.exc import ObjectDeletedError
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.dml import UpdateBase

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
log = logging.getLogger("orders.routing")


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "s5_13_replica_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="new")
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))


def is_write(clause: Any) -> bool:
    """INSERT/UPDATE/DELETE, SELECT ... FOR UPDATE, and anything that is not a plain SELECT."""
    if isinstance(clause, UpdateBase):
        return True
    if isinstance(clause, Select):
        return clause._for_update_arg is not None  # private; no public accessor in 2.1
    return True  # text(), DDL, a function call: we cannot prove it reads, so it writes


class RoutingSession(Session):
    """Flushes, DML and locking reads go to the primary; plain SELECTs go to the replica.

    A transaction that has touched the primary stays on it until it ends, so it reads its own
    writes. bind_arguments={"use_primary": True} sends one statement to the primary on demand.
    """

    def __init__(self, primary: Engine, replica: Engine, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.primary = primary
        self.replica = replica
        self.pinned_to_primary = False
        event.listen(self, "after_begin", self._on_begin)
        event.listen(self, "after_transaction_end", self._on_transaction_end)

    def get_bind(self, mapper: Any = None, *, clause: Any = None, **kw: Any) -> Engine:
        # _flushing (private): a SELECT the flush emits itself arrives with a real clause.
        if kw.get("use_primary") or self.pinned_to_primary or self._flushing or is_write(clause):
            return self.primary
        return self.replica

    def _on_begin(self, session: Session, txn: SessionTransaction, conn: Connection) -> None:
        if conn.engine is self.primary:
            self.pinned_to_primary = True

    def _on_transaction_end(self, session: Session, txn: SessionTransaction) -> None:
        if txn.parent is None:
            self.pinned_to_primary = False


class ReplayPosition:
    """The stand-in for how far the replica has replayed: a snapshot held open on the primary."""

    def __init__(self, url: str) -> None:
        self._engine = create_engine(url, poolclass=NullPool)
        self._holder: Connection | None = None
        self.snapshot_id = ""

    def catch_up(self) -> None:
        self.close()
        holder = self._engine.connect().execution_options(isolation_level="REPEATABLE READ")
        holder.begin()
        self.snapshot_id = holder.scalar(select(func.pg_export_snapshot())) or ""
        self._holder = holder

    def close(self) -> None:
        if self._holder is not None:
            self._holder.close()
            self._holder = None


def log_sql(engine: Engine, label: str) -> list[tuple[str, Callable[..., None]]]:
    """Log every statement, COMMIT and ROLLBACK with the name of the engine that ran it."""

    def statement(conn: Connection, cursor: Any, sql: str, *_: Any) -> None:
        log.info("      [%s] %s", label, " ".join(sql.split())[:92])

    def commit(conn: Connection) -> None:
        log.info("      [%s] COMMIT", label)

    def rollback(conn: Connection) -> None:
        log.info("      [%s] ROLLBACK", label)

    listeners: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", statement),
        ("commit", commit),
        ("rollback", rollback),
    ]
    for name, fn in listeners:
        event.listen(engine, name, fn)
    return listeners


def count_orders(session: Session, **bind_arguments: Any) -> int:
    stmt = select(func.count()).select_from(Order)
    return session.execute(stmt, bind_arguments=bind_arguments).scalar_one()


def demo(factory: sessionmaker[RoutingSession], replica: Engine, replay: ReplayPosition) -> None:
    log.info("1. a plain read goes to the replica")
    with factory() as session:
        log.info("   orders seen: %d", count_orders(session))

    log.info("2. write, commit, read back in a new transaction: the replica is behind")
    with factory() as session:
        order = Order(customer="Lindqvist AB", total=Decimal("310.00"))
        session.add(order)
        session.commit()
        log.info("   orders seen right after the commit: %d", count_orders(session))
        try:
            log.info("   status of the order we just saved: %s", order.status)
        except ObjectDeletedError as error:
            log.warning("   ObjectDeletedError: %s", error)

    log.info("3. read-your-writes: pinned inside the transaction, or use_primary after it")
    with factory() as session:
        session.add(Order(customer="Okafor Ltd", total=Decimal("95.50")))
        session.flush()
        log.info("   same transaction, after the flush: %d", count_orders(session))
        session.commit()
        on_primary = count_orders(session, use_primary=True)
        log.info("   next transaction, use_primary=True: %d", on_primary)

    log.info("4. the replica replays up to now")
    replay.catch_up()
    with factory() as session:
        log.info("   orders seen: %d", count_orders(session))

    log.info("5. locking reads and bulk UPDATEs are writes")
    with factory() as session:
        locked = session.scalars(select(Order).where(Order.id == 1).with_for_update()).one()
        session.execute(update(Order).where(Order.id == locked.id).values(status="picked"))
        session.commit()

    log.info("6. the same statements sent to the replica directly")
    with Session(replica) as session:
        for stmt in (select(Order).with_for_update(), update(Order).values(status="lost")):
            try:
                session.execute(stmt)
            except exc.InternalError as error:
                log.warning("   %s", str(error.orig).splitlines()[0])
                session.rollback()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    primary = create_engine(
        POSTGRES_URL, pool_size=5, connect_args={"application_name": "orders-primary"}
    )
    replica = create_engine(
        POSTGRES_URL,
        pool_size=10,
        isolation_level="REPEATABLE READ",  # SET TRANSACTION SNAPSHOT requires it
        connect_args={
            "application_name": "orders-replica",
            "options": "-c default_transaction_read_only=on",
        },
    )
    replay = ReplayPosition(POSTGRES_URL)

    @event.listens_for(replica, "begin")
    def import_snapshot(conn: Connection) -> None:
        conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{replay.snapshot_id}'")

    Base.metadata.drop_all(primary)
    Base.metadata.create_all(primary)
    with primary.begin() as conn:
        conn.execute(
            insert(Order),
            [{"customer": "Haugen AS", "total": 120}, {"customer": "Marsh & Co", "total": 48}],
        )
    replay.catch_up()
    primary_listeners = log_sql(primary, "primary")
    log_sql(replica, "replica")
    factory = sessionmaker(class_=RoutingSession, primary=primary, replica=replica)
    try:
        demo(factory, replica, replay)
    finally:
        replay.close()
        for name, fn in primary_listeners:
            event.remove(primary, name, fn)
        Base.metadata.drop_all(primary)
        primary.dispose()
        replica.dispose()


if __name__ == "__main__":
    main()
