"""Queue operations on RabbitMQ with kombu: depth, parking messages in another queue, purging.

The scenario: statements for tenant "acme" crash the renderer, so an operator parks them in
a queue no worker reads while the other tenants' statements keep flowing, purges a queue of
stale digest tasks, and after the fix moves the parked messages back. A real worker then runs
every statement, which proves a moved message is still an ordinary Celery task.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import amqp
import redis
from celery import Celery
from celery.contrib.migrate import republish
from celery.signals import worker_ready
from kombu import Connection, Message, Queue

RABBITMQ_URL = os.environ.get("PYMASTERY_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_12_queues_{os.getpid()}"
STATEMENTS, PARKED, DIGESTS = f"{RUN}.statements", f"{RUN}.statements.parked", f"{RUN}.digests"

app = Celery("billing", broker=RABBITMQ_URL, backend=REDIS_URL)
app.conf.update(
    task_queues=[Queue(STATEMENTS), Queue(DIGESTS)],
    task_routes={"billing.render_statement": {"queue": STATEMENTS}},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    broker_transport_options={"confirm_publish": True},
    worker_enable_remote_control=False,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("billing.queues")


@app.task(name="billing.render_statement")
def render_statement(tenant: str, month: str) -> str:
    return f"{tenant}/{month}.pdf"


@app.task(name="billing.send_digest")
def send_digest(tenant: str) -> None:
    """Never runs in this example: its queue is purged."""


def depth(channel: amqp.Channel, queue: str) -> int:
    """Ready messages in a queue, from a passive declare (no management plugin needed)."""
    declared = channel.queue_declare(queue=queue, passive=True)
    assert declared is not None
    return int(declared[1])


def show_depths(channel: amqp.Channel) -> None:
    names = (STATEMENTS, PARKED, DIGESTS)
    counts = {name.removeprefix(RUN + "."): depth(channel, name) for name in names}
    print(f"   ready messages: {counts}")


def move(
    connection: Connection, source: str, target: str, wanted: Callable[[Message], bool]
) -> list[str]:
    """Move the messages `wanted` selects from source to target; leave the rest in place.

    Each message is held unacknowledged, copied to the target (publisher confirms on, so the
    broker has stored the copy), and only then acknowledged. A crash in between leaves a
    duplicate, never a loss. Messages not wanted are requeued once all have been read, so
    the loop never meets them twice.
    """
    moved: list[str] = []
    keep: list[Message] = []
    queue = Queue(source).bind(connection.default_channel)
    with connection.Producer() as producer:
        while (message := queue.get(no_ack=False, accept=["json"])) is not None:
            if wanted(message):
                # the default exchange routes by queue name; celery-types types exchange wrongly
                republish(producer, message, exchange="", routing_key=target)  # type: ignore[arg-type]
                message.ack()
                moved.append(str(message.headers["id"]))
            else:
                keep.append(message)
    for message in keep:
        message.requeue()
    channel = connection.default_channel
    assert isinstance(channel, amqp.Channel)
    deadline = time.monotonic() + 10  # basic.reject has no reply: wait until RabbitMQ counts them
    while depth(channel, source) < len(keep) and time.monotonic() < deadline:
        time.sleep(0.05)
    return moved


def is_acme(message: Message) -> bool:
    args, _kwargs, _embed = message.decode()  # Celery's body: [args, kwargs, canvas links]
    return bool(args[0] == "acme")


def keep_loop_awake(sender: Any, **_: Any) -> None:
    """The workaround section 7.4 uses: an idle worker in this harness can notice SIGTERM
    seconds late; a no-op timer every 0.25 s makes its event loop check the flag promptly."""
    sender.timer.call_repeatedly(0.25, lambda: None)


def run_worker() -> None:
    os.setsid()
    worker_ready.connect(keep_loop_awake, weak=False)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    worker = app.Worker(
        hostname=f"statements@{RUN}", queues=[STATEMENTS], pool="solo", quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode or 0)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    store = redis.Redis.from_url(REDIS_URL)
    with Connection(RABBITMQ_URL, transport_options={"confirm_publish": True}) as connection:
        channel = connection.default_channel
        assert isinstance(channel, amqp.Channel)
        try:
            Queue(PARKED).bind(channel).declare()
            print("1. the backlog")
            results = [
                render_statement.apply_async((tenant, "2026-10"), task_id=f"stmt-{n}-{tenant}")
                for n, tenant in enumerate(["acme", "globex", "acme", "initech", "acme", "globex"])
            ]
            for tenant in ("acme", "globex", "initech", "umbrella", "hooli"):
                send_digest.apply_async((tenant,), queue=DIGESTS)
            show_depths(channel)

            print("2. park acme's statements in a queue that no worker consumes")
            moved = move(connection, STATEMENTS, PARKED, is_acme)
            print(f"   moved: {moved}")
            show_depths(channel)

            print("3. purge the stale digests")
            purged = Queue(DIGESTS).bind(channel).purge()
            print(f"   purged {purged} messages")
            show_depths(channel)

            print("4. the fix is deployed: move everything back, and a worker drains the queue")
            moved = move(connection, PARKED, STATEMENTS, lambda message: True)
            print(f"   moved back: {moved}")
            sys.stdout.flush()
            worker = multiprocessing.get_context("fork").Process(target=run_worker)
            worker.start()
            try:
                rendered = [result.get(timeout=20) for result in results]
            finally:
                assert worker.pid is not None
                os.kill(worker.pid, signal.SIGTERM)
                worker.join(20)
                if worker.is_alive():
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.join()
            print(f"   rendered, by the original task ids: {rendered}")
            show_depths(channel)
        finally:
            for name in (STATEMENTS, PARKED, DIGESTS):
                channel.queue_delete(name)
                channel.exchange_delete(name)
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
