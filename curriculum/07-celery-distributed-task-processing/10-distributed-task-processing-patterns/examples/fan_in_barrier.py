"""A fan-in barrier without a chord: an atomic counter, and why it must count ids, not calls.

Run it as `python fan_in_barrier.py`. It forks one real Celery worker (four threads, Redis
broker, no result backend at all). A scanned contract arrives as 8 pages; each page is OCR'd
by its own `docs.ocr_page` task, and `docs.assemble` must run once, after the last page.
Page 3 is delivered twice, as an acks_late task is after a worker crash, and page 8 is slow:
the driver sends it only after the other messages have been handled.

1. DECR on a "pages remaining" counter: the duplicate counts twice, so assembly runs early;
2. a Lua script that adds the page number to a set and fires when the set is full, guarded by
   SET NX so that it fires once, however many duplicates arrive.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from celery.signals import worker_ready

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NS = f"s7_10_barrier_{os.getpid()}"
PAGES = 8

app = Celery("fan_in_barrier", broker=REDIS_URL)
app.conf.update(
    task_default_queue=NS,
    broker_transport_options={"global_keyprefix": f"{NS}:"},
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)
log = logging.getLogger("docs.barrier")

# KEYS: done set, fired flag. ARGV: page, expected pages, key ttl (s). 1 = "you are the last".
ARRIVE = """
redis.call('sadd', KEYS[1], ARGV[1])
redis.call('expire', KEYS[1], ARGV[3])
if redis.call('scard', KEYS[1]) < tonumber(ARGV[2]) then return 0 end
if redis.call('set', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then return 1 end
return 0
"""
arrive = store.register_script(ARRIVE)


@app.task(name="docs.ocr_page")
def ocr_page(doc: str, page: int, barrier: str) -> None:
    store.hset(f"{NS}:{doc}:text", str(page), f"text of page {page}")  # idempotent: overwrite
    if barrier == "counter":
        last = store.decr(f"{NS}:{doc}:remaining") == 0
    else:
        keys = [f"{NS}:{doc}:done", f"{NS}:{doc}:fired"]
        last = bool(arrive(keys=keys, args=[page, PAGES, 3600]))
    if last:
        assemble.delay(doc)
    store.incr(f"{NS}:{doc}:handled")


@app.task(name="docs.assemble")
def assemble(doc: str) -> None:
    pages = sorted(int(page) for page in store.hkeys(f"{NS}:{doc}:text"))
    missing = sorted(set(range(1, PAGES + 1)) - set(pages))
    store.rpush(f"{NS}:{doc}:assembled", f"pages {pages[0]}-{pages[-1]}, missing {missing}")


@worker_ready.connect
def announce_ready(**_: Any) -> None:
    store.set(f"{NS}:ready", 1)


def run_worker(log_path: str) -> None:
    os.setsid()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    worker = app.Worker(
        pool="threads", concurrency=4, loglevel="INFO", quiet=True,
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
            os.kill(process.pid, signal.SIGTERM)
            process.join(15)
            if process.is_alive():
                os.killpg(process.pid, signal.SIGKILL)
                process.join()


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.01)


def handled(doc: str) -> int:
    return int(store.get(f"{NS}:{doc}:handled") or 0)


def assembled(doc: str) -> list[str]:
    return [str(line) for line in store.lrange(f"{NS}:{doc}:assembled", 0, -1)]


def deliver(doc: str, pages: list[int], barrier: str, expect_assembly: bool) -> None:
    before, runs = handled(doc), len(assembled(doc))
    for page in pages:
        ocr_page.delay(doc, page, barrier)
    wait_until(lambda: handled(doc) == before + len(pages), f"{doc} pages {pages}")
    if expect_assembly:
        wait_until(lambda: len(assembled(doc)) > runs, f"{doc} assembly")
    runs_now = assembled(doc)
    print(f"   sent pages {pages}: assemble has run {len(runs_now)} time(s)")
    for line in runs_now[runs:]:
        print(f"      assembled {line}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    early = [1, 2, 3, 3, 4, 5, 6, 7]  # page 3 twice; page 8 still being scanned
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "worker.log"
        try:
            with running_worker(log_path):
                print("1. Counter barrier: SET remaining 8, every page does DECR")
                store.set(f"{NS}:contract-17:remaining", PAGES)
                deliver("contract-17", early, "counter", expect_assembly=True)
                deliver("contract-17", [8], "counter", expect_assembly=False)
                print(f"   remaining is now {store.get(f'{NS}:contract-17:remaining')!s}")

                print("\n2. Set barrier: SADD page, SCARD == 8 and SET NX fires it")
                deliver("contract-18", early, "set", expect_assembly=False)
                deliver("contract-18", [8], "set", expect_assembly=True)
                deliver("contract-18", [8], "set", expect_assembly=False)  # a late duplicate
                print(f"   pages in the done set: {store.scard(f'{NS}:contract-18:done')}")
        except Exception:
            log.exception("barrier demo failed; worker log follows")
            print(log_path.read_text()[-3000:] if log_path.exists() else "(no worker log)")
            raise
        finally:
            keys = list(store.scan_iter(f"{NS}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
