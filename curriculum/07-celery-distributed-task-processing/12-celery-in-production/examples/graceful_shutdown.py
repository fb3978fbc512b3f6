"""Warm and cold shutdown of a real prefork worker on RabbitMQ, with and without acks_late.

Part 1 sends SIGTERM (what systemd, Docker and Kubernetes send first) while two tasks run and
two more wait in the worker's prefetch buffer, then a second SIGTERM. Part 2 sends SIGQUIT (a
cold shutdown) while two tasks run. Part 3 sends SIGQUIT to a worker configured with
worker_soft_shutdown_timeout (Celery 5.5+). Redis records what the tasks did and holds results.
SIGTERM to the whole process group is process_group_sigterm.py, beside this file.
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
RUN = f"s7_12_stop_{os.getpid()}"  # one namespace per run; forked workers inherit it
QUEUE = f"{RUN}.billing"

app = Celery("billing", broker=RABBITMQ_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=QUEUE,
    worker_prefetch_multiplier=2,  # 2 processes x 2: the worker reserves up to 4 messages
    worker_enable_remote_control=False,
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    broker_transport_options={"confirm_publish": True},  # depth reads see every publish
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("billing.shutdown")
SHUTDOWN_LINE = re.compile(r"worker: \w+ shutdown \(MainProcess\)|Initiating Soft Shutdown.*")
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


def record(task: Task[Any, Any], what: str) -> None:
    call = f"{task.name.rsplit('.', 1)[1]}({(task.request.args or ['?'])[0]})"
    redelivered = bool((task.request.delivery_info or {}).get("redelivered"))
    note = " (redelivered)" if redelivered and what == "started" else ""
    store.rpush(f"{RUN}:events", f"{os.environ.get('S7_12_NODE', '?')}: {call} {what}{note}")
    store.incr(f"{RUN}:{what}")


@app.task(bind=True, name="billing.render_invoice")
def render_invoice(self: Task[Any, Any], invoice_id: int) -> str:
    """Early acknowledgement (the default): the message is gone once the task starts."""
    record(self, "started")
    time.sleep(0.5)  # rendering the PDF
    record(self, "finished")
    return "rendered"


@app.task(bind=True, name="billing.capture_payment", acks_late=True)
def capture_payment(self: Task[Any, Any], invoice_id: int) -> str:
    """acks_late: the message stays unacknowledged until the task returns."""
    record(self, "started")
    time.sleep(0.5)  # waiting for the payment gateway
    record(self, "finished")
    return "captured"


# --- worker harness -------------------------------------------------------------------------


def keep_loop_awake(sender: Any, **_: Any) -> None:
    """Section 7.4's workaround: lets a worker act on a signal without waiting for an event."""
    sender.timer.call_repeatedly(0.25, lambda: None)


def run_worker(node: str, log_path: str, soft_shutdown: float) -> None:
    """A forked child that becomes a real prefork worker; its log goes to a file."""
    os.setsid()  # its own process group, so a failed run can killpg() the pool children too
    os.environ["S7_12_NODE"] = node
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    app.conf.worker_soft_shutdown_timeout = soft_shutdown
    worker_ready.connect(keep_loop_awake, weak=False)
    worker = app.Worker(
        hostname=f"{node}@{RUN}", pool="prefork", concurrency=2, loglevel="INFO", quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode or 0)


def start_worker(node: str, log_path: str, soft_shutdown: float = 0.0) -> Any:
    sys.stdout.flush()
    process = multiprocessing.get_context("fork").Process(
        target=run_worker, args=(node, log_path, soft_shutdown)
    )
    process.start()
    return process


def send(task: Task[Any, Any], invoice_id: int) -> AsyncResult[Any]:
    """Publish on a connection opened after the workers were forked, so no child shares it."""
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


def stop(worker: Any, how: signal.Signals) -> int:
    """Send one signal to the worker's main process, wait for it to exit, return its exit code."""
    os.kill(worker.pid, how)
    return wait_exit(worker)


def wait_exit(worker: Any) -> int:
    worker.join(20)
    if worker.is_alive():
        log.error("worker %s did not exit; killing its process group", worker.pid)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.join()
    return int(worker.exitcode)


def print_events(seen: int) -> int:
    events = [str(line) for line in store.lrange(f"{RUN}:events", seen, -1)]
    for line in sorted(events, key=lambda line: line.split(")")[0]):  # group by task
        print(f"   {line}")
    return seen + len(events)


def state(result: AsyncResult[Any]) -> str:
    """The state in the result backend, and the type of what is stored with it."""
    return f"{result.state} (stored: {type(result.result).__name__})"


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    workers: list[Any] = []
    with tempfile.TemporaryDirectory() as tmp, Connection(RABBITMQ_URL) as connection:
        log_path = os.path.join(tmp, "workers.log")
        try:
            print("1. SIGTERM: warm shutdown while 2 tasks run and 2 wait in the prefetch buffer")
            worker = start_worker("A", log_path)
            workers.append(worker)
            send(render_invoice, 101)
            send(capture_payment, 101)
            wait_for("started", 2)
            send(render_invoice, 102)  # reserved by A, but both processes are busy
            send(capture_payment, 102)
            deadline = time.monotonic() + 10
            while queue_depth(connection)[0] and time.monotonic() < deadline:
                time.sleep(0.05)  # until A has reserved both
            print(f"   queue before SIGTERM: ready={queue_depth(connection)[0]}")
            os.kill(worker.pid, signal.SIGTERM)
            time.sleep(0.3)
            code = stop(worker, signal.SIGTERM)  # a second SIGTERM: it does not escalate
            seen = print_events(0)
            ready, consumers = queue_depth(connection)
            print(f"   worker A exit code {code}; queue: ready={ready} consumers={consumers}")

            print("2. worker B drains the queue, then gets SIGQUIT (cold) mid-task")
            worker = start_worker("B", log_path)
            workers.append(worker)
            wait_for("finished", 4)
            seen = print_events(seen)
            lost = send(render_invoice, 103)
            kept = send(capture_payment, 103)
            wait_for("started", 6)
            code = stop(worker, signal.SIGQUIT)
            seen = print_events(seen)
            ready, consumers = queue_depth(connection)
            print(f"   worker B exit code {code}; queue: ready={ready} consumers={consumers}")
            print(f"   render_invoice(103) state: {state(lost)}")
            print(f"   capture_payment(103) state: {state(kept)}")

            print("3. worker C has worker_soft_shutdown_timeout=1.0; SIGQUIT mid-task")
            worker = start_worker("C", log_path, soft_shutdown=1.0)
            workers.append(worker)
            send(render_invoice, 104)
            wait_for("started", 8)  # render_invoice(104) and the requeued capture_payment(103)
            code = stop(worker, signal.SIGQUIT)
            seen = print_events(seen)
            ready, consumers = queue_depth(connection)
            print(f"   worker C exit code {code}; queue: ready={ready} consumers={consumers}")
            events = [str(line) for line in store.lrange(f"{RUN}:events", 0, -1)]
            finished = any(line.endswith("render_invoice(103) finished") for line in events)
            print(f"   render_invoice(103) finished on any worker: {finished}")

            with open(log_path) as handle:
                said = Counter(
                    found[0] for line in handle if (found := SHUTDOWN_LINE.findall(line))
                )
            print("4. what the three workers logged about shutting down (line: times)")
            for line, times in sorted(said.items()):
                print(f"   {line}: {times}")
        except Exception:
            log.exception("example failed; worker log follows")
            with open(log_path) as handle:
                print(handle.read()[-4000:])
            raise
        finally:
            for worker in workers:
                if worker.is_alive():
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
