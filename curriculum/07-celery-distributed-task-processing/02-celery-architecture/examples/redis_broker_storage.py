"""Everything Celery keeps in Redis for two tasks: queue, bindings, message, unacked, results.

The script is the client; it forks one child that runs a real worker (`celery -A
redis_broker_storage worker --pool=threads --concurrency=1`). Between steps it reads the
Redis keys directly, so what it prints is what the broker and the backend really hold. Task
ids, delivery tags and the client's node name change every run; section.yaml masks them.
"""

import base64
import json
import logging
import math
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from typing import Any

import redis
from celery import Celery
from celery.result import AsyncResult

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = os.environ.setdefault("S7_2_REDIS_RUN", f"s7_2_redis_{os.getpid()}")  # the child inherits it
PREFIX = f"{RUN}:"
HOSTNAME = f"{RUN}@localhost"
QUEUE = "invoices"
SEP = "\x06\x16"  # kombu's field separator inside binding entries

log = logging.getLogger("invoices.client")

app = Celery("invoices", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=QUEUE,
    broker_transport_options={"global_keyprefix": PREFIX},
    result_backend_transport_options={"global_keyprefix": PREFIX},
    broker_connection_retry_on_startup=True,
    task_track_started=True,
    result_expires=600,
)


@app.task(name="invoices.render_pdf")
def render_pdf(invoice_id: int, tenant: str) -> dict[str, Any]:
    """Acknowledged the default way: as soon as the worker hands it to the pool."""
    time.sleep(0.8)  # stands in for the PDF renderer
    return {"invoice_id": invoice_id, "tenant": tenant, "pages": 3}


@app.task(name="invoices.archive_pdf", acks_late=True)
def archive_pdf(invoice_id: int) -> str:
    """Acknowledged late: only after it has returned."""
    time.sleep(0.8)  # stands in for the upload to object storage
    return f"archive/{invoice_id}.pdf"


def short(key: str) -> str:
    return key.replace(RUN, "{run}")


def text(value: bytes | str | None) -> str:
    """The client decodes replies (decode_responses=True); this tells mypy so."""
    if value is None:
        raise LookupError("the key does not exist")
    return value.decode() if isinstance(value, bytes) else value


def show_keys(client: redis.Redis) -> None:
    for key in sorted(client.scan_iter(match=f"{PREFIX}*")):
        kind = text(client.type(key))
        size = {"list": client.llen, "set": client.scard, "hash": client.hlen}.get(kind)
        print(f"   {short(key):<42} {kind:<6} {size(key) if size else ''}")


def show_message(client: redis.Redis) -> None:
    # LPUSH adds on the left and BRPOP takes from the right: index -1 is the oldest message
    raw = text(client.lindex(PREFIX + QUEUE, -1))
    envelope = json.loads(raw)
    print(f"   envelope: {len(raw) / 1024:.1f} KB of JSON with keys {sorted(envelope)}")
    print(f"   content-type={envelope['content-type']}")
    print(f"   content-encoding={envelope['content-encoding']}")
    print("   properties:")
    for name, value in envelope["properties"].items():
        print(f"     {name:<15} {value!r}")
    print("   headers:")
    for name, value in envelope["headers"].items():
        print(f"     {name:<22} {value!r}")
    body = base64.b64decode(envelope["body"])
    print(f"   body: {len(envelope['body'])} base64 characters -> {len(body)} bytes of JSON:")
    print(f"     {json.loads(body)}")


def in_unacked(client: redis.Redis) -> list[str]:
    """Names of the tasks whose messages sit in the unacked hash right now."""
    names = []
    for value in client.hvals(PREFIX + "unacked"):
        envelope, _exchange, _routing_key = json.loads(text(value))
        names.append(envelope["headers"]["task"])
    return sorted(names)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.02)


