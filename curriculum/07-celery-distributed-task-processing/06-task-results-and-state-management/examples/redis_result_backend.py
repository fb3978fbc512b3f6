"""What the Redis result backend stores, for how long, and how a caller reads it back.

1. a successful task: the `celery-task-meta-<id>` key, its JSON, and its TTL (result_expires)
2. a failed task: the exception as JSON, the traceback, and a longer TTL (result_failure_expires)
3. reading results by id from a fresh AsyncResult, as another process would
4. forget(): the key is deleted, and the state falls back to PENDING

Run it with `python redis_result_backend.py`: it starts its own worker and stops it.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
from typing import Any, cast

import redis
from celery import Celery
from celery.result import AsyncResult

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_6_redis_{os.getpid()}"  # one namespace per run; the forked worker inherits it

app = Celery("redis_result_backend", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue="invoices",
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},  # result keys too
    result_expires=600,  # seconds; the default is one day
    result_failure_expires=7 * 24 * 3600,  # Celery 5.7, Redis backend: keep failures a week
    result_extended=True,  # also store name, args, kwargs, worker, retries, queue
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("invoices")
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


class InvoiceLocked(Exception):
    """The invoice was already sent to the customer and can no longer be re-rendered."""


@app.task
def render_invoice(invoice_id: int, *, currency: str) -> dict[str, Any]:
    # Return a small, JSON-friendly summary: the PDF itself belongs in object storage.
    return {"invoice_id": invoice_id, "pdf": f"s3://invoices/{invoice_id}.pdf", "total": 129.5}


@app.task
def rerender_invoice(invoice_id: int) -> None:
    raise InvoiceLocked(f"invoice {invoice_id} was sent on 2025-03-01")


def run_worker(log_path: str) -> None:
    """The child process: a real Celery worker, forked so it need not import Celery again."""
    os.setsid()
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = app.Worker(
        pool="solo", loglevel="INFO", quiet=True, hostname=f"invoices@{RUN}",
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


def masked(text: str, *task_ids: str) -> str:
    """Replace what changes on every run (ids, the run's namespace) with stable placeholders."""
    for task_id in task_ids:
        text = text.replace(task_id, "<id>")
    return text.replace(RUN, "<run>")


def show_key(task_id: str) -> dict[str, Any]:
    """Print the raw key the worker wrote, as any Redis client sees it."""
    key = f"{RUN}:celery-task-meta-{task_id}"
    raw = store.get(key)
    assert raw is not None, f"no result key {key}"
    meta: dict[str, Any] = json.loads(raw)
    print(f"  key   {masked(key, task_id)}  (a Redis {store.type(key)!s})")
    shown = {**meta, "date_done": "<utc timestamp>" if meta["date_done"] else None}
    if isinstance(meta.get("traceback"), str):
        lines = meta["traceback"].strip().splitlines()
        shown["traceback"] = f"<{len(lines)} lines, ending: {lines[-1]}>"
    for name, value in shown.items():
        print(f"    {name:<10} {masked(json.dumps(value), task_id)}")
    ttl = store.ttl(key)
    print(f"  TTL   about {round(ttl, -1)} s")
    return meta


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    with tempfile.TemporaryDirectory() as tmp:
        worker_log = os.path.join(tmp, "worker.log")
        worker = start_worker(worker_log)
        try:
            print("1. a successful task")
            ok = render_invoice.delay(1042, currency="EUR")
            print(f"  get() -> {ok.get(timeout=20)}")
            show_key(ok.id)

            print("2. a failed task")
            failed = rerender_invoice.delay(1042)
            outcome = failed.get(timeout=20, propagate=False)
            print(f"  get(propagate=False) -> {outcome!r}")
            show_key(failed.id)

            print("3. reading by id, as a status endpoint in another process would")
            for task_id in (ok.id, failed.id):
                fresh: AsyncResult[Any] = AsyncResult(task_id, app=app)
                print(
                    f"  {fresh.name}: state={fresh.state} ready={fresh.ready()} "
                    f"successful={fresh.successful()} failed={fresh.failed()}"
                )
                print(
                    f"    args={fresh.args} kwargs={fresh.kwargs} queue={fresh.queue} "
                    f"retries={fresh.retries} worker={masked(str(fresh.worker))}"
                )
                done = fresh.date_done
                print(f"    date_done is a {type(done).__name__}, tzinfo={done and done.tzinfo}")
                print(f"    info={fresh.info!r}")
            last = "1" if ok.id.endswith("0") else "0"
            typo: AsyncResult[Any] = AsyncResult(ok.id[:-1] + last, app=app)  # one character off
            print(f"  a mistyped id: state={typo.state} result={typo.result}")
            # AsyncResult.exists() is new in Celery 5.7.0 (celery-types 0.26 does not know it yet).
            print(
                f"  exists(): real id {cast(Any, ok).exists()}, "
                f"mistyped id {cast(Any, typo).exists()}"
            )

            print("4. forget() deletes the stored result")
            ok.forget()
            gone: AsyncResult[Any] = AsyncResult(ok.id, app=app)
            key_left = store.exists(f"{RUN}:celery-task-meta-{ok.id}")
            print(f"  key exists: {bool(key_left)}; state now {gone.state}")
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
