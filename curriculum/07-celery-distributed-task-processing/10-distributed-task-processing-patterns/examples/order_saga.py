"""An order workflow on RabbitMQ: a chain of ids, a saga that compensates, and deduplication.

Run it as `python order_saga.py`. It forks one real Celery worker (RabbitMQ broker, Redis result
backend; order state and the journal live in Redis, standing in for the order database).

1. `reserve_stock | charge_payment | create_shipment | send_confirmation`: every step receives
   and returns the order id, never the order; the confirmation is `.si()`, a side effect that
   ignores the previous result. The chain's `on_error` is `compensate_order.si(order_id)`.
2. The carrier rejects order 1002 after the card was charged: the saga log says which steps
   completed, and the compensation undoes them in reverse order, each undo keyed once.
3. A checkout submitted twice: an idempotency key claimed with SET NX starts one workflow.
   The same task_id sent twice, by contrast, runs twice: Celery does not deduplicate ids.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import amqp
import redis
from celery import Celery, chain
from celery.result import AsyncResult
from celery.signals import worker_ready
from kombu import Connection

RABBITMQ_URL = os.environ.get("PYMASTERY_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NS = f"s7_10_saga_{os.getpid()}"
QUEUE = f"{NS}.orders"
UNDELIVERABLE = {1002}  # the carrier rejects this order's address

app = Celery("order_saga", broker=RABBITMQ_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=QUEUE,
    broker_transport_options={"confirm_publish": True},
    result_backend_transport_options={"global_keyprefix": f"{NS}:"},
    result_expires=600,
    worker_enable_remote_control=False,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)
log = logging.getLogger("orders.saga")


class CarrierRejected(Exception):
    """The carrier refused the shipment (a business failure: retrying will not help)."""


def saga_log(order_id: int) -> list[str]:
    return [str(entry) for entry in store.lrange(f"{NS}:saga:{order_id}", 0, -1)]


def journal(line: str) -> None:
    store.rpush(f"{NS}:journal", line)


def completed(order_id: int, step: str, reference: str) -> None:
    """Append to the order's saga log: what was done, and what undoing it needs."""
    store.rpush(f"{NS}:saga:{order_id}", f"{step}={reference}")
    journal(f"{step}({order_id}) -> {reference}")


@app.task(name="orders.reserve_stock")
def reserve_stock(order_id: int) -> int:
    completed(order_id, "reserve_stock", f"R-{order_id}")
    return order_id


@app.task(name="orders.charge_payment")
def charge_payment(order_id: int) -> int:
    completed(order_id, "charge_payment", f"P-{order_id}")
    return order_id


@app.task(name="orders.create_shipment", throws=(CarrierRejected,))
def create_shipment(order_id: int) -> int:
    if order_id in UNDELIVERABLE:
        journal(f"create_shipment({order_id}) -> CarrierRejected")
        raise CarrierRejected(f"carrier refused the address of order {order_id}")
    completed(order_id, "create_shipment", f"S-{order_id}")
    return order_id


@app.task(name="orders.send_confirmation")
def send_confirmation(order_id: int) -> None:
    journal(f"send_confirmation({order_id})")


UNDO = {"charge_payment": "refund payment", "reserve_stock": "release stock"}


def undo(step: str, reference: str) -> None:
    # In production: the payment provider's refund call with `reference` as its idempotency
    # key, the stock service's release call, and so on. Here it is only recorded.
    journal(f"  compensate: {UNDO[step]} {reference}")


@app.task(
    name="orders.compensate_order",
    autoretry_for=(redis.RedisError,),
    retry_backoff=True,
    max_retries=5,
)
def compensate_order(order_id: int) -> None:
    """Undo the completed steps, newest first. Each undo is claimed once, so a rerun is safe."""
    for entry in reversed(saga_log(order_id)):
        step, reference = entry.split("=", 1)
        claim = f"{NS}:undone:{reference}"
        if not store.set(claim, 1, nx=True, ex=86_400):
            journal(f"  compensate: {reference} was already undone, skipped")
            continue
        try:
            undo(step, reference)
        except Exception:
            store.delete(claim)  # not undone after all: let the retry claim it again
            raise
    store.hset(f"{NS}:order:{order_id}", "status", "cancelled")
    journal(f"  compensate: order {order_id} cancelled, customer told")


