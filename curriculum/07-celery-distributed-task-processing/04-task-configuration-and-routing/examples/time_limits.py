"""Soft and hard time limits on a real prefork worker (Redis broker and result backend).

The soft limit raises SoftTimeLimitExceeded inside the task, which can clean up and return.
The hard limit kills the child process outright; the worker logs it and forks a replacement.
"""

import logging
import multiprocessing
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import worker_ready
from celery.utils.log import get_task_logger

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NS = f"s7_4_limits_{os.getpid()}"  # every Redis key of this run starts with it
log = logging.getLogger("billing.limits")
task_log = get_task_logger("billing.tasks")

app = Celery("billing", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=f"{NS}.ledger",
    broker_transport_options={"global_keyprefix": f"{NS}:"},
    result_backend_transport_options={"global_keyprefix": f"{NS}:"},
    worker_enable_remote_control=False,
    worker_prefetch_multiplier=1,
    worker_log_format="%(levelname)s/%(processName)s: %(message)s",
    worker_task_log_format="%(levelname)s/%(processName)s: %(task_name)s: %(message)s",
)


@app.task(name="billing.ledger.export", soft_time_limit=1, time_limit=5)
def export_ledger(tenant: str, rows: int) -> dict[str, Any]:
    """Exports rows one by one; on the soft limit it saves a checkpoint and stops cleanly."""
    done = 0
    try:
        for _ in range(rows):
            time.sleep(0.05)  # one row's worth of work
            done += 1
    except SoftTimeLimitExceeded:
        task_log.warning("soft limit reached: checkpoint saved, export will resume")
        return {"status": "partial", "resumable": done > 0, "finished": done == rows}
    return {"status": "complete", "resumable": False, "finished": True}


@app.task(name="billing.statements.render", soft_time_limit=1, time_limit=2)
def render_statement(tenant: str) -> str:
    """A retry loop with a bare `except Exception` swallows the soft limit; the hard one wins."""
    while True:
        try:
            time.sleep(0.05)  # e.g. polling a slow PDF renderer
        except Exception as exc:  # BUG: SoftTimeLimitExceeded is an Exception too
            task_log.warning("renderer call failed (%s); retrying", type(exc).__name__)


@app.task(name="billing.ops.child_pid")
def child_pid() -> int:
    return os.getpid()


# --- worker harness: what `celery -A time_limits worker -c 1` starts ----------------------------


def keep_loop_awake(sender: Any, **_: Any) -> None:
    """Workaround: in this harness an idle worker reacted to SIGTERM seconds late (the cause
    was not established); with a no-op timer every 0.25 s it stopped promptly in every run."""
    sender.timer.call_repeatedly(0.25, lambda: None)


def run_worker(log_path: Path) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    worker_ready.connect(keep_loop_awake, weak=False)
    worker = app.Worker(
        hostname="ledger@s7-4",
        concurrency=1,
        pool="prefork",  # the only pool that enforces both limits
        loglevel="INFO",
        quiet=True,
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    )
    worker.start()
    sys.exit(worker.exitcode)


@contextmanager
def running_worker(log_path: Path) -> Iterator[None]:
    child = multiprocessing.get_context("fork").Process(
        target=run_worker, args=(log_path,), name="MainProcess"
    )
    child.start()
    try:
        yield
    finally:
        child.terminate()  # SIGTERM: warm shutdown
        child.join(20)
        if child.is_alive():
            log.error("worker ignored SIGTERM; killing it")
            child.kill()
            child.join()


def worker_log_lines(log_path: Path, *needles: str) -> list[str]:
    """The worker's log lines that mention any needle, with ids and pids made stable."""
    lines = []
    for line in log_path.read_text().splitlines():
        if any(needle in line for needle in needles):
            line = re.sub(r"\[[0-9a-f-]{36}\]", "[<task id>]", line)
            lines.append(re.sub(r"pid:\d+", "pid:<pid>", line))
    return lines


def clean_up() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{NS}:*"))
    if keys:
        client.delete(*keys)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "worker.log"
        with running_worker(log_path):
            first_child = child_pid.delay().get(timeout=20)

            print("1. Soft limit (1 s) caught by the task")
            outcome = export_ledger.delay("acme", rows=400).get(timeout=20)
            print(f"   result: {outcome}")

            print("\n2. Per-call override: apply_async(soft_time_limit=0.5)")
            started = time.monotonic()
            override: dict[str, Any] = {"soft_time_limit": 0.5}  # seconds; floats are fine
            outcome = export_ledger.apply_async(("globex", 400), **override).get(timeout=20)
            print(f"   result: {outcome} after {time.monotonic() - started:.1f} s")

            print("\n3. Soft limit swallowed by `except Exception`, hard limit (2 s) kills")
            started = time.monotonic()
            try:
                render_statement.delay("acme").get(timeout=20)
            except TimeLimitExceeded as exc:
                elapsed = time.monotonic() - started
                print(f"   caller sees: {type(exc).__name__}: {exc} after {elapsed:.1f} s")

            started = time.monotonic()
            second_child = child_pid.delay().get(timeout=20)
            print(
                f"   next task ran in a new child process: {second_child != first_child}, "
                f"after {time.monotonic() - started:.1f} s"
            )

        print("\n4. What the worker logged")
        needles = ("time limit", "exited with", "soft limit", "retrying")
        for line in worker_log_lines(log_path, *needles):
            print(f"   {line}")


if __name__ == "__main__":
    try:
        main()
    finally:
        clean_up()
