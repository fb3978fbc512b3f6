"""A singleton task guarded by a Redis lock: SET NX PX with a token, and what expiry breaks.

Run it as `python singleton_lock.py`. It forks one real Celery worker (four threads, Redis
broker) that runs `search.rebuild_index`, a task that must never run twice at once for the
same tenant. Each copy holds a gate (a Redis list it blocks on) so the driver decides exactly
when it finishes; the output is the tasks' own journal.

1. two copies at once: one takes the lock, the other skips;
2. a lock that expires while its holder still runs, released with a plain DEL and then with
   compare-and-delete; fencing tokens let the index refuse the stale holder's write;
3. a short lock renewed by a watchdog thread while the task runs.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
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
NS = f"s7_10_lock_{os.getpid()}"

app = Celery("singleton_lock", broker=REDIS_URL)
app.conf.update(
    task_default_queue=NS,
    broker_transport_options={"global_keyprefix": f"{NS}:"},
    task_ignore_result=True,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)
log = logging.getLogger("search.singleton")

# Both scripts act only if the lock still holds *our* token, atomically inside Redis.
RELEASE_IF_OURS = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
RENEW_IF_OURS = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
# The index remembers the highest fencing token it has seen and refuses anything older.
FENCED_WRITE = """
local seen = tonumber(redis.call('hget', KEYS[1], 'fence') or '0')
if tonumber(ARGV[1]) < seen then return seen end
redis.call('hset', KEYS[1], 'fence', ARGV[1], 'writer', ARGV[2])
return 0
"""
release_if_ours = store.register_script(RELEASE_IF_OURS)
renew_if_ours = store.register_script(RENEW_IF_OURS)
fenced_write = store.register_script(FENCED_WRITE)


def journal(line: str) -> None:
    store.rpush(f"{NS}:journal", line)


def watchdog(lock: str, token: str, ttl_ms: int, stop: threading.Event) -> None:
    """Extend the lock every ttl/3 while the task runs; stop the moment it is not ours."""
    while not stop.wait(ttl_ms / 3000):
        if not renew_if_ours(keys=[lock], args=[token, ttl_ms]):
            log.warning("lost %s before finishing", lock)
            return
        store.incr(f"{NS}:renewals")


@app.task(bind=True, name="search.rebuild_index")
def rebuild_index(
    self: Task[Any, Any], label: str, tenant: str, ttl_ms: int, release: str, renew: bool
) -> None:
    lock = f"{NS}:lock:rebuild_index:{tenant}"
    token = self.request.id or label  # unique per delivery of this task
    if not store.set(lock, token, nx=True, px=ttl_ms):
        journal(f"{label}: lock held by another copy, skipped")
        return
    fence = int(store.incr(f"{NS}:fence:{tenant}"))  # grows with every acquisition
    journal(f"{label}: acquired the lock, fence {fence}")
    stop = threading.Event()
    if renew:
        threading.Thread(target=watchdog, args=(lock, token, ttl_ms, stop), daemon=True).start()
    try:
        fenced_write(keys=[f"{NS}:index:{tenant}"], args=[fence, f"{label} (start)"])
        store.blpop([f"{NS}:gate:{label}"], timeout=15)  # "rebuilding" until the driver says
        newer = int(fenced_write(keys=[f"{NS}:index:{tenant}"], args=[fence, label]))
        if newer:
            journal(f"{label}: index refused the write, fence {fence} < {newer}")
        else:
            journal(f"{label}: index accepted the write, fence {fence}")
    finally:
        stop.set()
        if release == "DEL":
            deleted = store.delete(lock)
            journal(f"{label}: DEL removed {deleted} key(s), whoever held them")
        else:
            deleted = int(release_if_ours(keys=[lock], args=[token]))
            what = "its own lock" if deleted else "nothing: the lock belongs to another token"
            journal(f"{label}: compare-and-delete removed {what}")


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


class Journal:
    """Prints the tasks' journal lines as they arrive, waiting for each expected one."""

    def __init__(self) -> None:
        self.printed = 0

    def expect(self, count: int, *, quiet: bool = False) -> list[str]:
        key = f"{NS}:journal"
        wait_until(lambda: store.llen(key) >= self.printed + count, f"{count} journal lines")
        lines = [str(x) for x in store.lrange(key, self.printed, self.printed + count - 1)]
        self.printed += count
        for line in [] if quiet else lines:
            print(f"   {line}")
        return lines


def start(label: str, tenant: str, ttl_ms: int, release: str, renew: bool = False) -> None:
    rebuild_index.delay(label, tenant, ttl_ms, release, renew)


def open_gate(label: str) -> None:
    store.rpush(f"{NS}:gate:{label}", "go")


def expired_lock_demo(entries: Journal, release: str, tenant: str) -> None:
    lock = f"{NS}:lock:rebuild_index:{tenant}"
    start("A", tenant, 300, release)  # 300 ms: shorter than the rebuild
    entries.expect(1)
    wait_until(lambda: store.exists(lock) == 0, "A's lock to expire")
    print("   ... A's lock expired while A was still rebuilding")
    start("B", tenant, 10_000, release)
    entries.expect(1)
    open_gate("A")  # A finishes late: its write and its release
    entries.expect(2)
    start("C", tenant, 10_000, release)  # the next scheduled run arrives while B still works
    acquired = "acquired" in entries.expect(1)[0]
    for label in ("B", "C") if acquired else ("B",):
        open_gate(label)
        entries.expect(2)
    print(f"   copies that held the lock for {tenant}: {3 if acquired else 2}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    entries = Journal()
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "worker.log"
        try:
            with running_worker(log_path):
                print("1. Two copies of rebuild_index(acme) arrive together (TTL 10 s)")
                start("copy-1", "acme", 10_000, "compare-and-delete")
                start("copy-2", "acme", 10_000, "compare-and-delete")
                lines = entries.expect(2, quiet=True)  # either copy may win: print outcomes only
                for line in sorted(line.split(": ", 1)[1] for line in lines):
                    print(f"   one copy: {line}")
                winner = "copy-1" if any(x.startswith("copy-1: acq") for x in lines) else "copy-2"
                open_gate(winner)
                for line in entries.expect(2, quiet=True):
                    print(f"   the winner: {line.split(': ', 1)[1]}")

                print("\n2a. TTL 300 ms, but the rebuild takes longer; release with plain DEL")
                expired_lock_demo(entries, "DEL", "globex")
                print("\n2b. The same timeline; release with compare-and-delete")
                expired_lock_demo(entries, "compare-and-delete", "initech")

                print("\n3. TTL 3 s renewed every second by a watchdog thread")
                start("A", "umbrella", 3_000, "compare-and-delete", renew=True)
                entries.expect(1)
                wait_until(lambda: int(store.get(f"{NS}:renewals") or 0) >= 3, "3 renewals")
                print("   ... A has held the lock for at least 3 s (3 renewals), its whole TTL")
                start("B", "umbrella", 3_000, "compare-and-delete", renew=True)
                entries.expect(1)
                open_gate("A")
                entries.expect(2)
        except Exception:
            log.exception("lock demo failed; worker log follows")
            print(log_path.read_text()[-3000:] if log_path.exists() else "(no worker log)")
            raise
        finally:
            keys = list(store.scan_iter(f"{NS}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
