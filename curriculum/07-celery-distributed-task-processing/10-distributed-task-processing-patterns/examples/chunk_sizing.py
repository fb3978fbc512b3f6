"""Chunking a 10,000-invoice billing run: how the batch size sets messages, bytes and wall time.

Run it as `python chunk_sizing.py`. It forks one real Celery worker (four threads, Redis broker),
then bills invoice ids 1..10,000 four times, each time cut into batches of a different size.
A batch is sent as an id *range* (first, last), never as a list of ids: before the worker
starts, the driver publishes one batch each way and reads the two messages back from the Redis
queue to compare their sizes. Batches ignore their results: each adds its totals to a Redis hash
under the run's key, and the driver waits for the hash to account for all 10,000 invoices.
Message counts and sizes are exact; times vary with the machine and are masked when the output
is compared.
"""

from __future__ import annotations

import json
import logging
import math
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import redis
from celery import Celery, group
from celery.signals import worker_ready

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NS = f"s7_10_chunks_{os.getpid()}"  # this run's queue and key prefix; the worker inherits it
CONCURRENCY = 4
INVOICES = 10_000
SECONDS_PER_INVOICE = 0.0002  # stands in for 0.2 ms of database work per invoice

app = Celery("chunk_sizing", broker=REDIS_URL)
app.conf.update(
    task_default_queue=NS,
    broker_transport_options={"global_keyprefix": f"{NS}:"},
    task_ignore_result=True,  # batches report through Redis keys, not the result backend
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)
log = logging.getLogger("billing.chunks")


@worker_ready.connect
def announce_ready(**_: Any) -> None:
    store.set(f"{NS}:ready", 1)


def invoice_cents(invoice_id: int) -> int:
    return 500 + (invoice_id * 37) % 5_000  # deterministic amounts, 5.00 to 54.99


@app.task(name="billing.bill_invoice_list")
def bill_invoice_list(run: str, invoice_ids: list[int]) -> None:
    """The same batch, addressed the naive way: every id travels in the message."""
    raise NotImplementedError("only published here, to measure the message")


@app.task(name="billing.bill_invoice_range")
def bill_invoice_range(run: str, first_id: int, last_id: int) -> None:
    """Bill invoices first_id..last_id inclusive and add the batch's totals to the run's hash."""
    count = last_id - first_id + 1
    time.sleep(count * SECONDS_PER_INVOICE)  # one batched query instead of `count` round trips
    cents = sum(invoice_cents(i) for i in range(first_id, last_id + 1))
    with store.pipeline() as pipe:  # MULTI/EXEC: both counters move together
        pipe.hincrby(f"{NS}:{run}", "invoices", count)
        pipe.hincrby(f"{NS}:{run}", "cents", cents)
        pipe.hincrby(f"{NS}:{run}", "batches", 1)
        pipe.execute()


def plan_ranges(first_id: int, last_id: int, size: int) -> list[tuple[int, int]]:
    """Cut first_id..last_id into inclusive (first, last) ranges of at most `size` ids."""
    return [(start, min(start + size - 1, last_id)) for start in range(first_id, last_id + 1, size)]


def run_worker(log_path: str) -> None:
    os.setsid()  # own process group: one killpg() reaches the worker and its threads
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    worker = app.Worker(
        pool="threads", concurrency=CONCURRENCY, loglevel="INFO", quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode or 0)


@contextmanager
def running_worker(log_path: Path) -> Iterator[BaseProcess]:
    sys.stdout.flush()
    process = multiprocessing.get_context("fork").Process(target=run_worker, args=(str(log_path),))
    process.start()
    try:
        wait_until(lambda: store.exists(f"{NS}:ready") == 1, "the worker to start")
        yield process
    finally:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)  # warm shutdown
            process.join(15)
            if process.is_alive():
                os.killpg(process.pid, signal.SIGKILL)
                process.join()


def wait_until(condition: Any, what: str, seconds: float = 25) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.01)


def bill_in_batches(size: int) -> dict[str, int]:
    run = f"run-{size}"
    ranges = plan_ranges(1, INVOICES, size)
    started = time.perf_counter()
    group(bill_invoice_range.si(run, first, last) for first, last in ranges).apply_async()
    publish_ms = (time.perf_counter() - started) * 1000
    wait_until(
        lambda: int(store.hget(f"{NS}:{run}", "invoices") or 0) == INVOICES, f"{run} to finish"
    )
    wall_ms = (time.perf_counter() - started) * 1000
    totals = {str(key): int(value) for key, value in store.hgetall(f"{NS}:{run}").items()}
    rounds = math.ceil(len(ranges) / CONCURRENCY)
    print(
        f"batch {size:>4}: {len(ranges):>4} messages, {rounds:>3} round(s) on 4 threads, "
        f"publish {publish_ms:.0f} ms, wall {wall_ms:.0f} ms"
    )
    return totals


def queued_body_bytes() -> list[int]:
    """Sizes of the (base64) bodies of the messages waiting in this run's Redis queue."""
    raw = store.lrange(f"{NS}:{NS}", 0, -1)  # global_keyprefix + queue name
    return sorted(len(json.loads(message)["body"]) for message in raw)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ideal_ms = INVOICES * SECONDS_PER_INVOICE / CONCURRENCY * 1000
    print(f"{INVOICES} invoices, {CONCURRENCY} worker threads, ideal wall {ideal_ms:.0f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "worker.log"
        try:
            bill_invoice_range.delay("sizing", 1, 2500)  # no worker yet: both messages wait
            bill_invoice_list.delay("sizing", list(range(1, 2501)))
            as_range, as_list = queued_body_bytes()
            store.delete(f"{NS}:{NS}")
            print(f"one 2,500-invoice batch on the queue: body {as_range} bytes as a range, "
                  f"{as_list} bytes as an id list")  # fmt: skip
            with running_worker(log_path):
                results = [bill_in_batches(size) for size in (2500, 2000, 250, 50, 10)]
            first = results[0]
            same = all(
                (r["invoices"], r["cents"]) == (first["invoices"], first["cents"]) for r in results
            )
            print(f"every run billed {first['invoices']} invoices, {first['cents']} cents: {same}")
            print(f"batches counted by the workers: {[r['batches'] for r in results]}")
        except Exception:
            log.exception("chunk sizing failed; worker log follows")
            print(log_path.read_text()[-3000:] if log_path.exists() else "(no worker log)")
            raise
        finally:
            keys = list(store.scan_iter(f"{NS}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
