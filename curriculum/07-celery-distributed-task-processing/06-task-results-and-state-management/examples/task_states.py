"""The built-in task states, observed on a real worker.

1. PENDING: running, queued, sent to a queue nobody reads, or a typo all look the same
2. STARTED appears only with track_started; every state change is also published
3. RETRY: the state while a retry waits for its countdown
4. FAILURE: the exception comes back to the caller, with the worker's traceback

Every state the worker writes is also published on the key's pub/sub channel; a plain Redis
subscriber collects them, so no state change can slip between two polls.
Run it with `python task_states.py`: it starts its own worker and stops it.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from typing import Any, cast

import redis
from celery import Celery, Task, states
from celery.result import AsyncResult

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_6_states_{os.getpid()}"  # one namespace per run; the forked worker inherits it

app = Celery("task_states", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue="catalog",
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    result_expires=300,
    result_extended=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("catalog")
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


class GatewayTimeout(Exception):
    """The payment gateway did not answer in time."""


class AccountHasOpenInvoices(Exception):
    """An account cannot be closed while invoices are unpaid."""


@app.task
def rebuild_search_index(tenant: str) -> int:
    store.rpush(f"{RUN}:running", tenant)  # tell the driver the task is running
    store.blpop([f"{RUN}:go"], timeout=15)  # and hold the worker until the driver says go
    return 1200


@app.task
def sync_catalog(tenant: str) -> int:
    return 340


@app.task(track_started=True)  # or task_track_started=True for every task
def import_products(tenant: str) -> int:
    return 57


@app.task(bind=True, max_retries=3)
def charge_subscription(self: Task[Any, Any], subscription_id: int) -> str:
    if self.request.retries == 0:
        try:
            raise GatewayTimeout(f"no answer for subscription {subscription_id} after 10 s")
        except GatewayTimeout as exc:
            raise self.retry(exc=exc, countdown=0.5) from exc
    return f"subscription {subscription_id} charged"


@app.task
def close_account(account_id: int) -> None:
    raise AccountHasOpenInvoices(f"account {account_id} has 2 unpaid invoices")


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


class StateListener:
    """A plain Redis subscriber on every result channel of this run: sees each state written."""

    def __init__(self) -> None:
        self.pubsub = store.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self.pubsub.psubscribe(f"{RUN}:celery-task-meta-*")
        self.pending: dict[str, list[dict[str, Any]]] = {}

    def states_of(self, result: AsyncResult[Any]) -> list[dict[str, Any]]:
        """Every message published for this task, up to and including its ready state."""
        result.get(timeout=20, propagate=False)
        deadline = time.monotonic() + 10
        while not any(m["status"] in states.READY_STATES for m in self.pending.get(result.id, [])):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no ready state published for {result.id}")
            message = self.pubsub.get_message(timeout=1)  # None for a subscribe confirmation
            if message is not None:
                meta = json.loads(message["data"])
                self.pending.setdefault(meta["task_id"], []).append(meta)
        return self.pending.pop(result.id)

    def close(self) -> None:
        self.pubsub.close()


def describe(meta: dict[str, Any]) -> str:
    info = meta["result"]
    if meta["status"] == states.STARTED:
        info = f"keys {sorted(info)}"  # the worker's pid and hostname
    elif meta["status"] == states.RETRY:
        info = f"{info['exc_type']}: {info['exc_message'][0]}"  # the exception, as JSON
    return f"{meta['status']}(retries={meta.get('retries')}, result={info})"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    with tempfile.TemporaryDirectory() as tmp:
        worker_log = os.path.join(tmp, "worker.log")
        worker = start_worker(worker_log)
        listener = StateListener()
        try:
            print("1. four task ids that all read PENDING")
            running = rebuild_search_index.delay("acme")
            store.blpop([f"{RUN}:running"], timeout=20)  # the worker is now inside the task
            queued = sync_catalog.delay("acme")  # waits behind it: the only process is busy
            unread = sync_catalog.apply_async(("acme",), queue="catalog-v2")  # nobody consumes
            mangled = queued.id.replace("-", "")[:32]  # the id with its dashes lost somewhere
            typo: AsyncResult[Any] = AsyncResult(mangled, app=app)
            cases = (("running", running), ("queued", queued), ("no consumer", unread))
            for label, result in (*cases, ("mistyped id", typo)):
                # exists() is new in Celery 5.7.0 (celery-types 0.26 does not know it yet).
                exists = cast(Any, result).exists()
                print(f"  {label:<12} state={result.state:<8} exists()={exists}")
            store.rpush(f"{RUN}:go", "1")
            print(f"  running task finished: {running.get(timeout=20)} documents indexed")
            print(f"  queued task finished:  {queued.get(timeout=20)} products synced")
            print(f"  'no consumer' still:   {unread.state}")

            print("2. STARTED is written only with track_started")
            for name, call in (
                ("sync_catalog", sync_catalog.delay("globex")),
                ("import_products", import_products.delay("globex")),
            ):
                print(f"  {name:<15} " + " -> ".join(describe(m) for m in listener.states_of(call)))

            print("3. RETRY while the retry waits for its countdown")
            charge = charge_subscription.delay(9001)
            for meta in listener.states_of(charge):
                print(f"  {describe(meta)}")
            print(f"  final: state={charge.state}, retries={charge.retries}")

            print("4. FAILURE")
            closing = close_account.delay(77)
            try:
                closing.get(timeout=20)
            except AccountHasOpenInvoices as exc:
                print(f"  get() raised {type(exc).__name__}: {exc}")
            trace = str(closing.traceback).strip().splitlines()
            print(
                f"  failed()={closing.failed()}, traceback: {len(trace)} lines, first: {trace[0]}"
            )
            print(f"  last line: {trace[-1]}")

            print("5. the state sets Celery uses to decide")
            for name in ("READY_STATES", "UNREADY_STATES", "EXCEPTION_STATES", "PROPAGATE_STATES"):
                print(f"  {name:<16} {sorted(getattr(states, name))}")
        except Exception:
            log.exception("example failed; worker log follows")
            with open(worker_log) as handle:
                print(handle.read()[-3000:])
            raise
        finally:
            listener.close()
            stop_worker(worker)
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
