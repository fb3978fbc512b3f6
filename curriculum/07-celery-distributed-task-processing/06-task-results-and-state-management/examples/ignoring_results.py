"""Ignoring results: what is (not) stored, what get() does then, and what storing costs.

The app ignores results by default (task_ignore_result=True); tasks whose callers read a
result opt back in. Redis MONITOR counts the commands that touch result keys, per task.

1. an ignored result: get() returns None at once; another process waits for nothing
2. opting in per task and per call; failures kept with store_errors_even_if_ignored
3. Redis commands on result keys per task: ignored, stored, track_started, progress updates

Run it with `python ignoring_results.py`: it starts its own worker and stops it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from typing import Any

import redis
from celery import Celery, Task
from celery.exceptions import TimeoutError as ResultTimeout
from celery.result import AsyncResult
from celery.signals import task_postrun

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_6_ignore_{os.getpid()}"  # one namespace per run; the forked worker inherits it
BATCH = 20

app = Celery("ignoring_results", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue="web-events",
    task_ignore_result=True,  # the default here; tasks whose results are read opt in
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    result_expires=300,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("web-events")
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


@task_postrun.connect
def finished(**_: Any) -> None:
    # task_postrun is sent after the worker has stored (or skipped) the result.
    store.incr(f"{RUN}:finished")


class CrmUnavailable(Exception):
    """The CRM answered 503."""


@app.task
def track_page_view(page_id: int) -> int:
    return page_id * 10  # the view count, returned and thrown away


@app.task(ignore_result=False)
def render_quote(quote_id: int) -> str:
    return f"s3://quotes/{quote_id}.pdf"


@app.task(ignore_result=False, track_started=True)
def render_contract(contract_id: int) -> str:
    return f"s3://contracts/{contract_id}.pdf"


@app.task(bind=True, ignore_result=False)
def import_leads(self: Task[Any, Any], batch_id: int) -> int:
    for done in (1, 2, 3):
        self.update_state(state="PROGRESS", meta={"done": done, "total": 3})
    return 3


@app.task(store_errors_even_if_ignored=True)
def sync_crm(account_id: int) -> None:
    raise CrmUnavailable(f"503 from CRM for account {account_id}")


def run_worker(log_path: str) -> None:
    """The child process: a real Celery worker, forked so it need not import Celery again."""
    os.setsid()
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = app.Worker(
        pool="solo", loglevel="WARNING", quiet=True,
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


def wait_finished(count: int) -> None:
    deadline = time.monotonic() + 20
    while int(store.get(f"{RUN}:finished") or 0) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {count} tasks finished in time")
        time.sleep(0.02)


def result_keys() -> int:
    return sum(1 for _ in store.scan_iter(f"{RUN}:celery-task-meta-*"))


class ResultCommandCounter:
    """Redis MONITOR in a thread, counting commands that name one of this run's result keys."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.started.wait(5)

    def _run(self) -> None:
        meta_key = re.compile(rf'"{RUN}:celery-task-meta-')
        with store.monitor() as monitor:  # type: ignore[no-untyped-call]
            self.started.set()
            for event in monitor.listen():
                command: str = event["command"]
                if command == f"ECHO {RUN}:stop":
                    return
                if meta_key.search(" ".join(f'"{part}"' for part in command.split())):
                    self.counts[command.split()[0].upper()] += 1

    def stop(self) -> Counter[str]:
        store.echo(f"{RUN}:stop")
        self.thread.join(timeout=10)
        return self.counts


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    with tempfile.TemporaryDirectory() as tmp:
        worker_log = os.path.join(tmp, "worker.log")
        worker = start_worker(worker_log)
        try:
            print("1. an ignored result")
            view = track_page_view.delay(301)
            print(f"  ignored={view.ignored}; get() -> {view.get(timeout=5)} (returned at once)")
            wait_finished(1)
            print(f"  task finished; result keys in Redis: {result_keys()}")
            elsewhere: AsyncResult[Any] = AsyncResult(view.id, app=app)  # e.g. a status page
            try:
                elsewhere.get(timeout=1)
            except ResultTimeout:
                print(f"  another process: state={elsewhere.state}, get(timeout=1) timed out")

            print("2. opting in")
            quote = render_quote.delay(5501)
            print(f"  render_quote (ignore_result=False): {quote.get(timeout=20)}")
            forced = track_page_view.apply_async((302,), ignore_result=False)
            print(
                f"  track_page_view with apply_async(ignore_result=False): {forced.get(timeout=20)}"
            )
            crm = sync_crm.delay(42)
            wait_finished(4)
            print(f"  sync_crm get() -> {crm.get(timeout=5)}, but the failure was stored:")
            stored: AsyncResult[Any] = AsyncResult(crm.id, app=app)
            print(f"    state={stored.state} result={stored.result!r}")
            print(f"  result keys in Redis now: {result_keys()}")

            print(f"3. Redis commands on result keys, per task ({BATCH} tasks each, no get())")
            sent = 4
            for name, task in (
                ("ignore_result", track_page_view),
                ("stored result", render_quote),
                ("track_started", render_contract),
                ("3 update_state calls", import_leads),
            ):
                counter = ResultCommandCounter()
                handles: list[AsyncResult[Any]] = [task.delay(n) for n in range(BATCH)]
                sent += BATCH
                wait_finished(sent)
                counts = counter.stop()
                per_task = ", ".join(f"{cmd} {n / BATCH:g}" for cmd, n in sorted(counts.items()))
                print(f"  {name:<21} {per_task or 'none'}")
                for pending in handles:
                    pending.forget()  # unsubscribe and delete, before the next round counts
            for result in (view, elsewhere, quote, forced, crm, stored):
                # A result this process subscribed to and never got must be released, or its
                # __del__ tries to unsubscribe while the interpreter shuts down.
                result.forget()
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


if __name__ == "__main__":
    main()
