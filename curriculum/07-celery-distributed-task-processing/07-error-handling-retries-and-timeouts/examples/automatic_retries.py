"""Automatic and manual retries on a real worker, with time compressed to seconds.

Three tasks of a billing service, each failing in its own way:
- deliver_webhook: autoretry_for + retry_backoff + retry_jitter (seeded so the run is repeatable)
- sync_invoice: self.retry(countdown=...) honouring the partner's Retry-After
- refresh_exchange_rates: fails every time, so max_retries runs out and the task FAILS

Run it with `python automatic_retries.py`: it starts its own worker and stops it at the end.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import time
from typing import Any

import redis
from celery import Celery, Task
from celery.exceptions import Retry
from celery.result import AsyncResult
from celery.signals import task_retry, worker_init
from celery.utils.time import get_exponential_backoff_interval

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_7_retries_{os.getpid()}"  # one namespace per run; forked workers inherit it
JITTER_SEED = 7

app = Celery("automatic_retries", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue="billing",
    broker_transport_options={"global_keyprefix": f"{RUN}:"},  # every broker key in our namespace
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    result_expires=300,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("billing")
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


def record(task: str, **event: Any) -> None:
    """The worker's side channel: every attempt is recorded here for the driver to print."""
    store.rpush(f"{RUN}:events", json.dumps({"task": task, "at": time.time(), **event}))


class WebhookUnavailable(Exception):
    """The partner's endpoint answered 503."""


class RateLimited(Exception):
    """The partner answered 429 with a Retry-After header (seconds)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"429 Too Many Requests, Retry-After: {retry_after}")
        self.retry_after = retry_after


class RatesFeedDown(Exception):
    """The exchange-rate feed is down for longer than our retries last."""


@worker_init.connect
def seed_jitter(**_: Any) -> None:
    # Only so that this page prints the same delays on every run. In production, never seed:
    # jitter exists so that a thousand workers do not retry at the same instant.
    random.seed(JITTER_SEED)


@task_retry.connect
def record_retry(sender: Task[Any, Any], reason: Retry, **_: Any) -> None:
    record(sender.name.rsplit(".", 1)[1], kind="retry", countdown=reason.when)


@app.task(
    bind=True,
    autoretry_for=(WebhookUnavailable,),
    retry_backoff=True,  # 1 s, 2 s, 4 s ... (factor 1), capped by retry_backoff_max
    retry_backoff_max=8,
    retry_jitter=True,  # the default: a random delay between 0 and the backoff
    max_retries=4,
)
def deliver_webhook(self: Task[Any, Any], order_id: int) -> str:
    attempt = self.request.retries
    record("deliver_webhook", kind="attempt", attempt=attempt)
    if attempt < 2:  # the partner is down for the first two attempts
        raise WebhookUnavailable(f"503 from partner for order {order_id}")
    return f"order {order_id} delivered"


@app.task(bind=True, max_retries=5)
def sync_invoice(self: Task[Any, Any], invoice_id: int) -> str:
    attempt = self.request.retries
    record("sync_invoice", kind="attempt", attempt=attempt)
    try:
        if attempt == 0:
            raise RateLimited(retry_after=0.5)  # "Retry-After: 30" in real life
    except RateLimited as exc:
        raise self.retry(exc=exc, countdown=exc.retry_after) from exc
    return f"invoice {invoice_id} synced"


@app.task(bind=True, max_retries=2)
def refresh_exchange_rates(self: Task[Any, Any], currency: str) -> str:
    record("refresh_exchange_rates", kind="attempt", attempt=self.request.retries)
    try:
        raise RatesFeedDown(f"no {currency} rates from the feed")
    except RatesFeedDown as exc:
        # When max_retries is used up, retry() raises exc itself instead of retrying.
        raise self.retry(exc=exc, countdown=0.2) from exc


def run_worker(log_path: str) -> None:
    """The child process: a real Celery worker, forked so it need not import Celery again."""
    os.setsid()  # its own process group, so that one killpg() reaches everything it forks
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log_fd, 1)  # the worker's banner and logs go to its log file, not to our stdout
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
        os.kill(worker.pid, signal.SIGTERM)  # warm shutdown: finish the current task, then exit
        worker.join(timeout=10)
        if worker.is_alive():
            os.killpg(worker.pid, signal.SIGKILL)
            worker.join()


def show(call: str, result: AsyncResult[Any], events: list[dict[str, Any]]) -> None:
    outcome = result.get(timeout=20, propagate=False)
    print(f"{call}: {result.state} {outcome!r}")
    mine = [e for e in events if e["task"] == call.split("(")[0]]
    first = mine[0]["at"]
    for event in mine:
        if event["kind"] == "attempt":
            print(f"  attempt {event['attempt']}  t=+{event['at'] - first:.2f} s", end="")
        else:
            print(f"  failed, next attempt in {event['countdown']} s")
    print(f"  {'succeeded' if result.successful() else 'failed, no retries left'}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    with tempfile.TemporaryDirectory() as tmp:
        worker_log = os.path.join(tmp, "worker.log")
        worker = start_worker(worker_log)
        try:
            webhook = deliver_webhook.delay(1042)
            invoice = sync_invoice.delay(77)
            rates = refresh_exchange_rates.delay("EUR")
            for result in (webhook, invoice, rates):
                result.get(timeout=20, propagate=False)
            events = [json.loads(raw) for raw in store.lrange(f"{RUN}:events", 0, -1)]
            show("deliver_webhook(1042)", webhook, events)
            show("sync_invoice(77)", invoice, events)
            show("refresh_exchange_rates('EUR')", rates, events)
            random.seed(JITTER_SEED)  # the same seed, the same formula, here in the caller
            predicted = [get_exponential_backoff_interval(1, n, 8, True) for n in range(2)]
            print(f"Celery's formula with the same seed predicts {predicted} for retries 0 and 1")
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
