"""A dead-letter queue on RabbitMQ: exhausted retries end in Reject(requeue=False).

The work queue is declared with x-dead-letter-exchange, so a message the worker rejects
without requeueing is re-published by RabbitMQ to a dead-letter exchange and its queue.
The example reads the dead message back with kombu, replays it once the partner is fixed,
and shows that a queue's arguments cannot be changed by declaring it again.

Needs RabbitMQ (the broker) and Redis (where the task records its attempts).
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
from amqp.exceptions import PreconditionFailed
from celery import Celery, Task
from celery.exceptions import Reject
from kombu import Connection, Exchange, Producer, Queue
from kombu.message import Message

RABBITMQ_URL = os.environ.get("PYMASTERY_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_7_dlq_{os.getpid()}"  # one namespace per run; forked workers inherit it

DEAD_LETTERS = Exchange(f"{RUN}.dlx", type="direct")
DEAD_QUEUE = Queue(f"{RUN}.webhooks.dead", DEAD_LETTERS, routing_key="webhooks")
WORK_EXCHANGE = Exchange(f"{RUN}.webhooks", type="direct")
WORK_QUEUE = Queue(
    f"{RUN}.webhooks",
    WORK_EXCHANGE,
    routing_key="webhooks",
    queue_arguments={
        "x-dead-letter-exchange": DEAD_LETTERS.name,  # where rejected messages go
        "x-dead-letter-routing-key": "webhooks",
    },
)

app = Celery("dead_letter_queue", broker=RABBITMQ_URL)
app.conf.update(
    task_queues=[WORK_QUEUE],
    task_default_queue=WORK_QUEUE.name,
    task_default_exchange=WORK_EXCHANGE.name,
    task_default_routing_key="webhooks",
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    worker_enable_remote_control=False,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("webhooks")
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


class PartnerRejected(Exception):
    """The partner's endpoint refused the delivery."""


def record(line: str) -> None:
    store.rpush(f"{RUN}:events", line)


@app.task(bind=True, acks_late=True, max_retries=2)
def deliver_webhook(self: Task[Any, Any], event_id: str, url: str) -> None:
    attempt = self.request.retries
    if store.exists(f"{RUN}:partner_fixed"):
        record(f"  attempt {attempt}: delivered {event_id}")
        return
    try:
        raise PartnerRejected(f"{url} answered 503")
    except PartnerRejected as exc:
        if attempt < (self.max_retries or 0):
            record(f"  attempt {attempt}: {exc}, retry in 0.2 s")
            raise self.retry(exc=exc, countdown=0.2) from exc
        record(f"  attempt {attempt}: {exc}, retries used up: Reject(requeue=False)")
        # acks_late + reject without requeue: RabbitMQ dead-letters the message.
        raise Reject(str(exc), requeue=False) from exc


def run_worker(log_path: str) -> None:
    """The child process: a real Celery worker, forked so it need not import Celery again."""
    os.setsid()
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = app.Worker(
        hostname=f"webhooks@{RUN}", pool="prefork", concurrency=1, loglevel="INFO", quiet=True,
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


def wait_for_dead_letter(connection: Connection, timeout: float = 15) -> Message:
    queue = DEAD_QUEUE.bind(connection.default_channel)
    deadline = time.monotonic() + timeout
    while (message := queue.get(no_ack=False)) is None:
        if time.monotonic() > deadline:
            raise TimeoutError("nothing was dead-lettered")
        time.sleep(0.05)
    return message


def amqp_channel(connection: Connection) -> amqp.Channel:
    channel = connection.default_channel
    assert isinstance(channel, amqp.Channel)  # kombu's pyamqp transport channel
    return channel


def print_new_events(seen: int) -> int:
    events = [str(line) for line in store.lrange(f"{RUN}:events", seen, -1)]
    for line in events:
        print(line)
    return seen + len(events)


def replay(connection: Connection, dead: Message) -> None:
    """Publish the dead message to the work exchange again, with a fresh retry budget."""
    headers: dict[str, Any] = {k: v for k, v in dead.headers.items() if not k.startswith("x-")}
    headers["retries"] = 0
    Producer(connection.default_channel).publish(
        dead.body,
        exchange=WORK_EXCHANGE,
        routing_key="webhooks",
        headers=headers,
        content_type=dead.content_type,
        content_encoding=dead.content_encoding,
    )
    dead.ack()  # only after the copy is published: a crash in between duplicates, never loses


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    with tempfile.TemporaryDirectory() as tmp, Connection(RABBITMQ_URL) as connection:
        log_path = os.path.join(tmp, "worker.log")
        # The dead-letter exchange and queue must exist before anything is rejected:
        # RabbitMQ silently drops a dead letter whose exchange does not exist.
        DEAD_QUEUE.bind(connection.default_channel).declare()
        worker = start_worker(log_path)
        try:
            print("1. deliver_webhook on a queue declared with x-dead-letter-exchange")
            deliver_webhook.delay("evt-9001", "https://partner.example/hooks")
            dead = wait_for_dead_letter(connection)
            seen = print_new_events(0)

            print("2. the dead letter, read back with kombu")
            args, _kwargs, _embed = dead.decode()
            headers: dict[str, Any] = dict(dead.headers)
            print(f"  task={headers['task'].rsplit('.', 1)[1]} args={args}")
            print(f"  celery headers: retries={headers['retries']}")
            death = headers["x-death"][0]  # added by RabbitMQ when it dead-lettered the message
            source = death["queue"].removeprefix(f"{RUN}.")
            print(f"  x-death: reason={death['reason']} queue={source} count={death['count']}")

            print("3. the partner fixed its endpoint: replay the dead letter")
            store.set(f"{RUN}:partner_fixed", 1)
            replay(connection, dead)
            deadline = time.monotonic() + 15
            while store.llen(f"{RUN}:events") == seen and time.monotonic() < deadline:
                time.sleep(0.05)
            print_new_events(seen)
            declared = amqp_channel(connection).queue_declare(DEAD_QUEUE.name, passive=True)
            assert declared is not None
            print(f"  dead-letter queue now holds {declared[1]} message(s)")

            print("4. queue arguments are fixed when the queue is first declared")
            with Connection(RABBITMQ_URL) as other:
                plain = Queue(WORK_QUEUE.name, WORK_EXCHANGE, routing_key="webhooks")
                try:
                    plain.bind(other.default_channel).declare()
                except PreconditionFailed as exc:
                    reason = str(exc).split(" for queue")[0].split("PRECONDITION_FAILED - ")[1]
                    print(f"  {type(exc).__name__}: {reason}")
        except Exception:
            log.exception("example failed; worker log follows")
            with open(log_path) as handle:
                print(handle.read()[-3000:])
            raise
        finally:
            stop_worker(worker)
            channel = amqp_channel(connection)
            for queue in (WORK_QUEUE, DEAD_QUEUE):
                channel.queue_delete(queue.name)
            for exchange in (WORK_EXCHANGE, DEAD_LETTERS):
                channel.exchange_delete(exchange.name)
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
