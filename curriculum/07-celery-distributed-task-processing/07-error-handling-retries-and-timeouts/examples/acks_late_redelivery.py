"""Kill a worker mid-task on RabbitMQ: acks_late redelivers, early acks lose the task.

Worker A (prefork, 2 processes) receives two tasks for order 1042:
- fulfil_order: acks_late=True, idempotent (the charge is keyed by the order)
- send_receipt: the default, acknowledged before it runs
The example SIGKILLs A's whole process group while both run, shows what RabbitMQ requeued,
and starts worker B, which receives the redelivered message. Then it kills only B's pool
processes, as the kernel's OOM killer would, to show what reject_on_worker_lost changes.

Needs RabbitMQ (the broker) and Redis (where the tasks record what they did).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from typing import Any

import amqp
import redis
from celery import Celery, Task
from kombu import Connection

RABBITMQ_URL = os.environ.get("PYMASTERY_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_7_acks_{os.getpid()}"  # one namespace per run; forked workers inherit it
QUEUE = f"{RUN}.orders"

app = Celery("acks_late_redelivery", broker=RABBITMQ_URL)
app.conf.update(
    task_default_queue=QUEUE,
    task_ignore_result=True,
    worker_prefetch_multiplier=1,  # each pool process reserves one message at a time
    worker_enable_remote_control=False,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("orders")
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


def record(call: str, line: str) -> None:
    store.rpush(f"{RUN}:events", f"worker {os.environ.get('S7_7_WORKER', '?')} {call}: {line}")


def wait_for(key: str, count: int = 1, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while int(store.get(key) or 0) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{key} did not reach {count}")
        time.sleep(0.05)


@app.task(bind=True, acks_late=True)
def fulfil_order(self: Task[Any, Any], order_id: int) -> None:
    call = f"fulfil_order({order_id})"
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    record(call, f"started, redelivered={redelivered}")
    # The side effect carries an idempotency key: the first delivery that gets here charges,
    # every later delivery of the same message finds the key and skips the charge.
    first = store.set(f"{RUN}:charge:{order_id}", os.environ.get("S7_7_WORKER", "?"), nx=True)
    if first:
        record(call, "charged the card")
    else:
        owner = str(store.get(f"{RUN}:charge:{order_id}"))
        record(call, f"card already charged by worker {owner}: charge skipped")
    store.rpush(f"{RUN}:ledger_without_key", order_id)  # what a keyless version would do
    store.incr(f"{RUN}:started")
    time.sleep(1.0)  # printing the shipping label; worker A is killed in here
    record(call, "finished")
    store.incr(f"{RUN}:finished")


@app.task
def send_receipt(order_id: int) -> None:
    record(f"send_receipt({order_id})", "started")
    store.incr(f"{RUN}:started")
    time.sleep(1.0)
    record(f"send_receipt({order_id})", "finished")


def rebuild(task: Task[Any, Any], tenant: str) -> None:
    call = f"{task.name.rsplit('.', 1)[1]}({tenant!r})"
    redelivered = bool((task.request.delivery_info or {}).get("redelivered"))
    record(call, f"started, redelivered={redelivered}")
    if not redelivered:
        store.rpush(f"{RUN}:pool_pids", os.getpid())  # the driver kills these processes
    store.incr(f"{RUN}:rebuild_started")
    time.sleep(0.8)
    record(call, "finished")
    store.incr(f"{RUN}:rebuild_finished")


@app.task(bind=True, acks_late=True)
def rebuild_search_index(self: Task[Any, Any], tenant: str) -> None:
    rebuild(self, tenant)


@app.task(bind=True, acks_late=True, reject_on_worker_lost=True)
def rebuild_price_cache(self: Task[Any, Any], tenant: str) -> None:
    rebuild(self, tenant)


def run_worker(label: str, log_path: str) -> None:
    """The child process: a real Celery worker, forked so it need not import Celery again."""
    os.setsid()  # a process group of its own: killpg() reaches the pool processes too
    os.environ["S7_7_WORKER"] = label
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = app.Worker(
        hostname=f"{label}@{RUN}", pool="prefork", concurrency=2, loglevel="INFO", quiet=True,
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


def amqp_channel(connection: Connection) -> amqp.Channel:
    channel = connection.default_channel
    assert isinstance(channel, amqp.Channel)  # kombu's pyamqp transport channel
    return channel


def queue_state(connection: Connection) -> tuple[int, int]:
    """Ready messages and consumers, as RabbitMQ reports them to a passive declare."""
    declared = amqp_channel(connection).queue_declare(queue=QUEUE, passive=True)
    assert declared is not None
    _, ready, consumers = declared
    return ready, consumers


def print_new_events(seen: int) -> int:
    events = [str(line) for line in store.lrange(f"{RUN}:events", seen, -1)]
    # The two tasks run in parallel: group lines by worker and task, keeping each task's order.
    for line in sorted(events, key=lambda line: line.split(":")[0]):
        print(f"  {line}")
    return seen + len(events)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    workers: list[multiprocessing.process.BaseProcess] = []
    with tempfile.TemporaryDirectory() as tmp, Connection(RABBITMQ_URL) as connection:
        log_path = os.path.join(tmp, "workers.log")
        try:
            worker_a = start_worker("A", log_path)
            workers.append(worker_a)
            fulfil_order.delay(1042)
            send_receipt.delay(1042)
            wait_for(f"{RUN}:started", 2)
            time.sleep(0.3)  # let A's main process send the early ack for send_receipt
            print("1. worker A is running both tasks")
            seen = print_new_events(0)
            ready, consumers = queue_state(connection)
            print(f"  queue: ready={ready} consumers={consumers}")

            print("2. SIGKILL to worker A's process group (main process and pool processes)")
            assert worker_a.pid is not None
            os.killpg(worker_a.pid, signal.SIGKILL)
            worker_a.join()
            deadline = time.monotonic() + 5
            while queue_state(connection) != (1, 0) and time.monotonic() < deadline:
                time.sleep(0.05)
            ready, consumers = queue_state(connection)
            print(f"  queue: ready={ready} consumers={consumers}")

            print("3. worker B starts and receives what RabbitMQ requeued")
            workers.append(start_worker("B", log_path))
            wait_for(f"{RUN}:finished", 1)
            seen = print_new_events(seen)
            ready, consumers = queue_state(connection)
            print(f"  queue: ready={ready} consumers={consumers}")

            print("4. the outcome")
            charges = len(list(store.scan_iter(f"{RUN}:charge:*")))
            print(f"  charges made with an idempotency key: {charges}")
            rows = store.llen(f"{RUN}:ledger_without_key")
            print(f"  ledger rows a keyless task would add: {rows}")
            events = [str(line) for line in store.lrange(f"{RUN}:events", 0, -1)]
            receipt_sent = any("send_receipt(1042): finished" in line for line in events)
            print(f"  send_receipt(1042) finished anywhere: {receipt_sent}")

            print("5. only B's pool processes are SIGKILLed; B's main process lives on")
            rebuild_search_index.delay("acme")
            rebuild_price_cache.delay("acme")
            wait_for(f"{RUN}:rebuild_started", 2)
            for pid in store.lrange(f"{RUN}:pool_pids", 0, -1):
                os.kill(int(pid), signal.SIGKILL)
            wait_for(f"{RUN}:rebuild_finished", 1)
            time.sleep(0.5)  # time enough for a second, unwanted, redelivery to show up
            print_new_events(seen)
        except Exception:
            log.exception("example failed; worker log follows")
            with open(log_path) as handle:
                print(handle.read()[-3000:])
            raise
        finally:
            for worker in workers:
                stop_worker(worker)
            channel = amqp_channel(connection)
            channel.queue_delete(QUEUE)
            channel.exchange_delete(QUEUE)
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
