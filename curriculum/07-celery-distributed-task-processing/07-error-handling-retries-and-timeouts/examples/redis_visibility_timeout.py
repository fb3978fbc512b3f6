"""acks_late on the Redis broker: redelivery waits for the visibility timeout.

Redis has no acknowledgements, so kombu emulates them: a delivered message is parked in an
`unacked` hash until the worker acks it, and any worker puts it back on the queue once it
has been parked longer than visibility_timeout. This example sets the timeout to 1 second
(the default is 3600) so that you can watch it:

1. worker A is SIGKILLed mid-task; worker B gets the message only after the timeout
2. a countdown longer than the timeout runs a task twice, with no crash and no acks_late

Run it with `python redis_visibility_timeout.py`: it starts its workers and stops them.
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
from typing import Any

import redis
from celery import Celery, Task

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_7_visibility_{os.getpid()}"  # one namespace per run; forked workers inherit it
VISIBILITY_TIMEOUT = 1.0

app = Celery("redis_visibility_timeout", broker=REDIS_URL)
app.conf.update(
    task_default_queue="invoices",
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    worker_enable_remote_control=False,
    broker_connection_retry_on_startup=True,
    broker_transport_options={
        "global_keyprefix": f"{RUN}:",  # queue, unacked hash and index live under our prefix
        "visibility_timeout": VISIBILITY_TIMEOUT,  # seconds; the default is 3600
        "unacked_restore_interval": 0.25,  # how often a worker looks for expired messages
        "unacked_restore_throttle": 1,
    },
)
log = logging.getLogger("invoices")
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


def record(**event: Any) -> None:
    event.update(worker=os.environ.get("S7_7_WORKER", "?"), at=time.time())
    store.rpush(f"{RUN}:events", json.dumps(event))


def events(task: str) -> list[dict[str, Any]]:
    raw = store.lrange(f"{RUN}:events", 0, -1)
    return [e for e in map(json.loads, raw) if e["task"] == task]


@app.task(bind=True, acks_late=True)
def generate_invoice(self: Task[Any, Any], invoice_id: int) -> None:
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    record(task="generate_invoice", redelivered=redelivered)
    time.sleep(0.5)  # rendering; worker A is killed in here


@app.task  # no acks_late: a message with an ETA stays unacknowledged until it runs anyway
def send_payment_reminder(invoice_id: int) -> None:
    record(task="send_payment_reminder")


def run_worker(label: str, log_path: str) -> None:
    """The child process: a real Celery worker, forked so it need not import Celery again."""
    os.setsid()
    os.environ["S7_7_WORKER"] = label
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = app.Worker(
        hostname=f"{label}@{RUN}", pool="solo", loglevel="INFO", quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode or 0)


def start_worker(label: str, log_path: str) -> multiprocessing.process.BaseProcess:
    sys.stdout.flush()
    context = multiprocessing.get_context("fork")
    process = context.Process(target=run_worker, args=(label, log_path))
    process.start()
    return process


def stop_worker(worker: multiprocessing.process.BaseProcess) -> None:
    if worker.is_alive() and worker.pid is not None:
        os.kill(worker.pid, signal.SIGTERM)
        worker.join(timeout=10)
        if worker.is_alive():
            os.killpg(worker.pid, signal.SIGKILL)
            worker.join()


def wait_until(check: Any, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the worker did not get there in time")
        time.sleep(0.02)


def parked_at() -> float:
    """When the transport parked the message: its score in the 'unacked_index' sorted set."""
    tags = store.zrange(f"{RUN}:unacked_index", 0, 0)
    score = store.zscore(f"{RUN}:unacked_index", str(tags[0]))
    assert score is not None
    return score


def broker_keys() -> str:
    queued = store.llen(f"{RUN}:invoices")
    parked = store.hlen(f"{RUN}:unacked")
    return f"queue 'invoices' holds {queued}, hash 'unacked' holds {parked}"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    workers: list[multiprocessing.process.BaseProcess] = []
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "workers.log")
        try:
            print(f"1. worker A killed mid-task (visibility_timeout={VISIBILITY_TIMEOUT} s)")
            worker_a = start_worker("A", log_path)
            workers.append(worker_a)
            generate_invoice.delay(3001)
            wait_until(lambda: events("generate_invoice"))
            assert worker_a.pid is not None
            os.killpg(worker_a.pid, signal.SIGKILL)
            worker_a.join()
            print(f"  after SIGKILL: {broker_keys()}")
            delivered = parked_at()
            workers.append(start_worker("B", log_path))
            wait_until(lambda: len(events("generate_invoice")) == 2)
            first, second = events("generate_invoice")
            waited = second["at"] - delivered
            for run in (first, second):
                print(f"  worker {run['worker']} ran it, redelivered={run['redelivered']}")
            print(f"  B started it {waited:.2f} s after the first delivery")
            print(f"  not before the visibility timeout: {waited >= VISIBILITY_TIMEOUT}")

            print("2. countdown=2 s with a 1 s visibility timeout, early acks, no crash")
            send_payment_reminder.apply_async((3001,), countdown=2)
            time.sleep(3.0)  # the countdown, and time for a duplicate to show up
            runs = events("send_payment_reminder")
            print(f"  send_payment_reminder ran more than once: {len(runs) > 1}")
            print(f"  by workers: {sorted({run['worker'] for run in runs})}")
        except Exception:
            log.exception("example failed; worker log follows")
            with open(log_path) as handle:
                print(handle.read()[-3000:])
            raise
        finally:
            for worker in workers:
                stop_worker(worker)
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
