"""PostgreSQL: the durable state of jobs, pages, attempts and the ledger of side effects.

The broker and the result backend hold messages and chord bookkeeping; everything a person asks
about later (where is my job, what did it cost, why did it fail) lives here. Each method is one
transaction, so a worker killed at any instant leaves either all of a step or none of it.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
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
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert

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
        jobs = self.tables.jobs
        with self.engine.begin() as connection:
            connection.execute(select(func.pg_advisory_xact_lock(func.hashtext(jobs.name))))
            self.tables.metadata.create_all(connection)

    def insert_job(self, job_id: uuid.UUID, document: Document) -> None:
        jobs, pages = self.tables.jobs, self.tables.pages
        with self.engine.begin() as connection:
            connection.execute(
                insert(jobs).values(
                    id=job_id,
                    title=document.title,
                    priority=document.priority,
                    pages_total=len(document.pages),
                )
            )
            connection.execute(
                insert(pages),
                [
                    {"job_id": job_id, "number": number, "spec": page.to_json()}
                    for number, page in enumerate(document.pages, start=1)
                ],
            )

    def start_attempt(
        self, job_id: uuid.UUID, number: int, worker: str, redelivered: bool
    ) -> Attempt | None:
        """Record that a delivery of the page task started; None if the page is gone."""
        jobs, pages, attempts = self.tables.jobs, self.tables.pages, self.tables.attempts
        with self.engine.begin() as connection:
            page = connection.execute(
                select(pages.c.spec, pages.c.state, pages.c.result).where(
                    pages.c.job_id == job_id, pages.c.number == number
                )
            ).first()
            if page is None:
                return None
            attempt_id = connection.execute(
                insert(attempts)
                .values(job_id=job_id, page_number=number, worker=worker, redelivered=redelivered)
                .returning(attempts.c.id)
            ).scalar_one()
            connection.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.state == "queued")
                .values(state="processing", started_at=func.clock_timestamp())
            )
            connection.execute(
                update(pages)
                .where(
                    pages.c.job_id == job_id, pages.c.number == number, pages.c.state == "queued"
                )
                .values(state="processing")
            )
        stored = page.result if page.state == "succeeded" else None
        return Attempt(attempt_id, PageSpec.from_json(page.spec), stored)

    def finish_attempt(self, attempt_id: int, outcome: str, detail: str | None = None) -> None:
        attempts = self.tables.attempts
        with self.engine.begin() as connection:
            connection.execute(
                update(attempts)
                .where(attempts.c.id == attempt_id)
                .values(finished_at=func.clock_timestamp(), outcome=outcome, detail=detail)
            )

    def record_page(self, job_id: uuid.UUID, number: int, result: dict[str, Any]) -> bool:
        """Bill the page and store its result in one transaction; False if it was billed
        already (the ledger's primary key is the idempotency key)."""
        pages, ledger = self.tables.pages, self.tables.ledger
        with self.engine.begin() as connection:
            billed = connection.execute(
                pg_insert(ledger)
                .values(
                    effect_key=f"page:{job_id}:{number}",
                    job_id=job_id,
                    kind="page",
                    page_number=number,
                    words=result["words"],
                )
                .on_conflict_do_nothing(index_elements=[ledger.c.effect_key])
                .returning(ledger.c.effect_key)
            ).first()
            if billed is None:
                return False
            connection.execute(
                update(pages)
                .where(pages.c.job_id == job_id, pages.c.number == number)
                .values(state="succeeded", result=result, finished_at=func.clock_timestamp())
            )
        return True

    def fail_page(self, job_id: uuid.UUID, number: int, error: str) -> None:
        """The page failed for good, and with it the job (unless it already finished)."""
        pages = self.tables.pages
        with self.engine.begin() as connection:
            connection.execute(
                update(pages)
                .where(
                    pages.c.job_id == job_id,
                    pages.c.number == number,
                    pages.c.state.not_in(FINISHED),
                )
                .values(state="failed", finished_at=func.clock_timestamp())
            )
            self.fail_job_in(connection, job_id, error)

    def fail_job(self, job_id: uuid.UUID, error: str) -> None:
        with self.engine.begin() as connection:
            self.fail_job_in(connection, job_id, error)

    def fail_job_in(self, connection: Connection, job_id: uuid.UUID, error: str) -> None:
        jobs = self.tables.jobs
        connection.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.state.not_in(FINISHED))
            .values(state="failed", error=error, finished_at=func.clock_timestamp())
        )

    def record_summary(self, job_id: uuid.UUID, summary: dict[str, Any]) -> bool:
        """Finish the job with its summary and bill it, once: the state change from
        processing to succeeded is the gate, and the ledger row commits with it."""
        jobs, ledger = self.tables.jobs, self.tables.ledger
        with self.engine.begin() as connection:
            finished = connection.execute(
                update(jobs)
                .where(jobs.c.id == job_id, jobs.c.state == "processing")
                .values(state="succeeded", result=summary, finished_at=func.clock_timestamp())
                .returning(jobs.c.id)
            ).first()
            if finished is None:
                return False
            connection.execute(
                pg_insert(ledger)
                .values(
                    effect_key=f"job:{job_id}", job_id=job_id, kind="job", words=summary["words"]
                )
                .on_conflict_do_nothing(index_elements=[ledger.c.effect_key])
            )
        return True

    def job_status(self, job_id: str) -> dict[str, Any] | None:
        """The job as the status API shows it; None if there is no such job."""
        key = parse_job_id(job_id)
        if key is None:
            return None
        jobs, pages, attempts = self.tables.jobs, self.tables.pages, self.tables.attempts
        counted = (
            select(func.count())
            .where(attempts.c.job_id == pages.c.job_id, attempts.c.page_number == pages.c.number)
            .scalar_subquery()
        )
        with self.engine.connect() as connection:
            job = connection.execute(select(jobs).where(jobs.c.id == key)).first()
            if job is None:
                return None
            rows = connection.execute(
                select(pages.c.number, pages.c.state, counted.label("attempts"))
                .where(pages.c.job_id == key)
                .order_by(pages.c.number)
            ).all()
        page_list = [{"number": r.number, "state": r.state, "attempts": r.attempts} for r in rows]
        return {
            "id": str(job.id),
            "title": job.title,
            "priority": job.priority,
            "state": job.state,
            "pages_total": job.pages_total,
            "pages_done": sum(page["state"] == "succeeded" for page in page_list),
            "pages_failed": sum(page["state"] == "failed" for page in page_list),
            "result": job.result,
            "error": job.error,
            "pages": page_list,
            "created_at": iso(job.created_at),
            "started_at": iso(job.started_at),
            "finished_at": iso(job.finished_at),
        }

    def delete_finished_before(self, max_age: float) -> int:
        """Delete jobs that finished more than max_age seconds ago (pages and attempts go with
        them; the ledger stays). Returns how many jobs were deleted."""
        jobs = self.tables.jobs
        cutoff = func.clock_timestamp() - timedelta(seconds=max_age)
        with self.engine.begin() as connection:
            deleted = connection.execute(
                delete(jobs)
                .where(jobs.c.state.in_(FINISHED), jobs.c.finished_at < cutoff)
                .returning(jobs.c.id)
            ).all()
        return len(deleted)


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
