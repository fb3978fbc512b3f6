"""Soft and hard time limits on a prefork worker, a caller's timeout, and an expired task.

- render_statement: soft limit 1 s -> SoftTimeLimitExceeded inside the task, which cleans up
- export_ledger: hard limit 1 s -> the pool terminates the child process mid-`finally`
- reconcile_batch: a broad `except Exception` swallows the soft limit; the hard limit ends it
- send_login_code: expires after 0.5 s; it waits behind the others and is never run

Run it with `python time_limits.py`: it starts its own worker (prefork, 3 processes) and stops it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded, TimeoutError
from celery.result import AsyncResult
from celery.utils.log import get_task_logger

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_7_limits_{os.getpid()}"  # one namespace per run; forked workers inherit it
SCRATCH = Path(tempfile.gettempdir()) / RUN  # where statements are rendered

app = Celery("time_limits", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue="reports",
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    result_expires=300,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("reports")
task_log = get_task_logger("reports.tasks")
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


def record(line: str) -> None:
    store.rpush(f"{RUN}:events", line)


@app.task(soft_time_limit=1, time_limit=2)
def render_statement(account_id: int) -> str:
    partial = SCRATCH / f"statement-{account_id}.pdf.part"
    partial.parent.mkdir(exist_ok=True)
    try:
        with partial.open("w") as pdf:
            for page in range(1, 51):  # 50 pages at 0.1 s: needs 5 s, gets 1 s
                time.sleep(0.1)
                pdf.write(f"page {page}\n")
    except SoftTimeLimitExceeded:
        partial.unlink()  # the soft limit leaves time to clean up before giving up
        record(f"render_statement: soft limit hit, partial file removed: {not partial.exists()}")
        raise
    return str(partial)


@app.task(time_limit=1)
def export_ledger(account_id: int) -> int:
    store.set(f"{RUN}:export_pid", os.getpid())
    rows = 0
    try:
        for _ in range(100):  # 10 s of work under a 1 s hard limit
            time.sleep(0.1)
            rows += 1000
    finally:
        record("export_ledger: finally block started")
        time.sleep(0.5)  # e.g. uploading what was exported so far
        record("export_ledger: finally block finished")  # never printed: SIGKILL came first
    return rows


@app.task(soft_time_limit=1, time_limit=2)
def reconcile_batch(batch_id: int) -> int:
    done = 0
    for invoice in range(30):  # 3 s of work
        try:
            time.sleep(0.1)
            done += 1
        except Exception as exc:  # the bug: this catches SoftTimeLimitExceeded too
            if not store.exists(f"{RUN}:swallowed"):
                store.set(f"{RUN}:swallowed", 1)
                record(f"reconcile_batch: swallowed {type(exc).__name__}, carried on")
            task_log.warning("invoice %d failed: %r", invoice, exc)
    return done


@app.task
def send_login_code(phone: str) -> str:
    record("send_login_code: ran")  # never printed: expired before a process was free
    return f"code sent to {phone}"


def run_worker(log_path: str) -> None:
    """The child process: a real Celery worker, forked so it need not import Celery again."""
    os.setsid()
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = app.Worker(
        pool="prefork", concurrency=3, loglevel="INFO", quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode or 0)


def start_worker(log_path: str) -> multiprocessing.process.BaseProcess:
    sys.stdout.flush()
    process = multiprocessing.get_context("fork").Process(target=run_worker, args=(log_path,))
    process.start()
    return process


def stop_worker(worker: multiprocessing.process.BaseProcess) -> None:
    if worker.is_alive() and worker.pid is not None:
        os.kill(worker.pid, signal.SIGTERM)
        worker.join(timeout=10)
        if worker.is_alive():
            os.killpg(worker.pid, signal.SIGKILL)
            worker.join()


def pool_children(worker_pid: int) -> list[int]:
    children = Path(f"/proc/{worker_pid}/task/{worker_pid}/children").read_text().split()
    return [int(pid) for pid in children]


def outcome(result: AsyncResult[Any]) -> str:
    value = result.get(timeout=20, propagate=False)
    return f"{result.state:<8} {type(value).__name__}: {value}"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    with tempfile.TemporaryDirectory() as tmp:
        worker_log = os.path.join(tmp, "worker.log")
        worker = start_worker(worker_log)
        try:
            statement = render_statement.delay(501)
            export = export_ledger.delay(501)
            batch = reconcile_batch.delay(9)
            code = send_login_code.apply_async(("+44 7700 900123",), expires=0.5)

            print("1. the caller stops waiting; the task does not stop")
            try:
                statement.get(timeout=0.1)
            except TimeoutError as exc:
                print(f"  get(timeout=0.1) raised {type(exc).__name__}: {exc}")

            print("2. how each task ended")
            for name, result in (
                ("render_statement", statement),
                ("export_ledger", export),
                ("reconcile_batch", batch),
                ("send_login_code", code),
            ):
                print(f"  {name:<17} {outcome(result)}")

            print("3. what ran inside the worker")
            for line in sorted(str(line) for line in store.lrange(f"{RUN}:events", 0, -1)):
                print(f"  {line}")
            killed = int(store.get(f"{RUN}:export_pid") or 0)
            assert worker.pid is not None
            deadline = time.monotonic() + 5  # the pool kills, reaps and replaces asynchronously
            children = pool_children(worker.pid)
            while (killed in children or len(children) < 3) and time.monotonic() < deadline:
                time.sleep(0.05)
                children = pool_children(worker.pid)
            print(f"  the child that ran export_ledger is gone: {killed not in children}")
            print(f"  pool processes now: {len(children)} (the pool forked replacements)")
        except Exception:
            log.exception("example failed; worker log follows")
            with open(worker_log) as handle:
                print(handle.read()[-3000:])
            raise
        finally:
            stop_worker(worker)
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)
            for leftover in SCRATCH.glob("*"):
                leftover.unlink()
            if SCRATCH.exists():
                SCRATCH.rmdir()


if __name__ == "__main__":
    main()
