"""Acting on a result without waiting for it, and why a task must not wait for one.

1. link: the callback is a new task that receives the return value; result.children has it
2. on_success / after_return on a base class, and the task_success signal, in order
3. an on_success handler that raises does not turn a stored SUCCESS into a failure
4. result.get() inside a task: RuntimeError, and with disable_sync_subtasks=False, a deadlock

Run it with `python result_callbacks.py`: it starts its own worker and stops it.
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
from typing import Any, cast

import redis
from celery import Celery, Task
from celery.result import AsyncResult
from celery.signals import task_success

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_6_callbacks_{os.getpid()}"  # one namespace per run; the forked worker inherits it

app = Celery("result_callbacks", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue="billing",
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    result_expires=300,
    result_extended=True,  # so that a child result can tell its task name
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("billing")
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


def record(line: str) -> None:
    """The worker's side channel: the driver prints these lines in the order they happened."""
    store.rpush(f"{RUN}:events", line)


def short(name: str | None) -> str:
    return str(name).rsplit(".", 1)[-1]


class BillingTask(Task[Any, Any]):
    """Handlers every billing task shares; they run in the worker, after the state is stored."""

    def on_success(self, retval: Any, task_id: str, args: Any, kwargs: Any) -> None:
        record(f"  on_success    {short(self.name)} -> {retval}")
        if args == [13]:
            raise ConnectionError("metrics endpoint down")  # a broken side effect

    def after_return(
        self, status: str, retval: Any, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        record(f"  after_return  {short(self.name)} status={status}")


@task_success.connect
def count_success(sender: Task[Any, Any], result: Any, **_: Any) -> None:
    record(f"  task_success  {short(sender.name)} (signal: process-wide, every task)")


@app.task(base=BillingTask)
def generate_invoice(order_id: int) -> dict[str, Any]:
    record(f"  task body     generate_invoice({order_id})")
    if order_id < 0:
        raise ValueError(f"order id must be positive, got {order_id}")
    return {"invoice": f"INV-{order_id}", "order_id": order_id}


@app.task
def email_invoice(invoice: dict[str, Any], channel: str) -> str:
    record(f"  link callback email_invoice({invoice}, {channel!r})")
    return f"{invoice['invoice']} sent by {channel}"


@app.task
def month_end_blocking(order_ids: list[int]) -> list[Any]:
    """The anti-pattern: wait for sub-tasks inside a task."""
    return [generate_invoice.delay(order_id).get(timeout=2) for order_id in order_ids]


@app.task
def month_end_forced(order_ids: list[int]) -> list[Any]:
    """The same, forced: the only worker process waits for work queued behind itself."""
    pending = [generate_invoice.delay(order_id) for order_id in order_ids]
    return [p.get(timeout=2, disable_sync_subtasks=False) for p in pending]


def run_worker(log_path: str) -> None:
    """The child process: a real Celery worker, forked so it need not import Celery again."""
    os.setsid()
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = app.Worker(
        pool="solo", loglevel="INFO", quiet=True,
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


def drain_events() -> None:
    for line in store.lpop(f"{RUN}:events", 100) or []:
        print(line)


def wait_for_events(count: int) -> None:
    deadline = time.monotonic() + 10
    while store.llen(f"{RUN}:events") < count and time.monotonic() < deadline:
        time.sleep(0.02)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    with tempfile.TemporaryDirectory() as tmp:
        worker_log = os.path.join(tmp, "worker.log")
        worker = start_worker(worker_log)
        try:
            print("1. link: a callback task that receives the result")
            invoice = generate_invoice.apply_async((1042,), link=email_invoice.s("email"))
            print(f"  get() -> {invoice.get(timeout=20)}")
            children = cast(list[AsyncResult[Any]], invoice.children or [])
            print(f"  the callback's own result: {children[0].get(timeout=20)}")
            print(f"  invoice.children: {[short(child.name) for child in children]}")
            wait_for_events(6)
            print("  what ran in the worker, in order:")
            drain_events()

            print("2. a failure: on_success and task_success stay silent")
            failed = generate_invoice.delay(-1)
            print(f"  get(propagate=False) -> {failed.get(timeout=20, propagate=False)!r}")
            wait_for_events(2)
            drain_events()

            print("3. on_success raises after SUCCESS was stored")
            flaky = generate_invoice.delay(13)
            flaky.get(timeout=20)
            print(f"  state={flaky.state}")
            wait_for_events(4)
            drain_events()
            with open(worker_log) as handle:
                logged = re.findall(r"on_success handler raised: (.*)", handle.read())
            print(f"  the worker logged: on_success handler raised: {logged[0]}")

            print("4. waiting for a result inside a task")
            blocking = month_end_blocking.delay([2001, 2002])
            outcome = blocking.get(timeout=20, propagate=False)
            reason = str(outcome).splitlines()[0]
            print(f"  month_end_blocking: {blocking.state} {type(outcome).__name__}: {reason}")
            forced = month_end_forced.delay([3001])
            outcome = forced.get(timeout=20, propagate=False)
            print(f"  month_end_forced:   {forced.state} {type(outcome).__name__}: {outcome}")
            wait_for_events(8)  # two sub-tasks, four lines each
            print("  the sub-tasks they sent ran after their parents had failed:")
            for line in store.lrange(f"{RUN}:events", 0, -1):
                if "task body" in line:
                    print(f"  {line!s}")
        except Exception:
            log.exception("example failed; worker log follows")
            with open(worker_log) as handle:
                print(handle.read()[-3000:])
            raise
        finally:
            stop_worker(worker)
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
