"""What ThreadPoolExecutor and ProcessPoolExecutor build on Python 3.11, read from live pools.

An invoicing service uses both: threads for calls to a currency-rate API, processes for PDF
rendering. The underscore attributes read here (_max_workers, _threads, _processes,
_mp_context) are CPython's private state, used only to make the defaults visible. Production
code never reads them.
"""

import multiprocessing
import os
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

TAX_TABLE: dict[str, int] = {}  # filled once per worker process by the initializer
INITIALIZER_RUNS = 0


def fetch_rate(currency: str) -> str:
    time.sleep(0.01)  # stands in for an HTTP call that releases the GIL while it waits
    return f"{currency}: {threading.current_thread().name}"


def wait_for_gate(gate: threading.Event) -> None:
    gate.wait(timeout=5)


def load_tax_table(region: str) -> None:
    global INITIALIZER_RUNS
    INITIALIZER_RUNS += 1
    TAX_TABLE.update({"DE": 19, "FR": 20, "NL": 21} if region == "eu" else {})


def tax_cents(country: str, net_cents: int) -> tuple[int, int]:
    """Runs in a worker: the tax, and how often this worker's initializer ran."""
    return net_cents * TAX_TABLE[country] // 100, INITIALIZER_RUNS


def worker_pid(invoice_id: int) -> int:
    return os.getpid()


def private(pool: Executor, name: str) -> Any:
    """Read one of CPython's private pool attributes (for this demonstration only)."""
    return getattr(pool, name)


def thread_pool_defaults() -> None:
    cpus = os.cpu_count() or 1
    pool = ThreadPoolExecutor()
    workers = private(pool, "_max_workers")
    threads = private(pool, "_threads")  # the live set the pool adds its threads to
    print("1. ThreadPoolExecutor()")
    print(f"   max_workers = {workers} = min(32, cpu_count {cpus} + 4)")
    print(f"   threads before the first submit: {len(threads)}")
    for currency in ("EUR", "USD", "GBP", "CHF", "JPY"):
        pool.submit(fetch_rate, currency).result()  # one at a time: an idle thread is reused
        time.sleep(0.1)  # the worker marks itself idle just after it sets the result
    print(f"   threads after 5 calls made one at a time: {len(threads)}")
    gate = threading.Event()
    blocked = [pool.submit(wait_for_gate, gate) for _ in range(workers + 2)]
    deadline = time.monotonic() + 3
    while sum(f.running() for f in blocked) < workers and time.monotonic() < deadline:
        time.sleep(0.01)  # give every thread time to pick up a job
    running = sum(future.running() for future in blocked)
    print(
        f"   {len(blocked)} blocking calls at once: {len(threads)} threads, "
        f"{running} running, {len(blocked) - running} waiting in the queue"
    )
    gate.set()
    pool.shutdown()
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="fx-rates") as named:
        print(f"   thread names: {named.submit(fetch_rate, 'EUR').result()!r}")


def process_pool_defaults() -> None:
    cpus = os.cpu_count() or 1
    print("2. ProcessPoolExecutor()")
    with ProcessPoolExecutor() as pool:
        method = private(pool, "_mp_context").get_start_method()
        workers = private(pool, "_max_workers")
        print(f"   max_workers = {workers} = os.cpu_count(); start method: {method}")
        print(f"   processes before the first submit: {len(private(pool, '_processes'))}")
        pool.submit(worker_pid, 1).result()
        started = len(private(pool, "_processes"))
        print(f"   processes after one submit (fork starts them all): {started}")
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=cpus, mp_context=spawn) as pool:
        pool.submit(worker_pid, 1).result()
        started = len(private(pool, "_processes"))
        print(f"   same with mp_context=spawn, one submit: {started} process started")


def recycled_workers() -> None:
    print("3. max_tasks_per_child (3.11+)")
    try:
        ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("fork"),
            max_tasks_per_child=2,
        )
    except ValueError as error:
        print(f"   with a fork context: ValueError: {error}")
    with ProcessPoolExecutor(max_workers=1, max_tasks_per_child=2) as pool:
        method = private(pool, "_mp_context").get_start_method()
        print(f"   no mp_context given: start method {method}")
        pids = [pool.submit(worker_pid, invoice_id).result() for invoice_id in range(6)]
    print(f"   6 invoices, 1 worker, 2 tasks per child: {len(set(pids))} distinct worker processes")


def initializer_per_worker() -> None:
    print("4. initializer runs once in each worker, before its first task")
    with ProcessPoolExecutor(max_workers=2, initializer=load_tax_table, initargs=("eu",)) as pool:
        answers = list(pool.map(tax_cents, ["DE", "FR", "NL", "DE"], [10_000] * 4))
    print(f"   taxes: {[tax for tax, _ in answers]}")
    print(f"   initializer runs seen by each task: {sorted({runs for _, runs in answers})}")
    print(f"   initializer runs in the parent process: {INITIALIZER_RUNS}")


def main() -> None:
    thread_pool_defaults()
    process_pool_defaults()
    recycled_workers()
    initializer_per_worker()


if __name__ == "__main__":
    main()
