"""SIGTERM to a worker's whole process group, as systemd's default KillMode=control-group sends it.

A real prefork worker with two pool children runs two tasks on RabbitMQ: one acknowledged early
(the default), one with acks_late. Then every process of the worker, the main process and both
children, receives SIGTERM at the same moment. Redis records what the tasks did and holds their
results. graceful_shutdown.py, beside this file, sends the same signal to the main process only.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from typing import Any

import amqp
import redis
from celery import Celery, Task
from celery.result import AsyncResult
from celery.signals import worker_ready
from kombu import Connection

RABBITMQ_URL = os.environ.get("PYMASTERY_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_12_killpg_{os.getpid()}"  # one namespace per run; the forked worker inherits it
QUEUE = f"{RUN}.billing"

app = Celery("billing", broker=RABBITMQ_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=QUEUE,
    worker_prefetch_multiplier=2,
    worker_enable_remote_control=False,
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    broker_transport_options={"confirm_publish": True},  # depth reads see every publish
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("billing.killpg")
SHUTDOWN_LINE = re.compile(r"worker: \w+ shutdown \(MainProcess\)|Process .* exited with .*")
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


def record(task: Task[Any, Any], what: str) -> None:
    call = f"{task.name.rsplit('.', 1)[1]}({(task.request.args or ['?'])[0]})"
    store.rpush(f"{RUN}:events", f"{call} {what}")
    store.incr(f"{RUN}:{what}")


@app.task(bind=True, name="billing.render_invoice")
def render_invoice(self: Task[Any, Any], invoice_id: int) -> str:
    """Early acknowledgement (the default): the message is gone once the task starts."""
    record(self, "started")
    time.sleep(2.0)  # rendering the PDF; long enough that the signal always lands mid-task
    record(self, "finished")
    return "rendered"


@app.task(bind=True, name="billing.capture_payment", acks_late=True)
def capture_payment(self: Task[Any, Any], invoice_id: int) -> str:
    """acks_late: the message stays unacknowledged until the task returns."""
    record(self, "started")
    time.sleep(2.0)  # waiting for the payment gateway
    record(self, "finished")
    return "captured"


# --- worker harness -------------------------------------------------------------------------


def keep_loop_awake(sender: Any, **_: Any) -> None:
    """Section 7.4's workaround: lets a worker act on a signal without waiting for an event."""
    sender.timer.call_repeatedly(0.25, lambda: None)


def run_worker(log_path: str) -> None:
    """A forked child that becomes a real prefork worker; its log goes to a file."""
    os.setsid()  # its own process group: the main process and the pool children it forks
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    worker_ready.connect(keep_loop_awake, weak=False)
    worker = app.Worker(
        hostname=f"billing@{RUN}", pool="prefork", concurrency=2, loglevel="INFO", quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode or 0)


def start_worker(log_path: str) -> Any:
    sys.stdout.flush()
    process = multiprocessing.get_context("fork").Process(target=run_worker, args=(log_path,))
    process.start()
    return process


def send(task: Task[Any, Any], invoice_id: int) -> AsyncResult[Any]:
    """Publish on a connection opened after the worker was forked, so no child shares it."""
    with app.connection_for_write() as connection, connection.Producer() as producer:
        return task.apply_async((invoice_id,), producer=producer)


def wait_for(counter: str, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while int(store.get(f"{RUN}:{counter}") or 0) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{counter} did not reach {count}")
        time.sleep(0.05)


def queue_depth(connection: Connection) -> tuple[int, int]:
    """(ready messages, consumers), from a passive declare: what RabbitMQ itself reports."""
    channel = connection.default_channel
    assert isinstance(channel, amqp.Channel)
    declared = channel.queue_declare(queue=QUEUE, passive=True)
    assert declared is not None
    _, ready, consumers = declared
    return ready, consumers


def wait_exit(worker: Any) -> int:
    worker.join(20)
    if worker.is_alive():
        log.error("worker %s did not exit; killing its process group", worker.pid)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.join()
    return int(worker.exitcode)


def state(result: AsyncResult[Any]) -> str:
    """The state in the result backend, and the type of what is stored with it."""
    return f"{result.state} (stored: {type(result.result).__name__})"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    worker: Any = None
    with tempfile.TemporaryDirectory() as tmp, Connection(RABBITMQ_URL) as connection:
        log_path = os.path.join(tmp, "worker.log")
        try:
            print("1. SIGTERM to the worker's process group: main process and both pool children")
            worker = start_worker(log_path)
            killed = send(render_invoice, 105)
            failed = send(capture_payment, 105)
            wait_for("started", 2)
            os.killpg(worker.pid, signal.SIGTERM)  # what systemd's KillMode=control-group does
            code = wait_exit(worker)
            for line in sorted(str(event) for event in store.lrange(f"{RUN}:events", 0, -1)):
                print(f"   {line}")
            ready, consumers = queue_depth(connection)
            print(f"   worker exit code {code}; queue: ready={ready} consumers={consumers}")
            print(f"   render_invoice(105) state: {state(killed)}")
            print(f"   capture_payment(105) state: {state(failed)}")

            with open(log_path) as handle:
                said = Counter(
                    re.sub(r"ForkPoolWorker-\d+' pid:\d+", "ForkPoolWorker-N' pid:N", found[0])
                    for line in handle
                    if (found := SHUTDOWN_LINE.findall(line))
                )
            print("2. what the worker logged about shutting down (line: times)")
            for line, times in sorted(said.items()):
                print(f"   {line}: {times}")
        except Exception:
            log.exception("example failed; worker log follows")
            with open(log_path) as handle:
                print(handle.read()[-4000:])
            raise
        finally:
            if worker is not None and worker.is_alive():
                os.killpg(worker.pid, signal.SIGKILL)
                worker.join()
            channel = connection.default_channel
            assert isinstance(channel, amqp.Channel)
            channel.queue_delete(QUEUE)
            channel.exchange_delete(QUEUE)
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
