"""PostgreSQL: the durable state of jobs, pages, attempts and the ledger of side effects.

The broker and the result backend hold messages and chord bookkeeping; everything a person asks
about later (where is my job, what did it cost, why did it fail) lives here. Each method is one
transaction, so a worker killed at any instant leaves either all of a step or none of it.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    Uuid,
    create_engine,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from docpipe.config import settings
from docpipe.documents import Document, PageSpec

logger = logging.getLogger(__name__)

JOB_STATES = "state IN ('queued', 'processing', 'succeeded', 'failed')"
FINISHED = ("succeeded", "failed")


def timestamp(name: str, **options: Any) -> Column[datetime]:
    return Column(name, DateTime(timezone=True), **options)


@dataclass(frozen=True)
class Tables:
    metadata: MetaData
    jobs: Table
    pages: Table
    attempts: Table
    ledger: Table


def build_tables(namespace: str) -> Tables:
    metadata = MetaData()
    jobs = Table(
        f"{namespace}_jobs",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("title", Text, nullable=False),
        Column(
            "priority", SmallInteger, CheckConstraint("priority BETWEEN 0 AND 9"), nullable=False
        ),
        Column("state", Text, CheckConstraint(JOB_STATES), nullable=False, server_default="queued"),
        Column("pages_total", Integer, nullable=False),
        Column("result", JSONB),
        Column("error", Text),
        timestamp("created_at", nullable=False, server_default=func.clock_timestamp()),
        timestamp("started_at"),
        timestamp("finished_at"),
    )
    pages = Table(
        f"{namespace}_pages",
        metadata,
        Column("job_id", Uuid, ForeignKey(jobs.c.id, ondelete="CASCADE"), primary_key=True),
        Column("number", Integer, primary_key=True),
        Column("spec", JSONB, nullable=False),
        Column("state", Text, CheckConstraint(JOB_STATES), nullable=False, server_default="queued"),
        Column("result", JSONB),
        timestamp("finished_at"),
    )
    attempts = Table(
        f"{namespace}_attempts",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("job_id", Uuid, nullable=False),
        Column("page_number", Integer, nullable=False),
        Column("worker", Text, nullable=False),
        Column("redelivered", Boolean, nullable=False),
        timestamp("started_at", nullable=False, server_default=func.clock_timestamp()),
        timestamp("finished_at"),
        Column("outcome", Text, CheckConstraint("outcome IN ('succeeded', 'retry', 'failed')")),
        Column("detail", Text),
        ForeignKeyConstraint(
            ["job_id", "page_number"], [pages.c.job_id, pages.c.number], ondelete="CASCADE"
        ),
        Index(f"{namespace}_attempts_page", "job_id", "page_number"),
    )
    ledger = Table(  # no foreign key: what was billed outlives the job's cleanup
        f"{namespace}_ledger",
        metadata,
        Column("effect_key", Text, primary_key=True),
        Column("job_id", Uuid, nullable=False),
        Column("kind", Text, CheckConstraint("kind IN ('page', 'job')"), nullable=False),
        Column("page_number", Integer),
        Column("words", Integer, nullable=False),
        timestamp("applied_at", nullable=False, server_default=func.clock_timestamp()),
    )
    return Tables(metadata, jobs, pages, attempts, ledger)


@dataclass(frozen=True)
class Attempt:
    """One execution of a page task, as recorded when it started."""

    id: int
    spec: PageSpec
    stored_result: dict[str, Any] | None  # set when an earlier delivery already did the work


def parse_job_id(job_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(job_id)
    except ValueError:
        return None


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class Store:
    def __init__(self, engine: Engine, tables: Tables) -> None:
        self.engine = engine
        self.tables = tables

    def create_tables(self) -> None:
        """CREATE TABLE IF NOT EXISTS, serialised: two processes starting at once would
        otherwise race on PostgreSQL's catalog and one of them fail with a unique violation."""
        raise NotImplementedError("TODO: Store.create_tables")

    def insert_job(self, job_id: uuid.UUID, document: Document) -> None:
        """Insert the job (state 'queued') and its pages (spec = the page as JSON), in one
        transaction."""
        raise NotImplementedError("TODO: Store.insert_job")

    def start_attempt(
        self, job_id: uuid.UUID, number: int, worker: str, redelivered: bool
    ) -> Attempt | None:
        """Record that a delivery of the page task started; None if the page is gone.

        One transaction: insert the attempts row (started_at defaults to clock_timestamp(),
        finished_at stays NULL until finish_attempt), move the job from 'queued' to
        'processing' (setting started_at) and the page from 'queued' to 'processing'. Return
        the page's spec, and its stored result if an earlier delivery already recorded it.
        """
        raise NotImplementedError("TODO: Store.start_attempt")

    def finish_attempt(self, attempt_id: int, outcome: str, detail: str | None = None) -> None:
        """Set the attempt's finished_at (clock_timestamp()), outcome and detail."""
        raise NotImplementedError("TODO: Store.finish_attempt")

    def record_page(self, job_id: uuid.UUID, number: int, result: dict[str, Any]) -> bool:
        """Bill the page and store its result in one transaction; False if it was billed
        already (the ledger's primary key is the idempotency key)."""
        raise NotImplementedError("TODO: Store.record_page")

    def fail_page(self, job_id: uuid.UUID, number: int, error: str) -> None:
        """The page failed for good, and with it the job (unless it already finished)."""
        raise NotImplementedError("TODO: Store.fail_page")

    def fail_job(self, job_id: uuid.UUID, error: str) -> None:
        """Mark the job failed with this error, unless it already finished."""
        raise NotImplementedError("TODO: Store.fail_job")

    def fail_job_in(self, connection: Connection, job_id: uuid.UUID, error: str) -> None:
        """fail_job inside a transaction the caller already holds."""
        raise NotImplementedError("TODO: Store.fail_job_in")

    def record_summary(self, job_id: uuid.UUID, summary: dict[str, Any]) -> bool:
        """Finish the job with its summary and bill it, once: the state change from
        processing to succeeded is the gate, and the ledger row commits with it."""
        raise NotImplementedError("TODO: Store.record_summary")

    def job_status(self, job_id: str) -> dict[str, Any] | None:
        """The job as the status API shows it; None if there is no such job."""
        raise NotImplementedError("TODO: Store.job_status")

    def delete_finished_before(self, max_age: float) -> int:
        """Delete jobs that finished more than max_age seconds ago (pages and attempts go with
        them; the ledger stays). Returns how many jobs were deleted."""
        raise NotImplementedError("TODO: Store.delete_finished_before")


@cache
def get_store() -> Store:
    """This process's store: one engine (a small connection pool) per process."""
    config = settings()
    engine = create_engine(config.database_url, pool_size=2, max_overflow=2, pool_pre_ping=True)
    return Store(engine, build_tables(config.namespace))


def reset_after_fork() -> None:
    """In a forked child, forget the parent's pooled connections without closing them: they
    are the parent's sockets too, and closing them here would break the parent's sessions."""
    if get_store.cache_info().currsize:
        get_store().engine.dispose(close=False)
