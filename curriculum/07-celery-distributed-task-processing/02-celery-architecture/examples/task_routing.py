"""task_routes at work on RabbitMQ: the router's decision, the queues it fills, and a worker
that consumes only one of them.

Queue counts come from passive declarations on a plain kombu channel (no management plugin).
The script is the client; it forks one child that runs a real worker for the emails queue
only, as `celery -A task_routing worker -Q <run>.emails --pool=threads -c 4` would.
"""

import logging
import multiprocessing
import os
import sys
import tempfile
from multiprocessing.process import BaseProcess
from typing import Any, cast

import amqp
from celery import Celery
from celery.backends.rpc import RPCBackend
from celery.result import AsyncResult
from kombu import Connection

RABBITMQ_URL = os.environ.get("PYMASTERY_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
RUN = os.environ.setdefault("S7_2_ROUTING_RUN", f"s7_2_routing_{os.getpid()}")
DEFAULT, EMAILS, EXPORTS = f"{RUN}.default", f"{RUN}.emails", f"{RUN}.exports"
HOSTNAME = f"{RUN}@localhost"

log = logging.getLogger("shop.client")

app = Celery("shop", broker=RABBITMQ_URL, backend="rpc://")
app.conf.update(
    task_default_queue=DEFAULT,
    task_routes={
        "emails.*": {"queue": EMAILS},  # a glob: every task whose name starts with "emails."
        "reports.export_csv": {"queue": EXPORTS},
    },
    broker_connection_retry_on_startup=True,
    broker_transport_options={"confirm_publish": True},
)


@app.task(name="emails.send_receipt")
def send_receipt(order_id: int) -> str:
    return f"receipt for order {order_id} sent"


@app.task(name="emails.send_password_reset")
def send_password_reset(user_id: int) -> str:
    return f"reset link for user {user_id} sent"


@app.task(name="reports.export_csv")
def export_csv(tenant: str) -> str:
    return f"exports/{tenant}.csv"


@app.task(name="invoices.render_pdf")
def render_pdf(invoice_id: int) -> str:
    return f"invoices/{invoice_id}.pdf"


def short(name: str) -> str:
    return name.replace(RUN, "{run}")


def show_counts(connection: Connection) -> None:
    channel = cast(
        amqp.Channel, connection.default_channel
    )  # py-amqp under kombu's pyamqp transport
    for queue in (DEFAULT, EMAILS, EXPORTS):
        declared = channel.queue_declare(queue=queue, passive=True)  # raises if it is missing
        if declared is None:  # only with nowait=True
            raise RuntimeError("queue_declare returned no reply")
        _, ready, consumers = declared  # (name, message_count, consumer_count)
        print(f"   {short(queue):<16} {ready} ready, {consumers} consumers")


def run_worker(log_fd: int) -> None:
    """The child process: a worker that consumes the emails queue and nothing else."""
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = app.Worker(
        hostname=HOSTNAME, queues=[EMAILS], pool="threads", concurrency=4, loglevel="WARNING",
        quiet=True, without_mingle=True, without_gossip=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode)


def stop_worker(process: BaseProcess) -> None:
    try:
        app.control.shutdown(destination=[HOSTNAME])
    except Exception:
        log.exception("could not send the shutdown command")
    process.join(timeout=15)
    if process.is_alive():
        process.terminate()
        process.join(timeout=5)
    if process.is_alive():
        process.kill()
        process.join()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print("1. where the router sends each task (no message sent yet)")
    router = app.amqp.router
    for name in ("emails.send_receipt", "reports.export_csv", "invoices.render_pdf"):
        queue = router.route({}, name)["queue"]
        print(f"   {name:<20} -> queue {short(queue.name)!r}")
        print(f"   {'':<23} exchange {short(queue.exchange.name)!r} ({queue.exchange.type}),"
              f" routing key {short(queue.routing_key)!r}")  # fmt: skip
    override = router.route({"queue": EXPORTS}, "emails.send_receipt")["queue"]
    print(f"   apply_async(queue=...) beats task_routes: {short(override.name)!r}")

    connection = Connection(RABBITMQ_URL)
    connection.ensure_connection(max_retries=1)
    results: list[AsyncResult[Any]] = []
    try:
        print("2. the client sends 3 emails, 2 exports and 1 invoice")
        emails = [send_receipt.delay(5001), send_receipt.delay(5002), send_password_reset.delay(77)]
        results += emails
        results += [export_csv.delay("acme"), export_csv.delay("globex"), render_pdf.delay(1042)]
        show_counts(connection)

        context = multiprocessing.get_context("fork")
        with tempfile.TemporaryFile() as worker_log:
            sys.stdout.flush()
            worker = context.Process(target=run_worker, args=(worker_log.fileno(),))
            worker.start()
            try:
                print(f"3. a worker started with -Q {short(EMAILS)} runs the emails")
                for result in emails:
                    print(f"   {result.get(timeout=20)}")
                show_counts(connection)
            except Exception:
                worker_log.seek(0)
                log.error("worker output:\n%s", worker_log.read().decode(errors="replace"))
                raise
            finally:
                stop_worker(worker)
                print(f"4. worker stopped, exit code {worker.exitcode}; the exports still wait")
    finally:
        channel = cast(amqp.Channel, connection.default_channel)
        for queue in (DEFAULT, EMAILS, EXPORTS):
            channel.queue_delete(queue=queue)
            channel.exchange_delete(exchange=queue)
        channel.queue_delete(queue=cast(RPCBackend, app.backend).binding.name)  # rpc:// replies
        connection.release()


if __name__ == "__main__":
    main()
