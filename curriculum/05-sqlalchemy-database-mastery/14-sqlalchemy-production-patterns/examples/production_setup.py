"""The database module of a billing service, with this section's pieces in one place.

Settings come from the environment; the engine carries server-side guards; statements are timed
and slow or failed ones logged without their parameters (and failures without the server's
message, which can quote them); units of work retry only what is safe to retry; a health check
reports the pool. The demo at the bottom exercises each guard.
"""

import logging
import os
import random
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from sqlalchemy import URL, Connection, String, create_engine, event, make_url, select, text
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

log = logging.getLogger("billing.db")
T = TypeVar("T")
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


class CommitOutcomeUnknown(Exception):
    """The connection was lost during COMMIT; re-read before doing anything else."""


@dataclass(frozen=True)
class DatabaseSettings:
    url: URL
    application_name: str = "billing-api"
    pool_size: int = 10
    max_overflow: int = 5
    pool_timeout_s: float = 5.0
    pool_recycle_s: int = 1800  # below any firewall or load-balancer idle cut-off
    statement_timeout_ms: int = 5000
    lock_timeout_ms: int = 2000
    idle_in_transaction_timeout_ms: int = 15000
    slow_query_ms: float = 250.0
    retry_attempts: int = 4

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "DatabaseSettings":
        """DATABASE_URL, plus DB_<FIELD> for any setting to override (DB_POOL_SIZE=20 ...).
        A value that does not parse fails at start-up, not at the first request."""
        overrides: dict[str, Any] = {}
        for setting in fields(cls)[1:]:
            raw = env.get(f"DB_{setting.name.upper()}")
            if raw is not None:
                default = getattr(cls, setting.name)  # a dataclass keeps defaults on the class
                overrides[setting.name] = type(default)(raw)  # str, int or float
        return cls(url=make_url(env["DATABASE_URL"]), **overrides)


def sqlstate(exc: DBAPIError) -> str | None:
    code = getattr(exc.orig, "sqlstate", None)
    return code if isinstance(code, str) else None


