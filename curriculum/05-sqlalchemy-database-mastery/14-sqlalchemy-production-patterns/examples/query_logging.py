"""Query logging with timings, a slow-query log, per-statement totals, and what the server sees.

An invoicing API tags every statement with its request id, times it with cursor events, and logs
the slow ones. A batch job holds a row lock, so one fast UPDATE becomes slow for a reason that no
plan shows; pg_stat_activity explains it. pg_stat_statements is used only if the server has it.
"""

import contextvars
import logging
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, select, text, update
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.engine.interfaces import DBAPICursor, ExecutionContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import NullPool

DATABASE_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
SLOW_MS = 200.0
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
log = logging.getLogger("invoices.sql")


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "s5_14_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str]
    status: Mapped[str]
    total_cents: Mapped[int]


@dataclass
class StatementStats:
    calls: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0


stats: defaultdict[str, StatementStats] = defaultdict(StatementStats)


def one_line(statement: str) -> str:
    return " ".join(statement.split())


def install_query_timing(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def start_timer(
        conn: Connection,
        cursor: DBAPICursor,
        statement: str,
        parameters: Any,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> tuple[str, Any]:
        conn.info.setdefault("query_start", []).append(time.perf_counter())
        # sqlcommenter-style tag: visible in pg_stat_activity.query and in the server's log
        return f"/* request_id={request_id.get()} */ {statement}", parameters

    @event.listens_for(engine, "after_cursor_execute")
    def stop_timer(
        conn: Connection,
        cursor: DBAPICursor,
        statement: str,
        parameters: Any,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        elapsed_ms = (time.perf_counter() - conn.info["query_start"].pop()) * 1000
        key = one_line(statement.split("*/ ", 1)[-1])  # group by the SQL, not by the tag
        entry = stats[key]
        entry.calls += 1
        entry.total_ms += elapsed_ms
        entry.max_ms = max(entry.max_ms, elapsed_ms)
        if elapsed_ms >= SLOW_MS:
            log.warning(
                "slow query %.1f ms rows=%d request=%s: %s",
                elapsed_ms, cursor.rowcount, request_id.get(), key,
            )  # fmt: skip

    @event.listens_for(engine, "handle_error")
    def forget_timer(context: ExceptionContext) -> None:
        # a statement that fails never reaches after_cursor_execute: drop its start time
        if context.connection is not None and context.connection.info.get("query_start"):
            context.connection.info["query_start"].pop()


def pg_stat_statements_status(admin: Engine, probe: Engine) -> None:
    with admin.connect() as conn:
        available = conn.execute(
            text("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_stat_statements'")
        ).scalar()
        preload = conn.execute(text("SELECT current_setting('shared_preload_libraries')")).scalar()
        installed = conn.execute(
            text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")
        ).scalar()
        loaded = "pg_stat_statements" in str(preload)
        print(f"available={bool(available)} preloaded={loaded} installed={bool(installed)}")
        if loaded and installed:
            top = conn.execute(
                text(
                    "SELECT calls, round(mean_exec_time::numeric, 2), left(query, 70)"
                    " FROM pg_stat_statements WHERE query LIKE '%s5_14_invoices%'"
                    " ORDER BY total_exec_time DESC LIMIT 3"
                )
            )
            for calls, mean_ms, query in top:
                print(f"  {calls:>4} calls  {mean_ms} ms mean  {query}")
            return
    with probe.connect() as conn:  # what a team meets after only CREATE EXTENSION; rolled back
        try:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
            conn.execute(text("SELECT count(*) FROM pg_stat_statements"))
        except DBAPIError as exc:
            print("  ", type(exc.orig).__name__, str(exc.orig).splitlines()[0])
        conn.rollback()
    print("  -> using pg_stat_activity and the application's own timings instead")


def listener_cost(bare: Engine, instrumented: Engine) -> tuple[float, float]:
    """Client CPU microseconds per SELECT 1 (process time: the server's work is not counted)."""
    logging.getLogger("invoices.sql").setLevel(logging.ERROR)
    samples: tuple[list[float], list[float]] = ([], [])
    with bare.connect() as plain, instrumented.connect() as timed:
        for _ in range(7):
            for conn, batch in zip((plain, timed), samples, strict=True):
                started = time.process_time()
                for _ in range(300):
                    conn.execute(text("SELECT 1"))
                batch.append((time.process_time() - started) / 300 * 1e6)
    return statistics.median(samples[0]), statistics.median(samples[1])


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)-7s %(name)s | %(message)s", stream=sys.stdout
    )
    admin = create_engine(DATABASE_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    api = create_engine(
        DATABASE_URL, hide_parameters=True, connect_args={"application_name": "s5_14_api"}
    )
    batch = create_engine(DATABASE_URL, connect_args={"application_name": "s5_14_batch"})
    Base.metadata.drop_all(admin)
    Base.metadata.create_all(admin)
    with admin.connect() as conn:
        conn.execute(
            text(
                "INSERT INTO s5_14_invoices (tenant, status, total_cents)"
                " SELECT (ARRAY['acme', 'globex', 'initech'])[g % 3 + 1], 'open', g * 100"
                " FROM generate_series(1, 3000) AS g"
            )
        )

    print("== 1. the engine logger, with hide_parameters=True (emails and tokens stay out of logs)")
    api.connect().close()  # the first connection's dialect start-up queries, unlogged
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    with Session(api) as session:
        session.scalars(select(Invoice).where(Invoice.tenant == "acme").limit(1)).one()
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)

    install_query_timing(api)
    print("== 2. requests, timed; a batch job holds a row lock that one request needs")
    lock_held, release = threading.Event(), threading.Event()

    def dunning_batch() -> None:
        with Session(batch) as session, session.begin():
            session.execute(update(Invoice).where(Invoice.id == 7).values(status="dunning"))
            lock_held.set()
            release.wait()

    def handle(rid: str, route: str) -> None:
        request_id.set(rid)
        with Session(api) as session, session.begin():
            if route == "GET /invoices":
                session.scalar(select(func.count()).where(Invoice.tenant == "acme"))
                session.scalars(select(Invoice).where(Invoice.tenant == "acme").limit(20)).all()
            else:
                session.execute(update(Invoice).where(Invoice.id == 7).values(status="paid"))
        log.info("request=%s %s done", rid, route)

    job = threading.Thread(target=dunning_batch)
    job.start()
    lock_held.wait()
    for number in range(1, 4):
        handle(f"r-{number}", "GET /invoices")
    payment = threading.Thread(target=handle, args=("r-4", "POST /invoices/7/pay"))
    payment.start()

    print("== 3. what pg_stat_activity shows while r-4 waits")
    watch = text(
        "SELECT w.state, w.wait_event_type, w.wait_event, left(w.query, 44) AS query,"
        " (SELECT string_agg(b.application_name || ' (' || b.state || ')', ', ')"
        "    FROM pg_stat_activity b WHERE b.pid = ANY (pg_blocking_pids(w.pid))) AS blocked_by"
        " FROM pg_stat_activity w"
        " WHERE w.application_name = 's5_14_api' AND w.wait_event_type = 'Lock'"
    )
    with admin.connect() as conn:
        while (row := conn.execute(watch).first()) is None:
            time.sleep(0.01)
    for name, value in row._asdict().items():
        print(f"  {name:<15} {value}")
    time.sleep(0.25)  # the batch job finishes its other work, then commits
    release.set()
    job.join()
    payment.join()

    print("== 4. per-statement totals from our own timings (the SQL is the key, values are not)")
    for statement, entry in stats.items():
        timing = f"{entry.total_ms:7.1f} ms total {entry.max_ms:6.1f} ms max"
        print(f"  {entry.calls} calls {timing}  {statement[:48]}")
    worst = max(stats, key=lambda statement: stats[statement].total_ms)
    print("  most time in total:", worst[:60])

    print("== 5. is pg_stat_statements there?")
    pg_stat_statements_status(admin, batch)

    print("== 6. client CPU per SELECT 1, median of 7 interleaved batches of 300")
    bare_us, timed_us = listener_cost(bare=batch, instrumented=api)
    print(f"  without listeners {bare_us:4.0f} us | with timing and tag {timed_us:4.0f} us")

    Base.metadata.drop_all(admin)
    for engine in (api, batch, admin):
        engine.dispose()


if __name__ == "__main__":
    main()
