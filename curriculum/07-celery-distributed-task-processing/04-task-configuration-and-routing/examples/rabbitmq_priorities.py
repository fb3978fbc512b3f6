"""Message priorities on RabbitMQ: a queue declared with x-max-priority, one worker, one order.

Seven invoice tasks are published while no worker runs; then a worker with one child and a
prefetch of one starts and each task records its turn in a Redis list.
"""

import logging
import multiprocessing
import os
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from amqp.exceptions import PreconditionFailed
from celery import Celery
from celery.signals import worker_ready
from kombu import Connection, Queue

RABBITMQ_URL = os.environ.get("PYMASTERY_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NS = f"s7_4_prio_rabbit_{os.getpid()}"
ORDER_KEY = f"{NS}:order"
log = logging.getLogger("billing.priorities")

invoices = Queue(f"{NS}.invoices", max_priority=10)  # declares x-max-priority=10
app = Celery("billing", broker=RABBITMQ_URL)
app.conf.update(
    task_queues=[invoices],
    task_default_queue=invoices.name,
    task_default_exchange=NS,
    task_ignore_result=True,
    broker_transport_options={"confirm_publish": True},  # publish returns once RabbitMQ has it
    worker_prefetch_multiplier=1,  # with 4, a new priority-9 task waits behind 4 reserved ones
    worker_enable_remote_control=False,
)


@app.task(name="billing.invoices.issue")
def issue_invoice(label: str) -> None:
    redis.Redis.from_url(REDIS_URL).rpush(ORDER_KEY, label)


# --- worker harness: what `celery -A rabbitmq_priorities worker -c 1` starts -------------------


def keep_loop_awake(sender: Any, **_: Any) -> None:
    """Workaround: in this harness an idle worker reacted to SIGTERM seconds late (the cause
    was not established); with a no-op timer every 0.25 s it stopped promptly in every run."""
    sender.timer.call_repeatedly(0.25, lambda: None)


def run_worker(log_path: Path) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    worker_ready.connect(keep_loop_awake, weak=False)
    worker = app.Worker(
        hostname="invoices@s7-4",
        concurrency=1,
        pool="prefork",
        loglevel="INFO",
        quiet=True,
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    )
    worker.start()
    sys.exit(worker.exitcode)


@contextmanager
def running_worker(log_path: Path) -> Iterator[None]:
    child = multiprocessing.get_context("fork").Process(
        target=run_worker, args=(log_path,), name="MainProcess"
    )
    child.start()
    try:
        yield
    finally:
        child.terminate()
        child.join(20)
        if child.is_alive():
            log.error("worker ignored SIGTERM; killing it")
            child.kill()
            child.join()


def clean_up() -> None:
    with Connection(RABBITMQ_URL) as connection:
        channel: Any = connection.default_channel  # the stubs' StdChannel lacks queue_delete
        for name in (invoices.name, f"{NS}.legacy"):
            channel.queue_delete(name)
        channel.exchange_delete(NS)
    redis.Redis.from_url(REDIS_URL).delete(ORDER_KEY)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    batch: list[tuple[str, int | None]] = [
        ("INV-1 monthly run", None),  # no priority at all
        ("INV-2 monthly run", 0),
        ("INV-3 reminder", 3),
        ("INV-4 reissue", 5),
        ("INV-5 customer waiting", 9),
        ("INV-6 monthly run", 1),
        ("INV-7 customer waiting", 9),
    ]
    print("1. Published while no worker runs (RabbitMQ: higher number = served first)")
    for label, priority in batch:
        # INV-1 is sent the way most code sends tasks: with no priority option at all.
        options: dict[str, Any] = {} if priority is None else {"priority": priority}
        issue_invoice.apply_async((f"{label} (priority {priority})",), **options)
        print(f"   {label:<24} priority={priority}")

    with Connection(RABBITMQ_URL) as connection:
        amqp_channel: Any = connection.default_channel
        declared = amqp_channel.queue_declare(invoices.name, passive=True)
    print(f"   queue holds {declared.message_count} messages")

    print("\n2. Order in which one worker (concurrency 1, prefetch 1) ran them")
    with tempfile.TemporaryDirectory() as tmp, running_worker(Path(tmp) / "worker.log"):
        client = redis.Redis.from_url(REDIS_URL)
        for turn in range(1, len(batch) + 1):
            popped = client.blpop([ORDER_KEY], timeout=20)
            if popped is None:
                raise TimeoutError("the worker did not run the invoices in time")
            entry = popped[1]
            print(f"   {turn}. {entry.decode() if isinstance(entry, bytes) else entry}")

    print("\n3. Adding x-max-priority to a queue that already exists")
    with Connection(RABBITMQ_URL) as connection:
        Queue(f"{NS}.legacy", channel=connection.default_channel).declare()  # the old definition
        try:
            Queue(f"{NS}.legacy", max_priority=10, channel=connection.channel()).declare()
        except PreconditionFailed as exc:
            reason = str(exc.reply_text).replace(NS + ".", "")
            wrapped = textwrap.wrap(f"{type(exc).__name__}: {reason}", 76)
            print("   " + "\n     ".join(wrapped))


if __name__ == "__main__":
    try:
        main()
    finally:
        clean_up()
