"""Four executor patterns from an invoicing service's back office.

1. A bounded submission window, so an export never holds one future per row.
2. A fan-out with a deadline that returns partial results instead of waiting for the slowest.
3. Per-thread resources made by the pool's initializer.
4. Separate pools per kind of work, so slow jobs cannot queue up fast ones.
"""

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from typing import TypeVar

logging.basicConfig(level=logging.INFO, format="   log %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("back-office")

T = TypeVar("T")
R = TypeVar("R")


def bounded_map(
    executor: Executor, fn: Callable[[T], R], items: Iterable[T], *, max_in_flight: int
) -> Iterator[tuple[T, R]]:
    """Yield (item, result) as calls finish, with at most max_in_flight futures alive."""
    if max_in_flight < 1:
        raise ValueError("max_in_flight must be at least 1")
    in_flight: dict[Future[R], T] = {}
    source = iter(items)
    try:
        for item in source:
            in_flight[executor.submit(fn, item)] = item
            if len(in_flight) < max_in_flight:
                continue
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                yield in_flight.pop(future), future.result()
        for future in list(in_flight):
            yield in_flight.pop(future), future.result()
    finally:
        for future in in_flight:  # the consumer stopped early or a call raised
            future.cancel()


def amount_with_tax(invoice_id: int) -> int:
    time.sleep(0.0002)  # a lookup that releases the GIL
    return invoice_id * 119 // 100


def bounded_window() -> None:
    print("1. 2,000 invoices from a cursor: pool.map() versus a bounded window of 16")
    pulled = 0

    def cursor() -> Iterator[int]:
        nonlocal pulled
        for invoice_id in range(2_000):
            pulled += 1
            yield invoice_id

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(amount_with_tax, cursor())
        first = next(results)
        print(f"   pool.map: rows pulled before the first result: {pulled:,} (result {first})")
        total = first + sum(results)
        pulled, ahead, bounded_total = 0, 0, 0
        window = bounded_map(pool, amount_with_tax, cursor(), max_in_flight=16)
        for done, (_, amount) in enumerate(window, start=1):
            bounded_total += amount
            ahead = max(ahead, pulled - done)
        print(f"   bounded: most rows pulled ahead of the consumer: {ahead}")
        print(f"   same total both ways: {total == bounded_total}")


def query_shard(region: str) -> int:
    delays = {"eu-west": 0.05, "eu-central": 0.08, "us-east": 0.6, "ap-south": 0.04}
    time.sleep(delays[region])
    return {"eu-west": 120, "eu-central": 75, "us-east": 310, "ap-south": 42}[region]


def fan_out_with_deadline() -> None:
    print("2. overdue-invoice counts from 4 regions, 0.3 s budget")
    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="shards")
    futures = {
        pool.submit(query_shard, r): r for r in ("eu-west", "eu-central", "us-east", "ap-south")
    }
    done, not_done = wait(futures, timeout=0.3)
    counts = {futures[f]: f.result() for f in done}
    missing = sorted(futures[f] for f in not_done)
    print(f"   answered: {dict(sorted(counts.items()))}")
    print(f"   missing: {missing}; partial total {sum(counts.values())}")
    pool.shutdown(wait=False, cancel_futures=True)  # do not wait for us-east; it finishes alone
    log.warning("overdue report is partial: %s did not answer in 0.3 s", ", ".join(missing))


local = threading.local()
connections_opened: list[str] = []
opened_lock = threading.Lock()


def open_ledger_connection() -> None:
    """The initializer: runs once in each worker thread, before its first job."""
    local.db = sqlite3.connect(":memory:")  # usable only by the thread that made it
    local.db.execute("create table ledger (invoice_id integer, cents integer)")
    with opened_lock:
        connections_opened.append(threading.current_thread().name)


def post_to_ledger(invoice_id: int) -> str:
    db: sqlite3.Connection = local.db
    db.execute("insert into ledger values (?, ?)", (invoice_id, invoice_id * 100))
    return threading.current_thread().name


def per_thread_resources() -> None:
    print("3. one sqlite3 connection per worker thread, opened by the initializer")
    with ThreadPoolExecutor(
        max_workers=3, thread_name_prefix="ledger", initializer=open_ledger_connection
    ) as pool:
        gate = threading.Barrier(3)
        list(pool.map(lambda _: gate.wait(timeout=5), range(3)))  # make all 3 threads start
        posted = list(pool.map(post_to_ledger, range(30)))
    print(f"   {len(posted)} postings, connections opened: {len(connections_opened)}")
    shared = sqlite3.connect(":memory:")
    with ThreadPoolExecutor(max_workers=1) as pool:
        error = pool.submit(shared.execute, "select 1").exception()
    print(f"   one connection shared with a worker: {type(error).__name__}")
    shared.close()


def export_statement(tenant: str) -> str:
    time.sleep(0.3)
    return f"{tenant}.pdf"


def exchange_rate(currency: str) -> float:
    return {"USD": 1.08, "GBP": 0.86}[currency]


def waited_ms(pool: Executor) -> float:
    started = time.perf_counter()
    pool.submit(exchange_rate, "USD").result()
    return (time.perf_counter() - started) * 1000


def pools_per_kind_of_work() -> None:
    print("4. a rate lookup submitted behind 4 statement exports")
    with ThreadPoolExecutor(max_workers=4) as shared:
        for tenant in ("acme", "globex", "initech", "hooli"):
            shared.submit(export_statement, tenant)
        print(f"   one shared pool of 4:        waited {waited_ms(shared):6.1f} ms")
    with ThreadPoolExecutor(max_workers=4) as exports, ThreadPoolExecutor(max_workers=2) as rates:
        for tenant in ("acme", "globex", "initech", "hooli"):
            exports.submit(export_statement, tenant)
        print(f"   its own pool of 2:           waited {waited_ms(rates):6.1f} ms")


def main() -> None:
    bounded_window()
    fan_out_with_deadline()
    per_thread_resources()
    pools_per_kind_of_work()


if __name__ == "__main__":
    main()
