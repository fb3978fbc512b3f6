"""Is a step I/O-bound or CPU-bound? Split its wall time into what the thread was doing.

On Linux the kernel keeps, per thread, the time spent running on a CPU and the time spent
ready but waiting for a free core (the run queue). Whatever is left of the wall time the
thread spent blocked: waiting on a socket, a disk or a timer. A step that is mostly blocked
gains from overlapping with others; a step that mostly runs only gains from more cores.
"""

import json
import logging
import os
import time
from collections.abc import Callable
from decimal import Decimal

import psycopg
import redis
from psycopg.rows import TupleRow

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
).replace("postgresql+psycopg://", "postgresql://")
REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
JOB_QUEUE = "s6_1:invoice-jobs"
VAT_RATE, CENT = Decimal("0.21"), Decimal("0.01")

log = logging.getLogger("workload")


HEADER = f"{'step':<16} {'result':<17}{'wall':>7}{'CPU':>7}{'I/O':>7}{'queue':>7}  verdict"
SCHEDSTAT = "/proc/thread-self/schedstat"  # Linux: ns on a CPU, ns waiting for one, slices


def cpu_clocks() -> tuple[float, float]:
    """Seconds this thread has run on a CPU, and seconds it sat ready but waiting for one."""
    if os.path.exists(SCHEDSTAT):
        with open(SCHEDSTAT) as stat:
            on_cpu, run_queue, _ = (int(field) for field in stat.read().split())
        return on_cpu / 1e9, run_queue / 1e9
    return time.thread_time(), 0.0  # elsewhere: no run-queue figure, treat it as zero


def profile(name: str, step: Callable[[], str]) -> None:
    wall_started, (cpu_started, queue_started) = time.perf_counter(), cpu_clocks()
    outcome = step()
    wall = time.perf_counter() - wall_started
    cpu_ended, queue_ended = cpu_clocks()
    cpu, queued = cpu_ended - cpu_started, queue_ended - queue_started
    blocked = max(wall - cpu - queued, 0.0)  # neither running nor ready: waiting on I/O
    share = cpu / max(cpu + blocked, 1e-9)
    verdict = "I/O-bound" if share < 0.1 else "CPU-bound" if share > 0.9 else "mixed"
    figures = "".join(f"{seconds * 1000:>7.0f}" for seconds in (wall, cpu, blocked, queued))
    print(f"{name:<16} {outcome:<17}{figures}  {verdict}")


def revenue_report(conn: psycopg.Connection[TupleRow]) -> str:
    """The database does the arithmetic; this process sends a query and waits."""
    row = conn.execute("SELECT count(*), sum(n) FROM generate_series(1, 2000000) AS n").fetchone()
    assert row is not None
    return f"sum of {row[0]:,}"


def wait_for_job(queue: redis.Redis) -> str:
    """A worker blocked on an empty queue: pure waiting, until the 0.3 s timeout."""
    job = queue.blpop([JOB_QUEUE], timeout=0.3)
    return "no job" if job is None else f"job {job[1]!r}"


def render_invoices() -> str:
    """Pure-Python work: Decimal arithmetic and JSON for 40,000 invoice lines."""
    lines = []
    for n in range(40_000):
        net = Decimal(n % 997) / 10 * (n % 7 + 1)
        vat = (net * VAT_RATE).quantize(CENT)
        lines.append({"sku": f"SKU-{n % 500:04d}", "net": str(net), "vat": str(vat)})
    return f"{len(json.dumps(lines)):,} B JSON"


def load_order_rows(conn: psycopg.Connection[TupleRow]) -> str:
    """Waits for the database, then builds 200,000 Python tuples: some of each."""
    rows = conn.execute("SELECT n, n % 97 FROM generate_series(1, 200000) AS n").fetchall()
    return f"{len(rows):,} rows"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        with (
            psycopg.connect(POSTGRES_URL) as conn,
            redis.Redis.from_url(REDIS_URL) as queue,
        ):
            queue.delete(JOB_QUEUE)
            conn.execute("SELECT 1")  # connect and warm up before measuring
            print("milliseconds of wall time, split by what the thread was doing")
            print(HEADER)
            profile("revenue report", lambda: revenue_report(conn))
            profile("wait for a job", lambda: wait_for_job(queue))
            profile("render invoices", render_invoices)
            profile("load order rows", lambda: load_order_rows(conn))
    except (psycopg.Error, redis.RedisError) as error:
        log.error("a service is not reachable: %s", error)
        raise


if __name__ == "__main__":
    main()
