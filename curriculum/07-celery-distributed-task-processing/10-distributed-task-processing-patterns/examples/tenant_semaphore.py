"""A per-tenant concurrency limit: a Redis semaphore in front of a shared worker pool.

Run it as `python tenant_semaphore.py`. It forks one real Celery worker with eight threads
(Redis broker). `reports.export` stands in for a heavy report query against one tenant's
database. The driver sends six exports for `acme` and two for `globex`, first with no limit and
then with at most two running exports per tenant. A task that finds its tenant's slots full
retries itself a moment later instead of blocking a worker thread. An export holds its slot
until the driver, standing in for the tenant's database, finishes its "query": the driver waits
until it sees the exports it expects running side by side, so the peaks printed are the same on
every run, however busy the machine is.

The semaphore is a sorted set per tenant: member = the task's id, score = when its slot expires.
Acquiring first drops expired slots (holders that crashed), so a lost worker cannot keep a slot.
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
from celery import Celery, Task
from celery.signals import worker_ready

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NS = f"s7_10_semaphore_{os.getpid()}"
QUERY_TIMEOUT_S = 20  # an export gives up if its query never finishes
SLOT_TTL_MS = 30_000  # longer than any export; bounds how long a crashed holder keeps a slot

app = Celery("tenant_semaphore", broker=REDIS_URL)
app.conf.update(
    task_default_queue=NS,
    broker_transport_options={"global_keyprefix": f"{NS}:"},
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)
log = logging.getLogger("reports.semaphore")

# KEYS[1] = the tenant's slot set; ARGV = token, limit, slot ttl in ms. Redis's own clock.
ACQUIRE = """
local now = redis.call('time')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('zremrangebyscore', KEYS[1], '-inf', now_ms)
if redis.call('zscore', KEYS[1], ARGV[1]) then return 1 end
if redis.call('zcard', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('zadd', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
  redis.call('pexpire', KEYS[1], ARGV[3])
  return 1
end
return 0
"""
# Counts exports running right now per tenant and keeps the highest value seen.
ENTER = """
local running = redis.call('hincrby', KEYS[1], ARGV[1], 1)
local peak = tonumber(redis.call('hget', KEYS[2], ARGV[1]) or '0')
if running > peak then redis.call('hset', KEYS[2], ARGV[1], running) end
return running
"""
acquire_slot = store.register_script(ACQUIRE)
enter = store.register_script(ENTER)


@app.task(bind=True, name="reports.export", max_retries=200)
def export(self: Task[Any, Any], phase: str, tenant: str, report_no: int, limit: int) -> None:
    slots = f"{NS}:slots:{tenant}"
    token = self.request.id or f"{tenant}-{report_no}"
    if limit and not acquire_slot(keys=[slots], args=[token, limit, SLOT_TTL_MS]):
        store.hincrby(f"{NS}:{phase}:retries", tenant, 1)
        store.sadd(f"{NS}:{phase}:waited:{tenant}", report_no)
        raise self.retry(countdown=0.1)  # a new message; this thread is free at once
    enter(keys=[f"{NS}:{phase}:running", f"{NS}:{phase}:peak"], args=[tenant])
    try:
        # The tenant's database is busy with our query until the driver says it is done.
        if not store.blpop([f"{NS}:{phase}:query_done:{tenant}"], timeout=QUERY_TIMEOUT_S):
            log.error("export %s/%s: the query never finished", tenant, report_no)
    finally:
        store.hincrby(f"{NS}:{phase}:running", tenant, -1)
        store.hincrby(f"{NS}:{phase}:done", tenant, 1)
        if limit:
            store.zrem(slots, token)  # hand the slot back straight away


@worker_ready.connect
def announce_ready(**_: Any) -> None:
    store.set(f"{NS}:ready", 1)


def run_worker(log_path: str) -> None:
    os.setsid()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    worker = app.Worker(
        pool="threads", concurrency=8, loglevel="INFO", quiet=True,
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


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 25) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.02)


def counts(phase: str, what: str) -> dict[str, int]:
    return {str(t): int(n) for t, n in store.hgetall(f"{NS}:{phase}:{what}").items()}


def running_now_is(phase: str, want: dict[str, int]) -> Callable[[], bool]:
    return lambda: {t: counts(phase, "running").get(t, 0) for t in want} == want


def finished_at_least(phase: str, want: int) -> Callable[[], bool]:
    return lambda: sum(counts(phase, "done").values()) >= want


def run_phase(phase: str, limit: int) -> None:
    """Send the exports, then finish their queries round by round, as the database would."""
    exports = {"acme": 6, "globex": 2}
    for report_no in range(6):
        for tenant, count in exports.items():
            if report_no < count:
                export.delay(phase, tenant, report_no, limit)
    waiting = exports["acme"] - limit if limit else 0
    rounds = 0
    while (done := counts(phase, "done")) != exports:
        # Every export that may run now is running: as many as the limit allows.
        expected = {t: min(limit or n, n - done.get(t, 0)) for t, n in exports.items()}
        wait_until(running_now_is(phase, expected), f"{phase} round {rounds + 1}: {expected}")
        if rounds == 0:  # and the others have been turned away at least once
            wait_until(
                lambda: store.scard(f"{NS}:{phase}:waited:acme") == waiting,
                f"{waiting} acme exports to be refused",
            )
        for tenant, running in expected.items():
            for _ in range(running):
                store.rpush(f"{NS}:{phase}:query_done:{tenant}", "done")
        finished = sum(done.values()) + sum(expected.values())
        wait_until(finished_at_least(phase, finished), f"{phase} round {rounds + 1}")
        rounds += 1
    peak = counts(phase, "peak")
    retries = counts(phase, "retries")
    print(f"{phase}: limit per tenant {limit or 'none'}, queries finished in {rounds} round(s)")
    for tenant, count in exports.items():
        waited = store.scard(f"{NS}:{phase}:waited:{tenant}")
        print(
            f"   {tenant:<6} {count} exports, peak running at once {peak.get(tenant, 0)}, "
            f"{waited} had to wait, retries {retries.get(tenant, 0)}"
        )


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "worker.log"
        try:
            with running_worker(log_path):
                run_phase("unlimited", 0)
                run_phase("limited", 2)
            leftover = sum(store.zcard(f"{NS}:slots:{t}") for t in ("acme", "globex"))
            print(f"slots still held after the run: {leftover}")
        except Exception:
            log.exception("semaphore demo failed; worker log follows")
            print(log_path.read_text()[-3000:] if log_path.exists() else "(no worker log)")
            raise
        finally:
            keys = list(store.scan_iter(f"{NS}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
