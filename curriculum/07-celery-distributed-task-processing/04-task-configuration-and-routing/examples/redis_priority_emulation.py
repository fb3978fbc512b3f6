"""How kombu's Redis transport emulates priorities: one Redis list per priority step.

Redis has no priority queue, so kombu rounds each priority down to a step (0, 3, 6, 9 by
default), pushes the message onto the list for that step, and the worker's BRPOP names the
step lists in order 0, 3, 6, 9. On Redis, 0 is served first: the opposite of RabbitMQ.
"""

import logging
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from celery.signals import worker_ready
from kombu import Connection

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NS = f"s7_4_prio_redis_{os.getpid()}"
PREFIX = f"{NS}:"  # kombu puts it in front of every key the broker uses
QUEUE = "invoices"
ORDER_KEY = f"{NS}:order"
log = logging.getLogger("billing.priorities")

app = Celery("billing", broker=REDIS_URL)
app.conf.update(
    task_default_queue=QUEUE,
    broker_transport_options={"global_keyprefix": PREFIX},
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    worker_enable_remote_control=False,
)


@app.task(name="billing.invoices.issue")
def issue_invoice(label: str) -> None:
    redis.Redis.from_url(REDIS_URL).rpush(ORDER_KEY, label)


# --- worker harness: what `celery -A redis_priority_emulation worker -c 1` starts ---------------


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
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{NS}:*"))
    if keys:
        client.delete(*keys)


def show_step_mapping() -> None:
    print("1. kombu's mapping from priority to Redis key (Channel.priority, Channel._q_for_pri)")
    for options in ({}, {"priority_steps": list(range(10)), "sep": ":"}):
        with Connection(REDIS_URL, transport_options=options) as connection:
            channel: Any = connection.default_channel
            steps = [channel.priority(n) for n in range(10)]
            print(f"   transport options {options or '(defaults)'}")
            print(f"     priority 0..9 -> step {steps}")
            print(f"     priority 5 goes to key {channel._q_for_pri(QUEUE, 5)!r}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    show_step_mapping()

    batch: list[tuple[str, int | None]] = [
        ("INV-1 monthly run", None),
        ("INV-2 monthly run", 0),
        ("INV-3 reminder", 3),
        ("INV-4 reissue", 5),
        ("INV-5 customer waiting", 9),
        ("INV-6 monthly run", 1),
        ("INV-7 customer waiting", 9),
    ]
    for label, priority in batch:
        # INV-1 is sent the way most code sends tasks: with no priority option at all.
        options: dict[str, Any] = {} if priority is None else {"priority": priority}
        issue_invoice.apply_async((f"{label} (priority {priority})",), **options)

    print("\n2. The lists in Redis after publishing 7 invoices (no worker yet)")
    client = redis.Redis.from_url(REDIS_URL)
    for key in sorted(client.scan_iter(match=f"{PREFIX}{QUEUE}*")):
        print(f"   {key.decode().removeprefix(PREFIX)!r:<20} LLEN={client.llen(key)}")

    print("\n3. Order in which one worker (concurrency 1, prefetch 1) ran them")
    with tempfile.TemporaryDirectory() as tmp, running_worker(Path(tmp) / "worker.log"):
        for turn in range(1, len(batch) + 1):
            popped = client.blpop([ORDER_KEY], timeout=20)
            if popped is None:
                raise TimeoutError("the worker did not run the invoices in time")
            entry = popped[1]
            print(f"   {turn}. {entry.decode() if isinstance(entry, bytes) else entry}")


if __name__ == "__main__":
    try:
        main()
    finally:
        clean_up()
