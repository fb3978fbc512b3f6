"""The SQLAlchemy (database) result backend on a real PostgreSQL.

1. the tables Celery creates, here in a schema of their own
2. what a success and a failure look like as rows
3. how get() waits: it polls, and each poll from an unforked process opens a new connection
4. expiry: no TTL, rows stay until the celery.backend_cleanup task deletes them

The broker is Redis; only the results go to PostgreSQL.
Run it with `python database_result_backend.py`: it starts its own worker and stops it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from datetime import timedelta
from typing import Any

import redis
import sqlalchemy as sa
from celery import Celery
from celery.beat import Scheduler
from celery.result import AsyncResult

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
RUN = f"s7_6_db_{os.getpid()}"  # Redis key prefix and PostgreSQL schema for this run
SCHEMA = RUN

app = Celery("database_result_backend", broker=REDIS_URL, backend=f"db+{POSTGRES_URL}")
app.conf.update(
    task_default_queue="reports",
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    database_table_schemas={"task": SCHEMA, "group": SCHEMA},  # the default is the search path
    result_expires=timedelta(seconds=2),  # two seconds so that we can watch it; default 1 day
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("reports")
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)
admin = sa.create_engine(POSTGRES_URL)  # the example's own connection, to look at the tables
backend_reads = {"connections": 0, "selects": 0}


def count_backend_traffic(engine: sa.Engine) -> None:
    """database_engine_callback: Celery calls it for every engine its backend creates."""

    @sa.event.listens_for(engine, "connect")
    def on_connect(*_: Any) -> None:
        backend_reads["connections"] += 1

    @sa.event.listens_for(engine, "before_cursor_execute")
    def on_execute(_conn: Any, _cursor: Any, statement: str, *__: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            backend_reads["selects"] += 1


app.conf.database_engine_callback = count_backend_traffic


class TenantNotFound(Exception):
    """The report was requested for a tenant that does not exist."""


@app.task
def build_usage_report(tenant: str, month: str) -> dict[str, Any]:
    time.sleep(1.0)  # the slow query a real report runs
    return {"tenant": tenant, "month": month, "api_calls": 48_210}


@app.task
def build_audit_report(tenant: str) -> None:
    raise TenantNotFound(f"no tenant named {tenant!r}")


def run_worker(log_path: str) -> None:
    """The child process: a real Celery worker, forked so it need not import Celery again."""
    os.setsid()
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = app.Worker(
        pool="solo", loglevel="INFO", quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode or 0)


def start_worker(log_path: str) -> multiprocessing.process.BaseProcess:
    sys.stdout.flush()
    process = multiprocessing.get_context("fork").Process(target=run_worker, args=(log_path,))
    process.start()
    return process


def stop_worker(worker: multiprocessing.process.BaseProcess) -> None:
    if worker.is_alive() and worker.pid is not None:
        os.kill(worker.pid, signal.SIGTERM)
        worker.join(timeout=10)
        if worker.is_alive():
            os.killpg(worker.pid, signal.SIGKILL)
            worker.join()


def rows() -> list[sa.Row[Any]]:
    query = sa.text(
        f"SELECT status, convert_from(result, 'UTF8') AS result, traceback, date_done "
        f"FROM {SCHEMA}.celery_taskmeta ORDER BY id"
    )
    with admin.connect() as conn:
        return list(conn.execute(query))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    with admin.begin() as conn:  # own the schema: drop what a crashed run left, create afresh
        conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    with tempfile.TemporaryDirectory() as tmp:
        worker_log = os.path.join(tmp, "worker.log")
        worker = start_worker(worker_log)
        try:
            print("1. the backend and the tables it created")
            backend = app.backend  # setting the backend up creates the tables
            print(f"  {type(backend).__name__}, supports_autoexpire={backend.supports_autoexpire}")
            report = build_usage_report.delay("acme", "2025-05")
            with admin.connect() as conn:
                inspector = sa.inspect(conn)
                for table in sorted(inspector.get_table_names(schema=SCHEMA)):
                    columns = [c["name"] for c in inspector.get_columns(table, schema=SCHEMA)]
                    print(f"  <schema>.{table}: {', '.join(columns)}")
                sequences = sorted(inspector.get_sequence_names(schema=SCHEMA))
                print(f"  sequences: {', '.join(sequences)}")

            print("2. a success and a failure, as rows")
            backend_reads.update(connections=0, selects=0)
            print(f"  get(interval=0.1) -> {report.get(timeout=20, interval=0.1)}")
            polls = dict(backend_reads)
            audit = build_audit_report.delay("globex")
            audit.get(timeout=20, propagate=False)
            for row in rows():
                last = row.traceback.strip().splitlines()[-1] if row.traceback else None
                naive = row.date_done.tzinfo is None
                print(f"  {row.status:<8} result={row.result}")
                print(f"           traceback ends: {last}; date_done naive: {naive}")

            print("3. what get() cost while the 1-second report ran")
            print(f"  SELECTs from this process: {polls['selects']}")
            print(f"  new PostgreSQL connections: {polls['connections']}")
            per_read = polls["connections"] / max(polls["selects"], 1)
            print(f"  connections per SELECT: {per_read:.1f}")

            print("4. expiry: result_expires is 2 s, but nothing deletes the rows by itself")
            time.sleep(2.5)
            stale: AsyncResult[Any] = AsyncResult(report.id, app=app)
            print(f"  after 2.5 s: {len(rows())} rows, the report still reads {stale.state}")
            cleanup = app.send_task("celery.backend_cleanup")  # what beat sends daily at 04:00
            cleanup.get(timeout=20)
            left = rows()
            print(f"  after celery.backend_cleanup: {len(left)} row left, status {left[0].status}")
            print(f"  the report now reads {AsyncResult(report.id, app=app).state}")
            scheduler = Scheduler(app=app, lazy=True)
            scheduler.install_default_entries(scheduler.schedule)
            for name, entry in scheduler.schedule.items():
                print(f"  beat adds by itself: {name} at {entry.schedule}, options {entry.options}")
        except Exception:
            log.exception("example failed; worker log follows")
            with open(worker_log) as handle:
                print(handle.read()[-3000:])
            raise
        finally:
            stop_worker(worker)
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)
            with admin.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            admin.dispose()


if __name__ == "__main__":
    main()