class Database:
    """One per process: build it at start-up, close() it at shutdown (and dispose after fork)."""

    def __init__(self, settings: DatabaseSettings) -> None:
        self.settings = settings
        guards = (
            f"-c statement_timeout={settings.statement_timeout_ms}"
            f" -c lock_timeout={settings.lock_timeout_ms}"
            f" -c idle_in_transaction_session_timeout={settings.idle_in_transaction_timeout_ms}"
        )
        self.engine = create_engine(
            settings.url,
            pool_size=settings.pool_size,
            max_overflow=settings.max_overflow,
            pool_timeout=settings.pool_timeout_s,
            pool_recycle=settings.pool_recycle_s,
            pool_pre_ping=True,
            pool_use_lifo=True,
            hide_parameters=True,  # values never reach logs or exception messages
            connect_args={"application_name": settings.application_name, "options": guards},
        )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._rng = random.Random()
        event.listen(self.engine, "before_cursor_execute", self._start_timer)
        event.listen(self.engine, "after_cursor_execute", self._stop_timer)
        event.listen(self.engine, "handle_error", self._log_failure)

    def _start_timer(self, conn: Connection, *_: Any) -> None:
        conn.info.setdefault("query_start", []).append(time.perf_counter())

    def _elapsed_ms(self, conn: Connection | None) -> float:
        starts = conn.info.get("query_start") if conn is not None else None
        return (time.perf_counter() - starts.pop()) * 1000 if starts else 0.0

    def _stop_timer(self, conn: Connection, cursor: DBAPICursor, statement: str, *_: Any) -> None:
        elapsed = self._elapsed_ms(conn)
        if elapsed >= self.settings.slow_query_ms:
            log.warning("slow query %.0f ms: %s", elapsed, " ".join(statement.split())[:90])

    def _log_failure(self, context: ExceptionContext) -> None:
        """Class, SQLSTATE and constraint only: PostgreSQL's message and DETAIL can quote values
        (`Key (number)=(...) already exists`, `invalid input syntax ...: "..."`)."""
        elapsed = self._elapsed_ms(context.connection)
        orig = context.original_exception
        constraint = getattr(getattr(orig, "diag", None), "constraint_name", None)
        log.error(
            "query failed after %.0f ms: %s [%s]%s in %s",
            elapsed,
            type(orig).__name__,
            getattr(orig, "sqlstate", None),
            f" on {constraint}" if constraint else "",
            " ".join((context.statement or "").split())[:32].rstrip(),
        )

    def transaction(self, work: Callable[[Session], T]) -> T:
        """Run work in its own session; retry serialization failures, deadlocks and
        disconnects that happen before COMMIT, with capped exponential backoff and full jitter."""
        attempts = self.settings.retry_attempts
        for attempt in range(1, attempts + 1):
            with self.sessions() as session:
                try:
                    result = work(session)
                    session.flush()
                except DBAPIError as exc:
                    transient = exc.connection_invalidated or sqlstate(exc) in RETRYABLE_SQLSTATES
                    if not transient or attempt == attempts:
                        raise
                    log.warning("attempt %d of %d failed [%s], retrying", attempt, attempts,
                                sqlstate(exc) or "disconnect")  # fmt: skip
                    session.rollback()
                    time.sleep(self._rng.uniform(0, min(1.0, 0.05 * 2 ** (attempt - 1))))
                    continue
                try:
                    session.commit()
                except DBAPIError as exc:
                    if exc.connection_invalidated:
                        raise CommitOutcomeUnknown(type(exc.orig).__name__) from exc
                    raise
                return result
        raise AssertionError("unreachable")

    def health(self) -> dict[str, Any]:
        """For a readiness probe: one round trip under a short timeout, plus pool gauges."""
        pool = self.engine.pool
        assert isinstance(pool, QueuePool)
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SET LOCAL statement_timeout = 1000"))
                conn.execute(text("SELECT 1"))
            status = "ok"
        except DBAPIError as exc:
            status = f"unavailable: {type(exc.orig).__name__}"
        except PoolTimeout:
            status = "unavailable: no connection free within pool_timeout"
        return {
            "database": status,
            "pool_checked_out": pool.checkedout(),
            "pool_open": pool.size() + pool.overflow(),
            "pool_limit": pool.size() + self.settings.max_overflow,
        }

    def close(self) -> None:
        self.engine.dispose()


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "s5_14_prod_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str]
    number: Mapped[str] = mapped_column(String(30), unique=True)
    total_cents: Mapped[int]


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)-7s %(name)s | %(message)s", stream=sys.stdout
    )
    environ = {
        "DATABASE_URL": os.environ.get(
            "PYMASTERY_POSTGRES_URL",
            "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples",
        ),
        "DB_APPLICATION_NAME": "s5_14_billing",
        "DB_POOL_SIZE": "4",
        "DB_STATEMENT_TIMEOUT_MS": "500",  # short, so the demo trips each guard quickly
        "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": "500",
        "DB_SLOW_QUERY_MS": "150",
    }
    db = Database(DatabaseSettings.from_env(environ))
    ddl = create_engine(environ["DATABASE_URL"], poolclass=NullPool)  # schema set-up, untimed
    Base.metadata.drop_all(ddl)
    Base.metadata.create_all(ddl)

    print("== every connection carries the guards")
    with db.engine.connect() as conn:
        for name in ("application_name", "statement_timeout", "lock_timeout",
                     "idle_in_transaction_session_timeout"):  # fmt: skip
            print(f"  {name} = {conn.execute(text(f'SHOW {name}')).scalar()}")

    print("== a unit of work")

    def create_invoice(session: Session) -> Invoice:
        invoice = Invoice(tenant="acme", number="ACME-2025-0042", total_cents=129_00)
        session.add(invoice)
        return invoice

    invoice = db.transaction(create_invoice)
    print("  committed invoice", invoice.id, "for", invoice.tenant, "(readable after commit)")

    print("== a duplicate number: logged by constraint, because the server's DETAIL has values")
    duplicate = Invoice(tenant="acme", number="ACME-2025-0042", total_cents=1)
    try:
        db.transaction(lambda s: s.add(duplicate))
    except DBAPIError as exc:
        detail = next(line for line in str(exc).splitlines() if line.startswith("DETAIL"))
        print(f"  str(exc), hide_parameters or not: {detail}")

    print("== a slow statement is logged, without its parameters")
    with db.sessions() as session:
        session.execute(select(Invoice.id, text("pg_sleep(0.25)")).where(Invoice.tenant == "acme"))

    print("== a runaway statement is cancelled by the server after 500 ms, and not retried")
    try:
        db.transaction(lambda s: s.execute(text("SELECT pg_sleep(2)")))
    except DBAPIError as exc:
        print(f"  caller sees {type(exc.orig).__name__} [{sqlstate(exc)}]")

    print("== a transaction left idle for 800 ms is ended by the server")
    with db.sessions() as session:
        session.get(Invoice, 1)
        time.sleep(0.8)  # e.g. a slow HTTP call made while the transaction is open
        try:
            session.get(Invoice, 1, populate_existing=True)
        except DBAPIError as exc:
            print(f"  next statement: [{sqlstate(exc)}] invalidated={exc.connection_invalidated}")

    print("== readiness probe")
    print(" ", db.health())
    Base.metadata.drop_all(ddl)
    db.close()
    ddl.dispose()


if __name__ == "__main__":
    main()
