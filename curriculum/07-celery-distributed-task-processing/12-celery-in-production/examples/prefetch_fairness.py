"""How many short tasks get stuck behind a long one on a busy worker, for three settings.

Each trial queues one 1.5-second export and six 0.1-second receipts on RabbitMQ, starts worker A
(one prefork child), waits until A is running the export, and then starts worker B. A task
reserved by A waits for the export to finish even though B is idle. The trials differ only in
worker_prefetch_multiplier and in whether the export acknowledges early or late.
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
from celery.signals import worker_ready
from kombu import Connection

RABBITMQ_URL = os.environ.get("PYMASTERY_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_12_prefetch_{os.getpid()}"
QUEUE = f"{RUN}.billing"

app = Celery("billing", broker=RABBITMQ_URL)
app.conf.update(
    task_default_queue=QUEUE,
    task_ignore_result=True,
    broker_transport_options={"confirm_publish": True},
    worker_enable_remote_control=False,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("billing.prefetch")
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


def done(task: Task[Any, Any], trial: str) -> None:
    node = os.environ.get("S7_12_NODE", "?")
    store.rpush(f"{RUN}:{trial}", f"{node} {task.name} {time.monotonic()}")


@app.task(bind=True, name="billing.export_ledger")
def export_ledger(self: Task[Any, Any], trial: str) -> None:
    store.set(f"{RUN}:{trial}:export_started", 1)
    time.sleep(1.5)
    done(self, trial)


@app.task(bind=True, name="billing.export_ledger_late", acks_late=True)
def export_ledger_late(self: Task[Any, Any], trial: str) -> None:
    store.set(f"{RUN}:{trial}:export_started", 1)
    time.sleep(1.5)
    done(self, trial)


@app.task(bind=True, name="billing.send_receipt")
def send_receipt(self: Task[Any, Any], trial: str) -> None:
    time.sleep(0.1)
    done(self, trial)


def keep_loop_awake(sender: Any, **_: Any) -> None:
    """Section 7.4's workaround: lets an idle worker notice SIGTERM promptly."""
    sender.timer.call_repeatedly(0.25, lambda: None)


def run_worker(node: str, queue: str, multiplier: int, log_path: str) -> None:
    os.setsid()
    os.environ["S7_12_NODE"] = node
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    app.conf.worker_prefetch_multiplier = multiplier
    worker_ready.connect(keep_loop_awake, weak=False)
    worker = app.Worker(
        hostname=f"{node}@{queue}", queues=[queue], pool="prefork", concurrency=1,
        loglevel="INFO", quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode or 0)


def start(node: str, queue: str, multiplier: int, log_path: str) -> Any:
    sys.stdout.flush()
    process = multiprocessing.get_context("fork").Process(
        target=run_worker, args=(node, queue, multiplier, log_path)
    )
    process.start()
    return process


def stop(workers: list[Any]) -> None:
    for worker in workers:
        if worker.is_alive():
            os.kill(worker.pid, signal.SIGTERM)
    for worker in workers:
        worker.join(20)
        if worker.is_alive():
            os.killpg(worker.pid, signal.SIGKILL)
            worker.join()


def wait_for(check: Any, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def trial(
    name: str, queue: str, multiplier: int, export: Task[Any, Any], log_path: str,
    workers: list[Any],
) -> None:  # fmt: skip
    """Run one trial on a queue of its own; its workers are stopped by main() at the end,
    in parallel with later trials, which cannot reach them because of the separate queue."""
    sent = time.monotonic()
    # A connection of its own, opened after earlier trials forked their workers
    with app.connection_for_write() as connection, connection.Producer() as producer:
        export.apply_async((name,), producer=producer, queue=queue)
        for _ in range(6):
            send_receipt.apply_async((name,), producer=producer, queue=queue)
    workers.append(start("A", queue, multiplier, log_path))
    wait_for(lambda: store.exists(f"{RUN}:{name}:export_started"), "export never started")
    time.sleep(0.3)  # A has reserved what its prefetch allows
    workers.append(start("B", queue, multiplier, log_path))
    wait_for(lambda: store.llen(f"{RUN}:{name}") == 7, "tasks did not finish")
    for worker in workers[-2:]:
        os.kill(worker.pid, signal.SIGTERM)  # warm shutdown; main() waits for it
    rows = [str(row).split() for row in store.lrange(f"{RUN}:{name}", 0, -1)]
    export_node, export_end = next((n, float(t)) for n, task, t in rows if "export" in task)
    receipts = [(n, float(t)) for n, task, t in rows if task == "billing.send_receipt"]
    stuck = sum(1 for n, t in receipts if n == export_node and t >= export_end)
    slowest = max(t for _, t in receipts) - sent
    print(
        f"   {name:<28} receipts stuck behind the export: {stuck}   "
        f"last receipt done after {slowest:4.2f} s"
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    print("One 1.5 s export and six 0.1 s receipts; worker B starts while A runs the export")
    workers: list[Any] = []
    queues = [f"{QUEUE}.{n}" for n in range(3)]
    with tempfile.TemporaryDirectory() as tmp, Connection(RABBITMQ_URL) as connection:
        log_path = os.path.join(tmp, "workers.log")
        try:
            trial("multiplier 4, early ack", queues[0], 4, export_ledger, log_path, workers)
            trial("multiplier 1, early ack", queues[1], 1, export_ledger, log_path, workers)
            trial("multiplier 1, acks_late", queues[2], 1, export_ledger_late, log_path, workers)
        except Exception:
            log.exception("example failed; worker log follows")
            with open(log_path) as handle:
                print(handle.read()[-3000:])
            raise
        finally:
            stop(workers)
            channel = connection.default_channel
            assert isinstance(channel, amqp.Channel)
            for queue in queues:
                channel.queue_delete(queue)
                channel.exchange_delete(queue)
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
