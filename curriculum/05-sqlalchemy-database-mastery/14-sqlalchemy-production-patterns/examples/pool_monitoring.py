"""Watching a QueuePool: status() decoded, pool events as metrics, who holds a connection, and
what PostgreSQL reports about the same connections.
"""

import logging
import os
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, QueuePool

DATABASE_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
APP = "s5_14_pool"
log = logging.getLogger("db.pool")


def code_owner() -> str:
    """The innermost caller outside SQLAlchemy: the code that asked for the connection."""
    frame = sys._getframe(2)  # skip code_owner() and the checkout listener
    while frame.f_back and frame.f_globals.get("__name__", "").startswith("sqlalchemy"):
        frame = frame.f_back
    return f"{frame.f_code.co_name}()"


@dataclass
class PoolMonitor:
    """Counters and a checkout register, fed by pool events; cheap enough to leave on."""

    hold_warning_s: float
    opened: int = 0
    closed: int = 0
    invalidated: int = 0
    checkouts: int = 0
    timeouts: int = 0
    longest_hold_s: float = 0.0
    held: dict[int, tuple[str, float]] = field(default_factory=dict)  # id(record) -> owner, since

    def install(self, engine: Engine) -> None:
        event.listen(engine, "connect", self.connected)
        event.listen(engine, "close", self.closed_)
        event.listen(engine, "invalidate", self.invalidated_)
        event.listen(engine, "checkout", self.checked_out)
        event.listen(engine, "checkin", self.checked_in)

    def connected(self, dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        self.opened += 1

    def closed_(self, dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        self.closed += 1

    def invalidated_(
        self, dbapi_conn: Any, record: ConnectionPoolEntry, exc: BaseException | None
    ) -> None:
        self.invalidated += 1
        log.warning("connection invalidated (%s)", type(exc).__name__)

    def checked_out(self, dbapi_conn: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        self.checkouts += 1
        self.held[id(record)] = (code_owner(), time.monotonic())

    def checked_in(self, dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        owner, since = self.held.pop(id(record), ("?", time.monotonic()))
        seconds = time.monotonic() - since
        self.longest_hold_s = max(self.longest_hold_s, seconds)
        if seconds > self.hold_warning_s:
            log.warning("connection held %.2f s by %s", seconds, owner)

    def held_longer_than(self, seconds: float) -> list[str]:
        now = time.monotonic()
        return sorted(owner for owner, since in self.held.values() if now - since > seconds)

    def metrics(self, pool: QueuePool) -> dict[str, float]:
        return {
            "db_pool_size": pool.size(),
            "db_pool_checked_out": pool.checkedout(),
            "db_pool_idle": pool.checkedin(),
            "db_pool_open_connections": pool.size() + pool.overflow(),
            "db_pool_checkouts_total": self.checkouts,
            "db_pool_timeouts_total": self.timeouts,
            "db_pool_connects_total": self.opened,
            "db_pool_invalidations_total": self.invalidated,
        }


admin = create_engine(DATABASE_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def server_view() -> str:
    """The same connections as PostgreSQL counts them, by state."""
    query = text(
        "SELECT state, count(*) FROM pg_stat_activity WHERE application_name = :app"
        " GROUP BY state ORDER BY state"
    )
    with admin.connect() as conn:
        rows = conn.execute(query, {"app": APP}).all()
    return ", ".join(f"{state}={count}" for state, count in rows) or "none"


def report_export(engine: Engine, pool: QueuePool, monitor: PoolMonitor) -> None:
    """A handler that keeps its transaction open while it calls a slow storage API."""
    with Session(engine) as session:
        session.scalar(select(text("count(*)")).select_from(text("pg_class")))
        time.sleep(1.2)  # stands in for the upload; the connection stays checked out
        print("  while uploading, pool:", pool.checkedout(),
              "checked out | server:", server_view())  # fmt: skip
        print("  held longer than 1 s:", monitor.held_longer_than(1.0))


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)-7s %(name)s | %(message)s", stream=sys.stdout
    )
    engine = create_engine(
        DATABASE_URL,
        pool_size=3,
        max_overflow=2,
        pool_timeout=0.1,
        pool_pre_ping=True,
        connect_args={"application_name": APP},
    )
    assert isinstance(engine.pool, QueuePool)
    pool = engine.pool
    monitor = PoolMonitor(hold_warning_s=1.0)
    monitor.install(engine)

    print("== 1. status() before anything connected")
    print(" ", pool.status())
    print("  open connections = size + overflow =", pool.size() + pool.overflow())

    print("== 2. a burst of 5 concurrent requests, then a 6th")
    with ExitStack() as requests:
        for _ in range(5):
            requests.enter_context(engine.connect()).execute(text("SELECT 1"))
        print(" ", pool.status())
        print("  server:", server_view())
        try:
            engine.connect()
        except PoolTimeout as exc:
            monitor.timeouts += 1
            print("  6th request:", str(exc).split(" (Background")[0])
    print("  after the burst:", pool.status())
    print("  server:", server_view(), f"| connects={monitor.opened} closes={monitor.closed}")

    print("== 3. a handler holds its connection across a slow call")
    report_export(engine, pool, monitor)

    print("== 4. the server drops every idle connection (a failover)")
    with admin.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid, 2000) FROM pg_stat_activity"
                " WHERE application_name = :app"
            ),
            {"app": APP},
        )
    with engine.connect() as conn:
        print("  next request after pre-ping:", conn.execute(text("SELECT 'ok'")).scalar())
    print(" ", pool.status(), "| server:", server_view())

    print("== 5. what a /metrics endpoint would export")
    for name, value in monitor.metrics(pool).items():
        print(f'  {name}{{pool="{APP}"}} {value:g}')
    print(f"  longest hold seen: {monitor.longest_hold_s:.2f} s")

    engine.dispose()
    admin.dispose()


if __name__ == "__main__":
    main()