def place_order(order_id: int) -> AsyncResult[Any]:
    workflow = chain(
        reserve_stock.s(order_id),
        charge_payment.s(),  # .s(): receives the previous step's return value, the order id
        create_shipment.s(),
        send_confirmation.si(order_id),  # .si(): a notification that ignores what came before
    )
    return workflow.on_error(compensate_order.si(order_id)).apply_async()


def submit_checkout(order_id: int, idempotency_key: str) -> str:
    """The web handler: a retried or double-clicked submission starts one workflow only."""
    key = f"{NS}:checkout:{idempotency_key}"
    if not store.set(key, "claimed", nx=True, ex=86_400):
        return "duplicate submission, nothing sent"
    place_order(order_id)
    return "workflow started"


@worker_ready.connect
def announce_ready(**_: Any) -> None:
    store.set(f"{NS}:ready", 1)


def run_worker(log_path: str) -> None:
    os.setsid()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    worker = app.Worker(
        pool="prefork", concurrency=2, loglevel="INFO", quiet=True,
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
            os.kill(process.pid, signal.SIGTERM)  # warm shutdown: finish running tasks
            process.join(15)
            if process.is_alive():
                os.killpg(process.pid, signal.SIGKILL)
                process.join()


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.02)


class Journal:
    def __init__(self) -> None:
        self.printed = 0

    def show_until(self, last_line: str) -> None:
        """Print new journal lines, waiting until `last_line` has been written."""
        key = f"{NS}:journal"
        wait_until(lambda: last_line in store.lrange(key, self.printed, -1), repr(last_line))
        lines = [str(line) for line in store.lrange(key, self.printed, -1)]
        self.printed += len(lines)
        for line in lines:
            print(f"   {line}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    entries = Journal()
    with tempfile.TemporaryDirectory() as tmp, Connection(RABBITMQ_URL) as connection:
        log_path = Path(tmp) / "worker.log"
        try:
            with running_worker(log_path):
                print("1. Order 1001: the whole chain, one order id flowing through it")
                result = place_order(1001)
                entries.show_until("send_confirmation(1001)")
                print(f"   chain result: {result.get(timeout=10)!r}, state {result.state}")

                print("\n2. Order 1002: the carrier refuses after the card was charged")
                result = place_order(1002)
                entries.show_until("  compensate: order 1002 cancelled, customer told")
                outcome = result.get(timeout=10, propagate=False)
                print(f"   chain result: {type(outcome).__name__}, state {result.state}")
                print(f"   saga log: {saga_log(1002)}")
                compensate_order.delay(1002)  # a redelivered or manual rerun of the compensation
                entries.show_until("  compensate: order 1002 cancelled, customer told")

                print("\n3. Checkout 1003 submitted twice with the same idempotency key")
                print(f"   first: {submit_checkout(1003, 'checkout-7f3a')}")
                print(f"   second: {submit_checkout(1003, 'checkout-7f3a')}")
                entries.show_until("send_confirmation(1003)")
                print("   The same task_id sent twice is not deduplicated:")
                for _ in range(2):
                    send_confirmation.apply_async((1004,), task_id="confirm-order-1004")
                confirmations = f"{NS}:journal", 0, -1
                wait_until(
                    lambda: store.lrange(*confirmations).count("send_confirmation(1004)") == 2,
                    "two confirmations",
                )
                entries.show_until("send_confirmation(1004)")
        except Exception:
            log.exception("saga demo failed; worker log follows")
            print(log_path.read_text()[-3000:] if log_path.exists() else "(no worker log)")
            raise
        finally:
            channel = connection.default_channel
            assert isinstance(channel, amqp.Channel)  # kombu's pyamqp transport channel
            channel.queue_delete(QUEUE)
            channel.exchange_delete(QUEUE)
            keys = list(store.scan_iter(f"{NS}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
