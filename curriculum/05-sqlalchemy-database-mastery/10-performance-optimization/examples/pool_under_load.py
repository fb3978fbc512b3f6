"""QueuePool sizing under concurrent load: 16 worker threads, each request 4 ms of app work
plus a 4 ms query. Throughput and waits vary by run; the ceilings and the errors do not.
"""

import logging
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import TimeoutError as PoolTimeout

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
THREADS, REQUESTS_PER_THREAD = 16, 10
APP_SECONDS = DB_SECONDS = 0.004
log = logging.getLogger("pool_under_load")


@dataclass
class Run:
    waits: list[float] = field(default_factory=list)  # seconds spent in engine.connect()
    latencies: list[float] = field(default_factory=list)  # seconds per request
    connects: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def pooled_engine(run: Run, **pool: Any) -> Engine:
    engine = create_engine(POSTGRES_URL, **pool)

    def on_connect(dbapi_conn: Any, record: Any) -> None:
        with run.lock:
            run.connects += 1

    event.listen(engine, "connect", on_connect)
    return engine


def handle_request(engine: Engine, run: Run, hold_during_app_work: bool) -> None:
    started = time.perf_counter()
    query = text("SELECT pg_sleep(:s)")
    if hold_during_app_work:  # checkout at the top of the handler, as many web apps do
        with engine.connect() as conn:
            waited = time.perf_counter() - started
            time.sleep(APP_SECONDS)  # calling another service while holding the connection
            conn.execute(query, {"s": DB_SECONDS})
    else:
        time.sleep(APP_SECONDS)
        before = time.perf_counter()
        with engine.connect() as conn:
            waited = time.perf_counter() - before
            conn.execute(query, {"s": DB_SECONDS})
    with run.lock:
        run.waits.append(waited)
        run.latencies.append(time.perf_counter() - started)


def load_test(label: str, hold: bool = False, **pool: Any) -> None:
    run = Run()
    engine = pooled_engine(run, **pool)
    warm = [engine.connect() for _ in range(pool["pool_size"])]  # open the pool before timing
    for conn in warm:
        conn.close()
    run.connects = 0
    start = threading.Barrier(THREADS)

    def worker() -> None:
        start.wait()
        for _ in range(REQUESTS_PER_THREAD):
            handle_request(engine, run, hold)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    engine.dispose()

    held = APP_SECONDS + DB_SECONDS if hold else DB_SECONDS
    ceiling = min(pool["pool_size"] + pool["max_overflow"], THREADS) / held
    ceiling = min(ceiling, THREADS / (APP_SECONDS + DB_SECONDS))  # the threads' own limit
    waits = statistics.quantiles([w * 1000 for w in run.waits], n=20)
    print(
        f"{label:<24} {ceiling:6.0f} {len(run.latencies) / elapsed:6.0f}/s"
        f" {waits[9]:7.2f} ms {waits[18]:7.2f} ms  new connections: {run.connects}"
    )


def timeout_demo() -> None:
    run = Run()
    engine = pooled_engine(run, pool_size=2, max_overflow=0, pool_timeout=0.1)
    start, outcomes = threading.Barrier(6), []

    def slow_report() -> None:
        start.wait()
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_sleep(0.5)"))
            outcomes.append("ok")
        except PoolTimeout as exc:
            outcomes.append(str(exc).split(" (Background")[0])

    threads = [threading.Thread(target=slow_report) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    engine.dispose()
    for outcome in sorted(set(outcomes)):
        print(f"   {outcomes.count(outcome)} x {outcome}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    log.info(
        "%d threads x %d requests; each request: %.0f ms app work + %.0f ms query",
        THREADS,
        REQUESTS_PER_THREAD,
        APP_SECONDS * 1000,
        DB_SECONDS * 1000,
    )
    print("pool_size + max_overflow ceiling measured   wait p50   wait p95")
    for size in (2, 4, 8, 16):
        load_test(f"{size:>2} + 0", pool_size=size, max_overflow=0)
    load_test(" 4 + 0, held during app", hold=True, pool_size=4, max_overflow=0)
    load_test(" 4 + 12", pool_size=4, max_overflow=12)
    log.info("6 slow reports (0.5 s each) on pool_size=2, max_overflow=0, pool_timeout=0.1:")
    timeout_demo()


if __name__ == "__main__":
    main()
