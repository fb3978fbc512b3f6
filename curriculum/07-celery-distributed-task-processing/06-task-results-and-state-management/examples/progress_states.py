"""Custom states: a long export reports PROGRESS, and two kinds of caller read it.

1. a status endpoint reads state and info by id while the task runs
2. a waiting caller receives every update as it is published, with get(on_message=...)
3. the trap: update_state() on a task with ignore_result=True leaves it at PROGRESS for good

Run it with `python progress_states.py`: it starts its own worker and stops it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import tempfile
from typing import Any, cast

import redis
from celery import Celery, Task, states

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_6_progress_{os.getpid()}"  # one namespace per run; the forked worker inherits it
PROGRESS = "PROGRESS"  # a custom state is any string; keep the names in one place

app = Celery("progress_states", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue="exports",
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    result_expires=300,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("exports")
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


def checkpoint(name: str) -> None:
    """Only for a repeatable page: pause the task until the driver has looked at it."""
    store.rpush(f"{RUN}:at:{name}", 1)
    store.blpop([f"{RUN}:resume:{name}"], timeout=15)


@app.task(bind=True)
def export_orders(self: Task[Any, Any], tenant: str, batches: int) -> dict[str, Any]:
    rows = 0
    for batch in range(1, batches + 1):
        rows += 250  # one batch of 250 orders written to the CSV
        # meta must survive the result serializer (JSON): plain dicts, numbers, strings.
        self.update_state(state=PROGRESS, meta={"done": batch, "total": batches, "rows": rows})
        if batch == batches // 2:
            checkpoint("halfway")
    return {"tenant": tenant, "rows": rows, "file": f"s3://exports/{tenant}/orders.csv"}


@app.task(bind=True, ignore_result=True)
def export_invoices(self: Task[Any, Any], tenant: str, batches: int) -> int:
    for batch in range(1, batches + 1):
        self.update_state(
            state=PROGRESS, meta={"done": batch, "total": batches, "rows": batch * 100}
        )
    store.rpush(f"{RUN}:invoices-done", tenant)
    return batches * 100  # the return value is not stored: ignore_result=True


def run_worker(log_path: str) -> None:
    """The child process: a real Celery worker, forked so it need not import Celery again."""
    os.setsid()
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = app.Worker(
        pool="solo", loglevel="INFO", quiet=True,
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


def status_endpoint(task_id: str) -> dict[str, Any]:
    """What GET /exports/<id> would do: one read of the record by id, no waiting."""
    meta = app.backend.get_task_meta(task_id)  # state and info from the same read
    state = meta["status"]
    body: dict[str, Any] = {"state": state, "ready": state in states.READY_STATES}
    if state == PROGRESS:
        info = meta["result"]
        body["percent"] = round(100 * info["done"] / info["total"])
        body["rows"] = info["rows"]
    return body


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    with tempfile.TemporaryDirectory() as tmp:
        worker_log = os.path.join(tmp, "worker.log")
        worker = start_worker(worker_log)
        try:
            print("1. a status endpoint reads the export halfway through")
            export = export_orders.delay("acme", 4)
            store.blpop([f"{RUN}:at:halfway"], timeout=20)
            print(f"  {status_endpoint(export.id)}")
            print(f"  exists()={cast(Any, export).exists()} (Celery 5.7.0: a record is stored)")
            custom = states.state(PROGRESS)
            print(
                f"  PROGRESS ranks above STARTED: {custom > states.STARTED}, "
                f"below SUCCESS: {custom < states.SUCCESS}"
            )

            print("2. a waiting caller gets every update, as it is published")
            updates: list[str] = []

            def on_message(meta: dict[str, Any]) -> None:
                if meta["task_id"] != export.id:
                    return  # the same connection carries every result this process waits on
                info = meta["result"]
                updates.append(
                    f"{meta['status']} {info['done']}/{info['total']}"
                    if meta["status"] == PROGRESS
                    else f"{meta['status']} {info['rows']} rows"
                )
                if meta["status"] == PROGRESS and info["done"] == 2:
                    store.rpush(f"{RUN}:resume:halfway", 1)  # let the export finish

            final = export.get(timeout=20, on_message=on_message)
            print(f"  on_message saw: {' -> '.join(updates)}")
            print(f"  get() -> {final}")
            print(f"  {status_endpoint(export.id)}")

            print("3. update_state() with ignore_result=True")
            invoices = export_invoices.delay("acme", 3)
            print(f"  get() on the returned result: {invoices.get(timeout=20)} (no waiting)")
            store.blpop([f"{RUN}:invoices-done"], timeout=20)
            print(f"  task finished, yet: {status_endpoint(invoices.id)}")
            ttl = store.ttl(f"{RUN}:celery-task-meta-{invoices.id}")
            print(f"  and the stale PROGRESS key lives on for about {round(ttl, -1)} s")
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
