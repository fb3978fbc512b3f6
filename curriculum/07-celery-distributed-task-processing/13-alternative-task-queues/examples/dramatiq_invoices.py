"""The invoice job on Dramatiq 2.2: an actor, an in-process worker, retries, results, dead letters.

Part A runs on Redis. The broker's namespace keeps every key of this run apart; results go
to a Redis result backend. Part B declares the same function as an actor on RabbitMQ and
shows the three queues Dramatiq declares for one queue name. Dramatiq's Worker is a set of
threads in the current process, so no fork is needed: start() it, stop() it.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from urllib.parse import quote, urlsplit

import dramatiq
import invoice_jobs
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.results import Results
from dramatiq.results.backends.redis import RedisBackend
from invoice_jobs import KEYSPACE_VARIABLE, REDIS_URL, render_invoice

RABBITMQ_URL = os.environ.get("PYMASTERY_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
RUN = f"s7_13_dq_{os.getpid()}"
os.environ[KEYSPACE_VARIABLE] = RUN

log = logging.getLogger("billing")


class LogLines(logging.Handler):
    """Keeps the worker's log lines so they can be printed grouped by order."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name.split('.')[-1]}: {record.getMessage()}")


def pika_url(url: str) -> str:
    """kombu reads the path '//' as the vhost '/'; pika wants it percent-encoded ('/%2F')."""
    parts = urlsplit(url)
    vhost = parts.path[1:] or "/"
    return parts._replace(path="/" + quote(vhost, safe="")).geturl()


def shown(text: str, message_ids: dict[str, str]) -> str:
    for message_id, label in message_ids.items():
        text = text.replace(message_id, label)
    text = re.sub(r"in \d+ milliseconds", "in <backoff> ms", text)
    return text.replace(RUN, "{run}")


def result_backend() -> RedisBackend:
    """Results under readable keys (<namespace>:<queue>:<actor>:<message id>), not md5 hashes."""
    return RedisBackend(  # type: ignore[no-untyped-call]  # dramatiq leaves __init__ unannotated
        url=REDIS_URL, namespace=f"{RUN}-results", use_namespace_prefix_keys=True
    )


def declare(broker: dramatiq.Broker, queue_name: str) -> dramatiq.Actor[[int], dict[str, str]]:
    """The same plain function becomes an actor on the given broker."""
    return dramatiq.actor(
        actor_name="render_invoice",
        queue_name=queue_name,
        broker=broker,
        max_retries=2,  # three attempts in all
        min_backoff=200,  # ms; Dramatiq's default is 15 s
        max_backoff=1000,
        store_results=True,
    )(render_invoice)


def run_orders(
    broker: dramatiq.Broker, actor: dramatiq.Actor[[int], dict[str, str]], backend: RedisBackend
) -> dict[str, str]:
    """Send orders 1042 and 1099, run a worker until both are settled, print the outcome."""
    handler = LogLines()
    logging.getLogger("dramatiq").addHandler(handler)
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    message_ids: dict[str, str] = {}
    try:
        for order_id in (1042, 1099):
            message = actor.send(order_id)
            message_ids[message.message_id] = f"<message {order_id}>"
            try:
                invoice = message.get_result(backend=backend, block=True, timeout=10_000)
                print(f"  order {order_id}: {invoice}")
            except dramatiq.results.ResultFailure as failure:
                cause = f"{failure.orig_exc_type}: {failure.orig_exc_msg}"
                print(f"  order {order_id}: ResultFailure {cause}")
            print(f"    tax calls: {invoice_jobs.attempts(order_id)}")
    finally:
        worker.stop()
        logging.getLogger("dramatiq").removeHandler(handler)
    print("  worker log, order by order:")
    for label in message_ids.values():
        for line in handler.lines:
            if label in shown(line, message_ids):
                print(f"    {shown(line, message_ids)}")
    return message_ids


def redis_part() -> None:
    print("A. Dramatiq on Redis")
    broker = RedisBroker(url=REDIS_URL, namespace=RUN)  # type: ignore[no-untyped-call]
    backend = result_backend()
    broker.add_middleware(Results(backend=backend))  # type: ignore[no-untyped-call]
    print(f"  middleware: {[type(m).__name__ for m in broker.middleware]}")
    actor = declare(broker, "invoices")
    try:
        message_ids = run_orders(broker, actor, backend)
        print("  what Dramatiq keeps in Redis for this run:")
        client: redis.Redis = broker.client  # returns bytes: no decode_responses
        listing = []
        for key in client.scan_iter(f"{RUN}*"):
            kind = client.type(key)
            kind = kind.decode() if isinstance(kind, bytes) else kind
            listing.append((shown(key.decode(), message_ids), kind))
        for name, kind in sorted(listing):
            print(f"    {kind:<6} {name}")
    finally:
        keys = list(broker.client.scan_iter(f"{RUN}*"))
        if keys:
            broker.client.delete(*keys)
        broker.close()


def rabbitmq_part() -> None:
    print("B. the same actor on RabbitMQ")
    queue = f"{RUN}.invoices"
    broker = RabbitmqBroker(url=pika_url(RABBITMQ_URL), confirm_delivery=True)
    backend = result_backend()
    broker.add_middleware(Results(backend=backend))  # type: ignore[no-untyped-call]
    actor = declare(broker, queue)
    try:
        run_orders(broker, actor, backend)
        # The dead-lettering follows the worker's nack inside RabbitMQ: wait until it shows.
        deadline = time.monotonic() + 5
        while (counts := broker.get_queue_message_counts(queue))[2] < 1:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        print("  queues Dramatiq declared, with their ready messages:")
        for name, count in zip((queue, f"{queue}.DQ", f"{queue}.XQ"), counts, strict=True):
            print(f"    {name.replace(RUN, '{run}')}: {count}")
    finally:
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            broker.channel.queue_delete(queue=name)
        broker.close()
        store = invoice_jobs.connect()
        keys = list(store.scan_iter(f"{RUN}*"))
        if keys:
            store.delete(*keys)


def main() -> None:
    logging.basicConfig(
        level=logging.WARNING, format="    log %(name)s: %(message)s", stream=sys.stdout
    )
    logging.getLogger("dramatiq").setLevel(logging.INFO)
    logging.getLogger("dramatiq").propagate = False
    try:
        redis_part()
        invoice_jobs.clean_up()
        rabbitmq_part()
    finally:
        invoice_jobs.clean_up()


if __name__ == "__main__":
    main()
