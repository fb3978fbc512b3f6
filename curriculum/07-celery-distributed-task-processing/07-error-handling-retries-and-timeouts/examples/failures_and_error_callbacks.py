"""What happens when a task fails: the stored exception, error callbacks, hooks and logs.

- capture_payment raises CardDeclined, a business failure declared in `throws`
- post_to_ledger raises LedgerMismatch, whose constructor does not survive serialization
- link_error attaches two errbacks; on_failure and the task_failure signal see every failure

Run it with `python failures_and_error_callbacks.py`: it starts its own worker and stops it.
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
from typing import Any

import redis
from celery import Celery, Task
from celery.result import AsyncResult
from celery.signals import task_failure
from celery.utils.log import get_task_logger

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_7_failures_{os.getpid()}"  # one namespace per run; forked workers inherit it

app = Celery("failures_and_error_callbacks", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue="payments",
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    result_expires=300,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("payments")
task_log = get_task_logger("payments.tasks")
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


def record(line: str) -> None:
    """The worker's side channel: the driver prints these lines in the order they happened."""
    store.rpush(f"{RUN}:events", line)


class CardDeclined(Exception):
    """A business outcome, not a bug: every constructor argument goes to super().__init__."""

    def __init__(self, order_id: int, reason: str) -> None:
        super().__init__(order_id, reason)
        self.order_id = order_id
        self.reason = reason

    def __str__(self) -> str:
        return f"card declined for order {self.order_id}: {self.reason}"


class LedgerMismatch(Exception):
    """A common mistake: the constructor takes two values but passes one message up."""

    def __init__(self, expected: int, booked: int) -> None:
        super().__init__(f"ledger off by {booked - expected} cents")
        self.expected = expected
        self.booked = booked


class PaymentTask(Task[Any, Any]):
    """Base class for payment tasks: one place to react to any failure of any of them."""

    def on_failure(self, exc: Exception, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        record(f"  on_failure hook     {self.name.rsplit('.', 1)[1]}: {type(exc).__name__}")


@task_failure.connect
def report_to_error_tracker(sender: Task[Any, Any], exception: Exception, **_: Any) -> None:
    # Process-wide: where a Sentry-style integration hooks in.
    record(f"  task_failure signal {sender.name.rsplit('.', 1)[1]}: {type(exception).__name__}")


@app.task(base=PaymentTask, throws=(CardDeclined,))
def capture_payment(order_id: int, amount_cents: int) -> str:
    task_log.info("capturing %d cents for order %d", amount_cents, order_id)
    raise CardDeclined(order_id, "insufficient_funds")


@app.task(base=PaymentTask)
def post_to_ledger(order_id: int, amount_cents: int) -> str:
    raise LedgerMismatch(expected=amount_cents, booked=amount_cents + 1)


@app.task
def log_payment_failure(request: Any, exc: Exception, traceback: str) -> None:
    """New-style errback (three parameters): called inline by the worker that ran the task."""
    inline = log_payment_failure.request.called_directly
    record(f"  errback (inline={inline}) got {exc!r} for task {request.task.rsplit('.', 1)[1]}")


@app.task(bind=True)
def release_stock(self: Task[Any, Any], failed_task_id: str, order_id: int) -> None:
    """Old-style errback (bound, or one parameter): sent as a new message with the task id."""
    failed: AsyncResult[Any] = AsyncResult(failed_task_id, app=app)
    record(
        f"  errback (inline={self.request.called_directly}) release_stock for order {order_id}, "
        f"looked up the failure: {type(failed.result).__name__}"
    )
    store.rpush(f"{RUN}:released", order_id)


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


def failure_log_lines(log_path: str) -> list[str]:
    """The worker's own log lines about the two failures, task ids masked."""
    pattern = re.compile(r"\[[^]]*: (\w+)/[\w-]+\] (Task \S+ raised .*)")
    with open(log_path) as handle:
        raw_lines = handle.read().splitlines()
    lines = []
    for number, raw in enumerate(raw_lines):
        match = pattern.search(raw)
        if match:
            message = re.sub(r"\[[0-9a-f-]{36}\]", "[<id>]", match.group(2))
            message = message.replace(f"{app.main}.", "").split("(")[0]
            traced = number + 1 < len(raw_lines) and raw_lines[number + 1].startswith("Traceback")
            lines.append(f"  {match.group(1):<5} {message}" + (" + traceback" if traced else ""))
    return sorted(lines)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    with tempfile.TemporaryDirectory() as tmp:
        worker_log = os.path.join(tmp, "worker.log")
        worker = start_worker(worker_log)
        try:
            payment = capture_payment.apply_async(
                (1042, 1999), link_error=[log_payment_failure.s(), release_stock.s(1042)]
            )
            ledger = post_to_ledger.delay(1043, 500)

            print("1. what the caller gets back")
            for name, result in (("capture_payment", payment), ("post_to_ledger", ledger)):
                try:
                    result.get(timeout=20)
                except Exception as exc:
                    print(f"  {name}: state={result.state} raised {type(exc).__name__}: {exc}")
                    same = type(exc).__module__ == __name__
                    print(f"    same class as the worker raised: {same}")
                    last = str(result.traceback).strip().splitlines()[-1]
                    print(f"    stored traceback ends with: {last}")
            declined = payment.result
            assert isinstance(declined, CardDeclined)
            print(f"  CardDeclined kept its fields: order_id={declined.order_id}, "
                  f"reason={declined.reason}")  # fmt: skip

            deadline = time.monotonic() + 10
            while not store.llen(f"{RUN}:released") and time.monotonic() < deadline:
                time.sleep(0.05)
            print("2. what ran in the worker, in order")
            for line in store.lrange(f"{RUN}:events", 0, -1):
                print(str(line))
            print("3. what the worker logged")
            for line in failure_log_lines(worker_log):
                print(line)
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
