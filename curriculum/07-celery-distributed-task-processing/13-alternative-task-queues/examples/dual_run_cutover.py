"""Moving send_receipt from Celery to Dramatiq without a big-bang switch.

The application calls one thin interface, Dispatcher.enqueue(job, order_id), and never
imports a queue library. Behind it, a real Celery worker (the old system) and a real
Dramatiq worker (the new one) run side by side on Redis. A rollout percentage per job sends
a stable share of orders to the new system; a replay sends some orders to both; the job is
idempotent, so the duplicates cost nothing. Finally the rollout reaches 100%, the old queue
is drained, and only then is the old worker stopped.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Protocol

import dramatiq
import redis
from celery import Celery
from dramatiq.brokers.redis import RedisBroker

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_13_cutover_{os.getpid()}"
CELERY_PREFIX = f"{RUN}_celery:"
CELERY_QUEUE = "receipts"
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


def send_receipt_once(order_id: int, system: str) -> str:
    """The job body both systems share. The SET NX is the idempotency key: first one wins."""
    if not store.set(f"{RUN}:receipt:{order_id}", system, nx=True):
        store.incr(f"{RUN}:skipped:{system}")
        return "skipped"
    store.rpush(f"{RUN}:outbox", order_id)  # the email provider, for this example
    store.incr(f"{RUN}:sent:{system}")
    return "sent"


# --- the old system: Celery --------------------------------------------------------------
celery_app = Celery(f"{RUN}_celery", broker=REDIS_URL)
celery_app.conf.update(
    task_default_queue=CELERY_QUEUE,
    task_ignore_result=True,
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    worker_enable_remote_control=False,
    broker_connection_retry_on_startup=True,
    broker_transport_options={"global_keyprefix": CELERY_PREFIX},
)


@celery_app.task(name="send_receipt")
def celery_send_receipt(order_id: int) -> str:
    return send_receipt_once(order_id, "celery")


# --- the new system: Dramatiq ------------------------------------------------------------
dramatiq_broker = RedisBroker(url=REDIS_URL, namespace=f"{RUN}_dq")  # type: ignore[no-untyped-call]


@dramatiq.actor(actor_name="send_receipt", queue_name="receipts", broker=dramatiq_broker)
def dramatiq_send_receipt(order_id: int) -> None:
    send_receipt_once(order_id, "dramatiq")  # returns None: this broker stores no results


# --- the thin interface the application calls ----------------------------------------------
class TaskQueue(Protocol):
    name: str

    def enqueue(self, job: str, order_id: int) -> None: ...


class CeleryQueue:
    name = "celery"

    def enqueue(self, job: str, order_id: int) -> None:
        celery_app.send_task(job, args=[order_id])  # by name: no import of the task code


class DramatiqQueue:
    name = "dramatiq"

    def enqueue(self, job: str, order_id: int) -> None:
        dramatiq_broker.get_actor(job).send(order_id)


class Dispatcher:
    """Routes each job to the old or the new system by a stable bucket of its key."""

    def __init__(self, old: TaskQueue, new: TaskQueue) -> None:
        self.old, self.new = old, new
        self.rollout: dict[str, int] = {}  # job -> percent of keys on the new system

    def target(self, job: str, order_id: int) -> TaskQueue:
        # sha256, not hash(): Python salts str hashes per process, and every web process
        # must send the same order to the same system.
        digest = hashlib.sha256(f"{job}:{order_id}".encode()).digest()
        bucket = int.from_bytes(digest[:8], "big") % 100
        return self.new if bucket < self.rollout.get(job, 0) else self.old

    def enqueue(self, job: str, order_id: int) -> str:
        queue = self.target(job, order_id)
        queue.enqueue(job, order_id)
        return queue.name


# --- workers -------------------------------------------------------------------------------
def run_celery_worker() -> None:
    log_fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = celery_app.Worker(
        concurrency=2, pool="prefork", loglevel="WARNING", quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode or 0)


def old_queue_depth() -> tuple[int, int]:
    """Messages waiting in Celery's Redis list, and messages delivered but not yet acked."""
    return store.llen(f"{CELERY_PREFIX}{CELERY_QUEUE}"), store.hlen(f"{CELERY_PREFIX}unacked")


def wait_until(description: str, condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{description}: outbox={store.llen(f'{RUN}:outbox')}")
        time.sleep(0.05)


def counter(name: str) -> int:
    return int(store.get(f"{RUN}:{name}") or 0)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s", stream=sys.stdout)
    dispatcher = Dispatcher(old=CeleryQueue(), new=DramatiqQueue())
    sys.stdout.flush()
    celery_worker = multiprocessing.get_context("fork").Process(target=run_celery_worker)
    celery_worker.start()
    dramatiq_worker = dramatiq.Worker(dramatiq_broker, worker_threads=2, worker_timeout=100)
    dramatiq_worker.start()
    try:
        for percent, orders in ((0, range(5001, 5011)), (25, range(5011, 5051))):
            dispatcher.rollout["send_receipt"] = percent
            split = {"celery": 0, "dramatiq": 0}
            for order_id in orders:
                split[dispatcher.enqueue("send_receipt", order_id)] += 1
            print(f"rollout {percent:>3}%: {len(orders)} orders -> {split}")
        wait_until("50 receipts sent", lambda: store.llen(f"{RUN}:outbox") == 50)
        replayed = [
            n for n in range(5011, 5051) if dispatcher.target("send_receipt", n).name == "celery"
        ][:6]
        print(
            f"a botched replay sends {len(replayed)} orders Celery handled again, through Dramatiq"
        )
        for order_id in replayed:
            DramatiqQueue().enqueue("send_receipt", order_id)
        wait_until("replay handled", lambda: counter("skipped:dramatiq") == len(replayed))
        print("cutover: rollout 100%, then drain the old queue before stopping its worker")
        dispatcher.rollout["send_receipt"] = 100
        for order_id in range(5051, 5061):
            assert dispatcher.enqueue("send_receipt", order_id) == "dramatiq"
        wait_until("old queue drained", lambda: old_queue_depth() == (0, 0))
        waiting, unacked = old_queue_depth()
        print(f"  old queue: {waiting} waiting, {unacked} delivered but unacknowledged")
        wait_until("new receipts sent", lambda: store.llen(f"{RUN}:outbox") == 60)
        outbox = [int(order) for order in store.lrange(f"{RUN}:outbox", 0, -1)]
        print(f"receipts sent: {len(outbox)} for {len(set(outbox))} distinct orders")
        for system in ("celery", "dramatiq"):
            sent, skipped = counter(f"sent:{system}"), counter(f"skipped:{system}")
            print(f"  {system:<8} sent {sent}, skipped {skipped} duplicates")
    finally:
        if celery_worker.pid is not None and celery_worker.is_alive():
            os.kill(celery_worker.pid, signal.SIGTERM)  # warm shutdown: finish, then exit
        celery_worker.join(timeout=15)
        if celery_worker.is_alive():
            celery_worker.kill()
            celery_worker.join()
        dramatiq_worker.stop()
        dramatiq_broker.close()
        keys = list(store.scan_iter(f"*{RUN}*"))
        if keys:
            store.delete(*keys)


if __name__ == "__main__":
    main()
