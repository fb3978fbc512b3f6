"""Duplicate deliveries against three versions of a charge task, on a real worker.

A task can run more than once for the same piece of work: the caller sends it twice, or the
broker delivers it again after a crash (section 7.7). Only the version that records a
business key in the same transaction as its effect charges exactly once.
"""

import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from celery import Celery, Task
from celery.result import AsyncResult
from celery.utils.log import get_task_logger
from sqlalchemy import String, create_engine, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
NAMESPACE = os.environ.setdefault("S7_3_IDEMPOTENT", f"s7_3_idempotent_{os.getpid()}")

app = Celery("idempotent_tasks", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=NAMESPACE,
    broker_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
    result_backend_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
)
logger = get_task_logger(__name__)
engine = create_engine(POSTGRES_URL, pool_size=3)


class Base(DeclarativeBase):
    pass


class LedgerEntry(Base):
    """One row per amount billed to a customer."""

    __tablename__ = "s7_3_ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int]
    amount_cents: Mapped[int]
    # NULL for the naive task; PostgreSQL's unique index allows any number of NULLs.
    delivery_key: Mapped[str | None] = mapped_column(String(100), unique=True)


@app.task
def charge_naive(invoice_id: int, amount_cents: int) -> str:
    """Bills every time it runs."""
    with Session(engine) as session, session.begin():
        session.add(LedgerEntry(invoice_id=invoice_id, amount_cents=amount_cents))
    return "charged"


def charge_once(delivery_key: str, invoice_id: int, amount_cents: int) -> str:
    """Insert the ledger row unless one with this key exists, atomically, in one statement."""
    statement = (
        insert(LedgerEntry)
        .values(invoice_id=invoice_id, amount_cents=amount_cents, delivery_key=delivery_key)
        .on_conflict_do_nothing(index_elements=[LedgerEntry.delivery_key])
        .returning(LedgerEntry.id)
    )
    with Session(engine) as session, session.begin():
        inserted = session.execute(statement).scalar_one_or_none()
    if inserted is None:
        logger.info("%s: already done, skipping", delivery_key)
        return "skipped"
    return "charged"


@app.task(bind=True)
def charge_keyed_by_task_id(self: Task[Any, Any], invoice_id: int, amount_cents: int) -> str:
    """Deduplicates redeliveries of one message, but not a second message."""
    return charge_once(f"task:{self.request.id}", invoice_id, amount_cents)


@app.task
def charge_invoice(invoice_id: int, amount_cents: int) -> str:
    """Deduplicates on the business fact: invoice N is charged once."""
    return charge_once(f"invoice:{invoice_id}:charge", invoice_id, amount_cents)


@contextmanager
def running_worker(log_path: Path) -> Iterator[None]:
    command = [
        *(sys.executable, "-m", "celery", "-A", "idempotent_tasks", "worker"),
        *("--queues", NAMESPACE, "--hostname", f"{NAMESPACE}@%h"),
        # Three threads, so the three copies of one charge really run at the same time.
        *("--pool", "threads", "--concurrency", "3", "--loglevel", "INFO"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=stop_with_parent
        )
        try:
            yield
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def billed(invoice_id: int) -> tuple[int, int]:
    """(ledger rows, cents billed) for one invoice."""
    with Session(engine) as session:
        query = select(func.count(), func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
        rows, cents = session.execute(query.where(LedgerEntry.invoice_id == invoice_id)).one()
    return rows, cents


def outcomes(results: list[AsyncResult[Any]]) -> list[str]:
    return sorted(result.get(timeout=20) for result in results)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        with tempfile.TemporaryDirectory() as folder, running_worker(Path(folder) / "worker.log"):
            send_duplicates()
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()
        keys = list(client.scan_iter(match=f"{NAMESPACE}*"))
        if keys:
            client.delete(*keys)
        client.close()


def send_duplicates() -> None:
    print("1. One charge of 5997 cents sent three times (a double click, then a retry):")
    tasks = (
        ("naive", charge_naive, 501),
        ("keyed by task id", charge_keyed_by_task_id, 502),
        ("keyed by invoice", charge_invoice, 503),
    )
    for label, task, invoice_id in tasks:
        runs = outcomes([task.delay(invoice_id, 5997) for _ in range(3)])
        rows, cents = billed(invoice_id)
        print(f"   {label:<17} runs {runs}: {rows} row(s), {cents} cents billed")

    print("2. One message delivered twice (the same task id, as after a worker crash):")
    for label, task, invoice_id in tasks[1:]:
        arguments, task_id = (invoice_id + 10, 5997), f"charge-{invoice_id + 10}"
        first = task.apply_async(arguments, task_id=task_id)
        first_outcome = first.get(timeout=10)
        first.forget()  # drop the stored result, so the next get() waits for the second run
        second_outcome = task.apply_async(arguments, task_id=task_id).get(timeout=10)
        rows, _ = billed(invoice_id + 10)
        print(f"   {label:<17} first {first_outcome!r}, then {second_outcome!r}: {rows} row(s)")


def stop_with_parent() -> None:
    """Run in the worker's process before it starts: on Linux, ask the kernel to send it SIGTERM
    if this script dies without reaching its `finally` (killed at a timeout, for instance)."""
    import ctypes
    import signal

    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


if __name__ == "__main__":
    main()
