"""The receipt job again, with Celery: what .delay() leaves in Redis, and a worker that drains it.

This module is the Celery app for both sides. Run as a script, it is the producer (the web
process), and it forks one child that runs the worker, as `celery -A celery_receipts worker
--pool=solo -Q receipts` would from a shell. Every Redis key of the run starts with its own
prefix; a worker started from a shell finds it in S7_1_CELERY_RUN.
"""

import base64
import json
import logging
import multiprocessing
import os
import tempfile
import time
from multiprocessing.synchronize import Event as EventType
from typing import Any

import redis
from celery import Celery
from celery.result import AsyncResult

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = os.environ.get("S7_1_CELERY_RUN") or f"s7_1_celery_{os.getpid()}"
QUEUE = "receipts"
PREFIX = f"{RUN}:"  # kombu puts it in front of every broker key, Celery in front of result keys

log = logging.getLogger("checkout")

app = Celery("celery_receipts", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=QUEUE,
    broker_transport_options={"global_keyprefix": PREFIX, "client_name": RUN},
    result_backend_transport_options={"global_keyprefix": PREFIX},
    result_expires=300,
    broker_connection_retry_on_startup=True,
)


@app.task(name="receipts.send_receipt")
def send_receipt(order_id: int, email: str) -> str:
    """The slow part of checkout: render a PDF and hand it to the mail provider (simulated)."""
    time.sleep(0.2)
    return f"receipt for order {order_id} sent to {email}"


def show_message(raw: str | bytes) -> None:
    """Print the parts of one broker message that do not change from run to run."""
    envelope: dict[str, Any] = json.loads(raw)
    print(f"   envelope keys: {sorted(envelope)}")
    headers = envelope["headers"]
    print(f"   headers: task={headers['task']!r} argsrepr={headers['argsrepr']!r}")
    print(f"   content-type: {envelope['content-type']}")
    body = json.loads(base64.b64decode(envelope["body"]))
    print(f"   body (base64-decoded): args={body[0]} kwargs={body[1]}")
    print(f"   delivery_info: {envelope['properties']['delivery_info']}")


def send_three(orders: list[tuple[int, str]]) -> list[AsyncResult[Any]]:
    print("1. the web process sends three tasks; no worker is running yet")
    started = time.perf_counter()
    results = [send_receipt.delay(*orders[0])]
    first = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    results += [send_receipt.delay(order_id, email) for order_id, email in orders[1:]]
    later = (time.perf_counter() - started) * 1000 / (len(orders) - 1)
    print(f"   first .delay() (imports the transport, connects): {first:.2f} ms")
    print(f"   each later .delay(): {later:.2f} ms")
    print(f"   .delay() returned {type(results[0]).__name__}s, states {[r.state for r in results]}")
    return results


def inspect_broker(client: redis.Redis) -> None:
    print("2. what the broker holds")
    queue_key = f"{PREFIX}{QUEUE}"
    kind, length = client.type(queue_key), client.llen(queue_key)
    print(f"   key {QUEUE!r}: type {kind!r}, length {length}")
    oldest = client.lindex(queue_key, -1)  # LPUSH adds on the left, BRPOP takes from the right
    assert oldest is not None
    show_message(oldest)


WORKER_ARGV = [
    "worker", "--pool=solo", "--loglevel=WARNING", "--queues", QUEUE,
    "--hostname", f"{RUN}@localhost", "--without-gossip", "--without-mingle", "--without-heartbeat",
]  # fmt: skip


def run_worker(go: EventType, log_fd: int) -> None:
    """The child process: wait for the signal, then run what `celery -A celery_receipts worker`
    runs. Forked before any connection exists, it skips importing Celery again (about 1 s)."""
    go.wait()
    os.dup2(log_fd, 1)  # the worker's banner and warnings go to a log file, not to our output
    os.dup2(log_fd, 2)
    app.worker_main(WORKER_ARGV)


def collect(client: redis.Redis, results: list[AsyncResult[Any]]) -> None:
    print("3. start one worker; it takes the tasks off the list and runs them")
    for result in results:
        print(f"   {result.get(timeout=20)}")
    print(f"   states: {[result.state for result in results]}")
    print(f"   key {QUEUE!r} exists: {client.exists(f'{PREFIX}{QUEUE}') == 1} (empty lists vanish)")
    metas = list(client.scan_iter(match=f"{PREFIX}celery-task-meta-*"))
    print(f"   result keys (celery-task-meta-<task id>): {len(metas)}")
    parked = [c for c in client.client_list() if c["name"] == RUN and c["cmd"] == "brpop"]
    print(f"   connections of this run parked in BRPOP (the idle worker): {len(parked)}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    context = multiprocessing.get_context("fork")
    go = context.Event()
    with tempfile.TemporaryFile() as worker_log:
        worker = context.Process(target=run_worker, args=(go, worker_log.fileno()))
        worker.start()
        client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
        orders = [(7001, "ana@example.com"), (7002, "bo@example.com"), (7003, "cy@example.com")]
        results: list[AsyncResult[Any]] = []
        try:
            results = send_three(orders)
            inspect_broker(client)
            go.set()  # start the worker now
            collect(client, results)
        except Exception:
            worker_log.seek(0)
            log.error("worker output:\n%s", worker_log.read().decode(errors="replace"))
            raise
        finally:
            go.set()
            worker.terminate()  # SIGTERM: a warm shutdown; the worker finishes what it runs
            worker.join(timeout=15)
            if worker.is_alive():
                worker.kill()
                worker.join()
            print(f"4. worker stopped with exit code {worker.exitcode}")
            for result in results:
                result.forget()  # delete the result key now instead of after result_expires
            stale = list(client.scan_iter(match=f"{PREFIX}*"))
            if stale:
                client.delete(*stale)
            client.close()


if __name__ == "__main__":
    main()
