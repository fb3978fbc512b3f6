"""What RabbitMQ holds for one task, read with pika, and where the rpc:// backend puts the result.

RabbitMQ's management plugin is not needed: pika, a second AMQP client that knows nothing about
Celery, declares queues passively (which returns their counts) and takes a message with
basic.get, then puts it back with basic.nack. The script is the client; it forks one child that
runs a real worker (`celery -A rabbitmq_broker_storage worker --pool=prefork --concurrency=1`).
"""

import json
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from multiprocessing.process import BaseProcess
from typing import Any, cast

import pika  # type: ignore[import-untyped]
from celery import Celery, Task
from celery.backends.rpc import RPCBackend
from kombu import Connection

RABBITMQ_URL = os.environ.get("PYMASTERY_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
RUN = os.environ.setdefault("S7_2_AMQP_RUN", f"s7_2_amqp_{os.getpid()}")  # the child inherits it
QUEUE = f"{RUN}.invoices"
HOSTNAME = f"{RUN}@localhost"

log = logging.getLogger("invoices.client")

app = Celery("invoices", broker=RABBITMQ_URL, backend="rpc://")
app.conf.update(
    task_default_queue=QUEUE,  # the exchange and routing key default to the same name
    broker_connection_retry_on_startup=True,
    broker_transport_options={"confirm_publish": True},  # delay() returns once RabbitMQ has it
    result_expires=600,
)


@app.task(name="invoices.render_pdf", bind=True)
def render_pdf(self: Task[Any, Any], invoice_id: int, tenant: str) -> dict[str, Any]:
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    return {"invoice_id": invoice_id, "tenant": tenant, "redelivered": redelivered}


def short(name: str) -> str:
    return name.replace(RUN, "{run}")


def open_pika_channel() -> tuple[Any, Any]:
    """pika needs its own parameters; kombu parses the URL (vhost "//" means "/")."""
    url = Connection(RABBITMQ_URL)
    parameters = pika.ConnectionParameters(
        host=url.hostname,
        port=url.port or 5672,
        virtual_host=url.virtual_host,
        credentials=pika.PlainCredentials(url.userid, url.password),
    )
    connection = pika.BlockingConnection(parameters)
    return connection, connection.channel()


def counts(channel: Any, queue: str) -> str:
    ok = channel.queue_declare(queue, passive=True).method  # fails if the queue does not exist
    return f"{ok.message_count} ready, {ok.consumer_count} consumers"


def peek(channel: Any, queue: str) -> tuple[Any, Any, bytes]:
    """basic.get without acking, then nack with requeue: the message goes back where it was."""
    method, properties, body = channel.basic_get(queue, auto_ack=False)
    if method is None:
        raise LookupError(f"queue {short(queue)} is empty")
    channel.basic_nack(method.delivery_tag, requeue=True)
    return method, properties, body


def show_task_message(channel: Any) -> None:
    method, properties, body = peek(channel, QUEUE)
    print(f"   basic.get: exchange={method.exchange!r} routing_key={short(method.routing_key)!r}"
          f" redelivered={method.redelivered}")  # fmt: skip
    print(f"   content_type={properties.content_type}"
          f" content_encoding={properties.content_encoding}")  # fmt: skip
    print(f"   delivery_mode={properties.delivery_mode} (2 = persistent)"
          f" priority={properties.priority}")  # fmt: skip
    print(f"   correlation_id={properties.correlation_id}")
    print(f"   reply_to={properties.reply_to}")
    headers = properties.headers
    print(f"   headers: {len(headers)} AMQP headers, the same fields as on Redis, e.g.")
    print(f"     task={headers['task']!r} argsrepr={headers['argsrepr']!r}")
    print(f"   body: {len(body)} bytes of raw JSON (no base64 on AMQP):")
    print(f"     {body.decode()}")
    method, _, _ = peek(channel, QUEUE)
    print(f"   taken and nacked once more: redelivered={method.redelivered}")


def run_worker(log_fd: int) -> None:
    """The child process: the worker `celery worker --pool=prefork -c 1` builds."""
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = app.Worker(
        hostname=HOSTNAME, pool="prefork", concurrency=1, loglevel="WARNING", quiet=True,
        without_mingle=True, without_gossip=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode)


def stop_worker(process: BaseProcess) -> None:
    """A remote-control shutdown wakes the worker's event loop at once; SIGTERM is the fallback."""
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


def wait_for_message(channel: Any, queue: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while channel.queue_declare(queue, passive=True).method.message_count == 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"no message arrived in {short(queue)}")
        time.sleep(0.05)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app.connection_for_write().ensure_connection(max_retries=1)
    pika_connection, channel = open_pika_channel()
    reply_queue = cast(RPCBackend, app.backend).binding  # rpc://'s queue for this client
    try:
        print("1. what Celery declares before it publishes")
        queue = app.amqp.queues[QUEUE]
        print(f"   queue {short(queue.name)!r}: durable={queue.durable}"
              f" auto_delete={queue.auto_delete}")  # fmt: skip
        print(f"   bound to exchange {short(queue.exchange.name)!r} (type {queue.exchange.type})"
              f" with routing key {short(queue.routing_key)!r}")  # fmt: skip
        print(f"   reply queue (rpc://): named by the client's id,"
              f" durable={reply_queue.durable} auto_delete={reply_queue.auto_delete}"
              f" x-expires={app.conf.result_expires} s")  # fmt: skip

        result = render_pdf.delay(1042, tenant="acme")
        print("2. the client sent one task; pika looks at the queue")
        print(f"   {short(QUEUE)}: {counts(channel, QUEUE)}")
        channel.exchange_declare(QUEUE, passive=True)
        print(f"   exchange {short(QUEUE)!r} exists, but the message went through the default one:")
        show_task_message(channel)

        context = multiprocessing.get_context("fork")
        with tempfile.TemporaryFile() as worker_log:
            sys.stdout.flush()
            worker = context.Process(target=run_worker, args=(worker_log.fileno(),))
            worker.start()
            try:
                print("3. a worker runs the task; the result is a message to the client")
                wait_for_message(channel, reply_queue.name)
                print(f"   {short(QUEUE)}: {counts(channel, QUEUE)}")
                channel.exchange_declare("celery.pidbox", passive=True)
                print("   exchange 'celery.pidbox' exists: remote control (inspect, shutdown)")
                print(f"   reply queue: {counts(channel, reply_queue.name)}")
                method, properties, body = peek(channel, reply_queue.name)
                print(f"   routing_key={method.routing_key}")
                print(f"   correlation_id={properties.correlation_id}")
                print(f"   delivery_mode={properties.delivery_mode} (1 = transient)")
                for name, value in json.loads(body).items():
                    print(f"     {name:<10} {value!r}")
                print(f"   result.get(): {result.get(timeout=10)}")
                print(f"   reply queue after get(): {counts(channel, reply_queue.name)}")
            except Exception:
                worker_log.seek(0)
                log.error("worker output:\n%s", worker_log.read().decode(errors="replace"))
                raise
            finally:
                stop_worker(worker)
                print(f"4. worker stopped, exit code {worker.exitcode}")
    finally:
        cleanup = pika_connection.channel()  # a fresh channel: an error may have closed the other
        cleanup.queue_delete(QUEUE)
        cleanup.exchange_delete(QUEUE)
        cleanup.queue_delete(reply_queue.name)
        pika_connection.close()


if __name__ == "__main__":
    main()
