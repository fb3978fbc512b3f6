"""Memory of a large read: .all() against yield_per / stream_results, in ORM objects and Core rows.

An audit export walks 30,000 billing events. Each variant runs in a forked child process, so the
peak RSS (resource.getrusage) it reports is its own; tracemalloc, run separately, shows which
part of that memory Python allocated and which part libpq did.
"""

import multiprocessing
import os
import resource
import time
import tracemalloc
from collections.abc import Callable
from multiprocessing.connection import Connection as Pipe
from typing import Any

from sqlalchemy import Engine, String, create_engine, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

DATABASE_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
ROWS, BATCH = 30_000, 1_000


class Base(DeclarativeBase):
    pass


class BillingEvent(Base):
    __tablename__ = "s5_14_billing_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(30))
    payload: Mapped[str] = mapped_column(String(200))


events = BillingEvent.__table__


def open_cursors(session: Session) -> int:
    return int(session.execute(text("SELECT count(*) FROM pg_cursors")).scalar_one())


def orm_all(session: Session) -> str:
    rows = session.scalars(select(BillingEvent).order_by(BillingEvent.id)).all()
    total = sum(len(event.payload) for event in rows)
    return f"{len(rows)} rows, identity map holds {len(session.identity_map)}, checksum {total}"


def orm_yield_per(session: Session) -> str:
    stmt = select(BillingEvent).order_by(BillingEvent.id).execution_options(yield_per=BATCH)
    count = total = cursors = 0
    for event in session.scalars(stmt):
        count, total = count + 1, total + len(event.payload)
        if count == 1:
            cursors = open_cursors(session)  # same connection, same transaction
    held = len(session.identity_map)  # clean objects are weakly referenced: GC'd as we go
    return f"{count} rows, identity map holds {held}, checksum {total}, server cursors {cursors}"


def core_buffered(session: Session) -> str:
    count = total = 0
    for row in session.execute(select(events.c.payload).order_by(events.c.id)):
        count, total = count + 1, total + len(row.payload)
    return f"{count} rows, checksum {total}"


def core_yield_per(session: Session) -> str:
    stmt = select(events.c.payload).order_by(events.c.id).execution_options(yield_per=BATCH)
    count = total = 0
    for row in session.execute(stmt):
        count, total = count + 1, total + len(row.payload)
    return f"{count} rows, checksum {total}"


def measure(work: Callable[[Session], str], traced: bool, results: Pipe) -> None:
    """Child process: a fresh engine (never share a pool across fork), then one variant."""
    engine = create_engine(DATABASE_URL, pool_size=1)
    with Session(engine) as session:
        session.execute(text("SELECT 1"))  # connect and warm up before the baseline
        if traced:
            tracemalloc.start()
        baseline_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        summary = work(session)
        seconds = time.perf_counter() - started
        peak_rss_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline_kb) / 1024
        python_peak_mb = tracemalloc.get_traced_memory()[1] / 2**20 if traced else 0.0
    engine.dispose()
    results.send((summary, peak_rss_mb, python_peak_mb, seconds))


def run_in_child(work: Callable[[Session], str], traced: bool) -> tuple[Any, ...]:
    fork = multiprocessing.get_context("fork")
    receiver, sender = fork.Pipe(duplex=False)
    child = fork.Process(target=measure, args=(work, traced, sender))
    child.start()
    result: tuple[Any, ...] = receiver.recv()
    child.join()
    return result


def seed(engine: Engine) -> None:
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO s5_14_billing_events (id, tenant_id, kind, payload)"
                " SELECT g, g % 40, 'invoice.paid', repeat('x', 150) || g"
                " FROM generate_series(1, :rows) AS g"
            ),
            {"rows": ROWS},
        )


def main() -> None:
    engine = create_engine(DATABASE_URL)
    seed(engine)
    engine.dispose()  # nothing pooled is inherited by the children

    print(f"== peak RSS growth per variant ({ROWS:,} rows, batches of {BATCH:,})")
    for label, work in [
        ("ORM .all()", orm_all),
        ("ORM yield_per", orm_yield_per),
        ("Core, default cursor", core_buffered),
        ("Core yield_per", core_yield_per),
    ]:
        summary, rss_mb, _, seconds = run_in_child(work, traced=False)
        print(f"  {label:<21} {rss_mb:6.1f} MB {seconds:5.2f} s  {summary}")

    print("== tracemalloc sees Python's allocations only")
    for label, work in [("ORM .all()", orm_all), ("Core, default cursor", core_buffered)]:
        _, rss_mb, python_mb, _ = run_in_child(work, traced=True)
        print(f"  {label:<21} Python peak {python_mb:6.1f} MB of {rss_mb:6.1f} MB RSS growth")

    engine = create_engine(DATABASE_URL)
    Base.metadata.drop_all(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