def run_worker(log_fd: int) -> None:
    """The child process: the worker `celery worker --pool=threads -c 1` builds."""
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = app.Worker(
        hostname=HOSTNAME, pool="threads", concurrency=1, loglevel="WARNING", quiet=True,
        without_mingle=True, without_gossip=True, without_heartbeat=True,
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


def watch_worker(client: redis.Redis, render: AsyncResult[Any], archive: AsyncResult[Any]) -> None:
    print("3. a worker (threads pool, concurrency 1) takes both messages")
    wait_until(lambda: render.state == "STARTED", "render_pdf to start")
    wait_until(lambda: "invoices.render_pdf" not in in_unacked(client), "the early ack")
    print(f"   while render_pdf runs: queue length {client.llen(PREFIX + QUEUE)},"
          f" unacked {in_unacked(client)}")  # fmt: skip
    wait_until(lambda: archive.state == "STARTED", "archive_pdf to start")
    print(f"   while archive_pdf runs: unacked {in_unacked(client)}")
    entries: list[Any] = client.zrange(PREFIX + "unacked_index", 0, -1, withscores=True)
    [(tag, delivered_at)] = entries
    with app.connection_for_read() as connection:
        channel: Any = connection.default_channel  # kombu's Redis channel
        timeout = channel.visibility_timeout
    print(f"   unacked_index: tag {text(tag)}, scored with its delivery time"
          f" ({time.time() - float(delivered_at):.1f} s ago)")  # fmt: skip
    print(f"   back in the queue if still unacked after visibility_timeout = {timeout} s")
    archive.get(timeout=15)
    wait_until(lambda: not in_unacked(client), "the late ack")
    print(f"   after both returned: unacked {in_unacked(client)}")


def show_results(client: redis.Redis, render: AsyncResult[Any], published: list[str]) -> None:
    print("4. the result backend")
    key = f"{PREFIX}celery-task-meta-{render.id}"
    stored = text(client.get(key))
    print(f"   {short(key)}: string, expires in {math.ceil(client.ttl(key) / 60)} min")
    for name, value in json.loads(stored).items():
        print(f"     {name:<10} {value!r}")
    print("   published on the key's channel, in order (what .get() listens to):")
    for line in published:
        print(f"     {line}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    client.ping()
    app.connection_for_write().ensure_connection(max_retries=1)

    print("1. the client sends two tasks; no worker runs yet")
    render = render_pdf.delay(1042, tenant="acme")
    archive = archive_pdf.delay(1042)
    show_keys(client)
    for member in client.smembers(f"{PREFIX}_kombu.binding.{QUEUE}"):
        routing_key, pattern, queue = text(member).split(SEP)
        print(f"   binding: routing_key={routing_key!r} pattern={pattern!r} queue={queue!r}")
    print("2. the older message, as the worker will read it")
    show_message(client)

    listener = client.pubsub()  # type: ignore[no-untyped-call]
    listener.psubscribe(f"{PREFIX}celery-task-meta-*")
    context = multiprocessing.get_context("fork")
    with tempfile.TemporaryFile() as worker_log:
        sys.stdout.flush()
        worker = context.Process(target=run_worker, args=(worker_log.fileno(),))
        worker.start()
        try:
            watch_worker(client, render, archive)
            published = []
            while (event := listener.get_message(timeout=1.0)) is not None:
                if event["type"] == "pmessage":
                    meta = json.loads(event["data"])
                    name = "render_pdf" if meta["task_id"] == render.id else "archive_pdf"
                    published.append(f"{name:<12} {meta['status']}")
            show_results(client, render, published)
        except Exception:
            worker_log.seek(0)
            log.error("worker output:\n%s", worker_log.read().decode(errors="replace"))
            raise
        finally:
            listener.close()
            stop_worker(worker)
            print(f"5. worker stopped, exit code {worker.exitcode}; deleting the run's keys")
            leftovers = list(client.scan_iter(match=f"{PREFIX}*"))
            if leftovers:
                client.delete(*leftovers)
            client.close()


if __name__ == "__main__":
    main()
