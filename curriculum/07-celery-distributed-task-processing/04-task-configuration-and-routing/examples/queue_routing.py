"""Two workers, three queues: task_routes decides where each call goes, -Q decides who runs it.

The broker is RabbitMQ (a real direct exchange and real queues); results go to Redis. Every queue,
exchange and key carries this run's process id, and all of them are deleted at the end.
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
from celery import Celery, Task
from celery.exceptions import QueueNotFound
from celery.result import AsyncResult
from celery.signals import worker_ready
from kombu import Connection, Exchange, Queue

RABBITMQ_URL = os.environ.get("PYMASTERY_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NS = f"s7_4_routing_{os.getpid()}"  # computed once; forked workers inherit the same value
log = logging.getLogger("billing.routing")


def q(name: str) -> str:
    """The broker-side name of a logical queue."""
    return f"{NS}.{name}"


def webhook_router(
    name: str, args: Any, kwargs: dict[str, Any], options: dict[str, Any], **extra: Any
) -> dict[str, str] | None:
    """First delivery attempts are interactive; retries of a failing endpoint go to batch."""
    if name == "billing.webhooks.deliver":
        return {"queue": q("interactive") if kwargs.get("attempt", 1) == 1 else q("batch")}
    return None  # not mine: the next router decides


tasks_exchange = Exchange(f"{NS}.tasks", type="direct")
app = Celery("billing", broker=RABBITMQ_URL, backend=REDIS_URL)
app.conf.update(
    task_queues=[
        Queue(q(name), tasks_exchange, routing_key=f"billing.{name}")
        for name in ("default", "interactive", "batch", "archive")
    ],
    task_default_queue=q("default"),
    task_default_exchange=tasks_exchange.name,
    task_default_routing_key="billing.default",
    task_create_missing_queues=False,  # a typo in a route raises instead of inventing a queue
    task_routes=(
        webhook_router,  # routers are asked in order; the first non-None answer wins
        {
            "billing.emails.*": {"queue": q("interactive")},
            "billing.reports.*": {"queue": q("batch")},
            "billing.archive.*": {"queue": q("archive")},
        },
    ),
    result_backend_transport_options={"global_keyprefix": f"{NS}:"},
    worker_enable_remote_control=False,  # no pidbox queues on the shared broker
    worker_prefetch_multiplier=1,
)


@app.task(bind=True, name="billing.emails.send_receipt")
def send_receipt(self: Task[Any, Any], order_id: int) -> dict[str, str]:
    return where_am_i(self)


@app.task(bind=True, name="billing.reports.monthly_statement")
def monthly_statement(self: Task[Any, Any], tenant: str) -> dict[str, str]:
    return where_am_i(self)


@app.task(bind=True, name="billing.webhooks.deliver")
def deliver_webhook(self: Task[Any, Any], endpoint: str, attempt: int = 1) -> dict[str, str]:
    return where_am_i(self)


@app.task(bind=True, name="billing.invoices.renumber")
def renumber_invoices(self: Task[Any, Any], tenant: str) -> dict[str, str]:
    return where_am_i(self)


@app.task(name="billing.archive.compact")
def compact_archive(tenant: str) -> None:
    """Routed to a queue that no worker in this example consumes."""


def where_am_i(task: Task[Any, Any]) -> dict[str, str]:
    """Which worker node ran this, and under which routing key the message arrived."""
    node = (task.request.hostname or "?").split("@")[0]
    delivery = task.request.delivery_info or {}
    return {
        "worker": node,
        "exchange": str(delivery.get("exchange")),
        "routing_key": str(delivery.get("routing_key")).removeprefix(NS + "."),
    }


# --- worker harness: what `celery -A queue_routing worker -Q ... -n NODE -c 1` starts -------


def keep_loop_awake(sender: Any, **_: Any) -> None:
    """Workaround: in this harness an idle worker reacted to SIGTERM seconds late (the cause
    was not established); with a no-op timer every 0.25 s it stopped promptly in every run."""
    sender.timer.call_repeatedly(0.25, lambda: None)


def run_worker(log_path: Path, node: str, queues: list[str]) -> None:
    """Body of a forked child: a prefork worker whose log goes to a file."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    worker_ready.connect(keep_loop_awake, weak=False)
    worker = app.Worker(
        hostname=f"{node}@s7-4",
        queues=queues,
        concurrency=1,
        pool="prefork",
        loglevel="INFO",
        quiet=True,  # no banner
        without_gossip=True,  # gossip, mingle and heartbeats talk to every worker on the
        without_mingle=True,  # broker; other examples share it, and start-up is faster
        without_heartbeat=True,
    )
    worker.start()
    sys.exit(worker.exitcode)


