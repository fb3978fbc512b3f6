"""A Celery app from configuration, its four components in one run, and the worker's own view.

This file is the app module for both sides. Run as a script, it is the client: it checks the
installed stack and the settings, sends a task before any worker exists, then forks one child
that runs a real worker, the one `celery -A celery_app_setup worker --pool=threads
--concurrency=2` would start from a shell. It finally asks that worker, over the broker, what
it runs. Every Redis key of the run starts with its own prefix, so parallel runs never meet.
"""

import logging
import multiprocessing
import os
import sys
import tempfile
from importlib.metadata import version
from multiprocessing.process import BaseProcess
from typing import ClassVar

import redis
from celery import Celery

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = os.environ.setdefault("S7_2_SETUP_RUN", f"s7_2_setup_{os.getpid()}")  # the child inherits it
PREFIX = f"{RUN}:"
HOSTNAME = f"{RUN}@localhost"  # a node name nobody else uses, so control commands reach only it

log = logging.getLogger("billing.client")


class BillingConfig:
    """The settings a real project keeps in one module (`app.config_from_object("settings")`)."""

    broker_url = REDIS_URL
    result_backend = REDIS_URL
    broker_transport_options: ClassVar = {"global_keyprefix": PREFIX}
    result_backend_transport_options: ClassVar = {"global_keyprefix": PREFIX}
    broker_connection_retry_on_startup = True
    task_default_queue = "billing"
    result_expires = 600  # seconds; the default keeps every result for a day


app = Celery("billing")
app.config_from_object(BillingConfig)


@app.task(name="billing.add_vat")
def add_vat(net_cents: int, rate_percent: int) -> int:
    """Gross amount of an invoice line, rounded half up to the cent."""
    return (net_cents * (100 + rate_percent) + 50) // 100


def show_stack() -> None:
    print('1. what `pip install "celery[redis]"` installed')
    for package in ("celery", "kombu", "billiard", "vine", "click", "redis", "amqp"):
        print(f"   {package:<9}{version(package)}")


def show_settings() -> None:
    print("2. settings: what this app chose, and defaults worth knowing")
    for key in ("task_default_queue", "result_expires", "broker_connection_retry_on_startup"):
        print(f"   {key:<35}= {app.conf[key]!r}  (set here)")
    defaults = (
        "task_serializer", "accept_content", "task_acks_late", "worker_prefetch_multiplier",
        "worker_concurrency", "worker_pool", "task_default_exchange_type", "task_ignore_result",
    )  # fmt: skip
    for key in defaults:
        print(f"   {key:<35}= {app.conf[key]!r}")
    print(f"   broker transport: {app.connection_for_write().transport_cls}")
    print(f"   result backend:   {type(app.backend).__name__}")


def run_worker(log_fd: int) -> None:
    """The child process: the same worker object the `celery worker` command builds."""
    os.dup2(log_fd, 1)  # banner, warnings and logs go to a file, not to the example's output
    os.dup2(log_fd, 2)
    worker = app.Worker(
        hostname=HOSTNAME, pool="threads", concurrency=2, loglevel="WARNING", quiet=True,
        without_mingle=True, without_gossip=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode)


def stop_worker(process: BaseProcess) -> None:
    """Ask the worker to shut down over the broker; signal it only if it does not listen."""
    try:
        app.control.shutdown(destination=[HOSTNAME])
    except Exception:
        log.exception("could not send the shutdown command")
    process.join(timeout=15)
    if process.is_alive():
        process.terminate()  # SIGTERM: warm shutdown
        process.join(timeout=5)
    if process.is_alive():
        process.kill()
        process.join()


def show_worker_view() -> None:
    inspect = app.control.inspect(destination=[HOSTNAME], timeout=5)
    stats = (inspect.stats() or {})[HOSTNAME]
    queues = (inspect.active_queues() or {})[HOSTNAME]
    print("5. the worker's own view, asked over the broker (celery inspect stats / active_queues)")
    print(f"   pool: {stats['pool']['implementation']}")
    print(f"   max-concurrency: {stats['pool']['max-concurrency']}")
    print(f"   prefetch_count: {stats['prefetch_count']} (multiplier 4 x concurrency 2)")
    print(f"   broker transport: {stats['broker']['transport']}")
    print(f"   consumes: {[(q['name'], q['exchange']['name'], q['routing_key']) for q in queues]}")
    print(f"   tasks run so far: {stats['total']}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    show_stack()
    show_settings()
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    client.ping()  # fail here, with a clear error, if Redis is not running
    app.connection_for_write().ensure_connection(max_retries=1)  # also imports the transport

    print("3. the client sends a task; no worker exists yet")
    result = add_vat.delay(12_990, rate_percent=21)
    print(f"   state: {result.state}, queue length: {client.llen(PREFIX + 'billing')}")
    never_sent = app.AsyncResult("00000000-0000-0000-0000-000000000000")
    print(f"   state of an id nobody ever sent: {never_sent.state}")

    context = multiprocessing.get_context("fork")
    with tempfile.TemporaryFile() as worker_log:
        sys.stdout.flush()
        worker = context.Process(target=run_worker, args=(worker_log.fileno(),))
        worker.start()
        try:
            print("4. one worker starts, takes the message and stores the result")
            print(f"   result: {result.get(timeout=20)} cents, state: {result.state}")
            print(f"   queue length: {client.llen(PREFIX + 'billing')}")
            show_worker_view()
        except Exception:
            worker_log.seek(0)
            log.error("worker output:\n%s", worker_log.read().decode(errors="replace"))
            raise
        finally:
            stop_worker(worker)
            print(f"6. worker stopped, exit code {worker.exitcode}")
            result.forget()
            leftovers = list(client.scan_iter(match=f"{PREFIX}*"))
            if leftovers:
                client.delete(*leftovers)
            client.close()


if __name__ == "__main__":
    main()