@contextmanager
def running_workers(folder: Path, plan: dict[str, list[str]]) -> Iterator[None]:
    """Fork one worker per node in plan, and always stop them (SIGTERM: warm shutdown)."""
    fork = multiprocessing.get_context("fork")
    children = [
        fork.Process(target=run_worker, args=(folder / f"{node}.log", node, queues))
        for node, queues in plan.items()
    ]
    for child in children:
        child.start()
    try:
        yield
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.join(20)
            if child.is_alive():
                log.error("worker %s ignored SIGTERM; killing it", child.pid)
                child.kill()
                child.join()


def clean_up() -> None:
    with Connection(RABBITMQ_URL) as connection:
        channel: Any = connection.default_channel  # the stubs' StdChannel lacks queue_delete
        for name in ("default", "interactive", "batch", "archive"):
            channel.queue_delete(q(name))
        channel.exchange_delete(tasks_exchange.name)
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{NS}:*"))
    if keys:
        client.delete(*keys)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    router = app.amqp.router
    print("1. Where the client routes each call (decided before anything is sent)")
    calls = [
        ("billing.emails.send_receipt", {}, {}),
        ("billing.reports.monthly_statement", {}, {}),
        ("billing.webhooks.deliver", {"attempt": 1}, {}),
        ("billing.webhooks.deliver", {"attempt": 3}, {}),
        ("billing.invoices.renumber", {}, {}),
        ("billing.reports.monthly_statement", {}, {"queue": q("interactive")}),
    ]
    for name, kwargs, options in calls:
        queue = router.route(dict(options), name, (), kwargs)["queue"]
        extra = f"attempt={kwargs['attempt']}" if kwargs else ""
        extra += "apply_async(queue=interactive)" if options else ""
        print(f"   {name:<34}{extra:<31} -> {queue.name.removeprefix(NS + '.')}")

    try:
        router.route({"queue": "interactve"}, "billing.emails.send_receipt", (), {})
    except QueueNotFound as exc:  # because task_create_missing_queues=False
        print(f"   typo in a queue name: {type(exc).__name__}: {exc}")

    plan = {"interactive": [q("interactive"), q("default")], "batch": [q("batch")]}
    print("\n2. Two workers: interactive consumes [interactive, default], batch consumes [batch]")
    with tempfile.TemporaryDirectory() as tmp, running_workers(Path(tmp), plan):
        sent: list[tuple[str, AsyncResult[Any]]] = [
            ("send_receipt(order_id=1001)", send_receipt.delay(1001)),
            ("monthly_statement('acme')", monthly_statement.delay("acme")),
            ("deliver_webhook(attempt=1)", deliver_webhook.delay("https://hooks.acme", attempt=1)),
            ("deliver_webhook(attempt=3)", deliver_webhook.delay("https://hooks.acme", attempt=3)),
            ("renumber_invoices('acme')", renumber_invoices.delay("acme")),
            (
                "monthly_statement(..., queue=interactive)",
                monthly_statement.apply_async(("globex",), queue=q("interactive")),
            ),
        ]
        compact_archive.delay("acme")
        print(f"   {'call':<42}{'worker':<13}exchange  routing key")
        for label, result in sent:
            outcome = result.get(timeout=20)
            exchange, key = outcome["exchange"], outcome["routing_key"]
            print(f"   {label:<42}{outcome['worker']:<13}{exchange!r:<10}{key}")
            result.forget()

        with Connection(RABBITMQ_URL) as connection:
            amqp_channel: Any = connection.default_channel
            declared = amqp_channel.queue_declare(q("archive"), passive=True)
        print(
            f"   compact_archive('acme') is still waiting: archive queue holds "
            f"{declared.message_count} message, {declared.consumer_count} consumers"
        )


if __name__ == "__main__":
    try:
        main()
    finally:
        clean_up()
