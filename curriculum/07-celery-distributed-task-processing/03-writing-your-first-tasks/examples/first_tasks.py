"""Define tasks with @app.task, run a real worker on Redis, and read what comes back.

Run it as `python first_tasks.py`. It starts its own worker with the command you would type,
`celery -A first_tasks worker ...`, sends tasks to it, and stops it at the end. The worker is a
second process that imports this same file, so everything above `main()` is shared by both.
"""

import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypedDict

import redis
from celery import Celery, Task
from celery.exceptions import TimeoutError as ResultTimeout
from celery.utils.log import get_task_logger

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
# One queue and one key prefix per run, so parallel runs never share messages. The worker
# process inherits the variable, so it computes the same name as the process that started it.
NAMESPACE = os.environ.setdefault("S7_3_FIRST_TASKS", f"s7_3_first_tasks_{os.getpid()}")

app = Celery("first_tasks", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=NAMESPACE,
    broker_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
    result_backend_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
)
logger = get_task_logger(__name__)


class OrderLine(TypedDict):
    sku: str
    quantity: int
    unit_cents: int


@app.task
def order_total_cents(lines: list[OrderLine]) -> int:
    """The order's total in cents: a pure function of its arguments."""
    return sum(line["quantity"] * line["unit_cents"] for line in lines)


@app.task(bind=True)
def send_receipt(self: Task[Any, Any], order_id: int, email: str) -> dict[str, Any]:
    """A bound task: `self` is the task, and `self.request` describes this one delivery."""
    logger.info("sending receipt for order %s to %s", order_id, email)
    delivery = self.request.delivery_info or {}
    return {
        "task name": self.name,
        "args": self.request.args,
        "kwargs": self.request.kwargs,
        "retries so far": self.request.retries,
        "delivered through our queue": delivery.get("routing_key") == NAMESPACE,
        "id": self.request.id,
    }


@app.task
def load_order(order_id: int) -> dict[str, Any]:
    """Fails for an order that does not exist; the caller sees the same exception type."""
    raise LookupError(f"order {order_id} does not exist")


@app.task
def export_orders(seconds: float) -> str:
    """Stands in for a slow export that takes `seconds` to finish."""
    time.sleep(seconds)
    return "orders.csv written"


@app.task
def order_summary(lines: list[OrderLine]) -> str:
    """Wrong on purpose: waits for another task's result inside a task."""
    total = order_total_cents.delay(lines).get(timeout=5)
    return f"total {total}"


@contextmanager
def running_worker(log_path: Path) -> Iterator[None]:
    """Start `celery -A first_tasks worker` as a child process; always stop it."""
    command = [
        *(sys.executable, "-m", "celery", "-A", "first_tasks", "worker"),
        *("--queues", NAMESPACE, "--hostname", f"{NAMESPACE}@%h"),
        *("--pool", "solo", "--loglevel", "INFO"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=stop_with_parent
        )
        try:
            yield
        finally:
            worker.terminate()  # SIGTERM is a warm shutdown: the task in hand finishes first
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def delete_run_keys() -> int:
    """Remove this run's queue, bindings and results from Redis."""
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{NAMESPACE}*"))
    if keys:
        client.delete(*keys)
    client.close()
    return len(keys)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    lines: list[OrderLine] = [
        {"sku": "MUG-01", "quantity": 2, "unit_cents": 1250},
        {"sku": "TEA-07", "quantity": 3, "unit_cents": 499},
    ]

    print("1. Calling the task object like a function runs it here, in this process:")
    print(f"   order_total_cents(lines) = {order_total_cents(lines)}")

    try:
        with tempfile.TemporaryDirectory() as folder:
            log_path = Path(folder) / "worker.log"
            with running_worker(log_path):
                send_and_wait(lines)
                measure_costs(lines)
            print("8. The worker's log lines for the receipt task, without timestamps:")
            for line in log_path.read_text().splitlines():
                # A log line reads "[2026-01-05 09:30:00,123: INFO/MainProcess] message".
                if line.startswith("[") and "send_receipt[" in line:
                    message = line.split("] ", 1)[1].split(": {", 1)[0]
                    print(f"   {message}")
    finally:
        print(f"Stopped the worker; deleted this run's Redis keys: {delete_run_keys() > 0}")


def send_and_wait(lines: list[OrderLine]) -> None:
    """Everything that needs the worker running."""
    print("2. delay() sends a message and returns at once:")
    result = order_total_cents.delay(lines)
    print(f"   {type(result).__name__} id={result.id}")
    # The first result also waits for the worker to boot, so it gets the longest timeout.
    print(f"   get(timeout=20) = {result.get(timeout=20)}, state {result.state}")

    print("3. A bound task reads its own request:")
    receipt = send_receipt.delay(1042, email="ana@example.com")
    for key, value in receipt.get(timeout=10).items():
        if key == "id":
            print(f"   id: the same as the caller's AsyncResult.id: {value == receipt.id}")
        else:
            print(f"   {key}: {value!r}")

    print("4. An exception in the task is re-raised by get():")
    missing = load_order.delay(9999)
    try:
        missing.get(timeout=10)
    except LookupError as error:
        print(f"   LookupError: {error}; state {missing.state}")
    print(f"   get(propagate=False) returns it instead: {missing.get(propagate=False)!r}")
    print(f"   traceback kept by the backend: {str(missing.traceback).splitlines()[0]!r}")

    print("5. get() with a timeout shorter than the task:")
    export = export_orders.delay(1.5)
    try:
        export.get(timeout=0.2)
    except ResultTimeout as error:
        print(f"   celery.exceptions.TimeoutError: {error} (the task keeps running)")
    print(f"   waiting longer: {export.get(timeout=10)!r}")

    print("6. get() inside a task is refused by the worker:")
    try:
        order_summary.delay(lines).get(timeout=10)
    except RuntimeError as error:
        print(f"   RuntimeError: {str(error).splitlines()[0]}")


def measure_costs(lines: list[OrderLine]) -> None:
    """What a direct call, a send and a full round trip cost on this machine, this run."""
    print("7. Costs measured in this run (they vary with the machine and its load):")
    calls = 2000
    started = time.perf_counter()
    for _ in range(calls):
        order_total_cents(lines)
    direct_us = (time.perf_counter() - started) / calls * 1e6
    print(f"   calling the task object:     {direct_us:.1f} µs per call")

    trips: list[float] = []
    for _ in range(50):
        started = time.perf_counter()
        order_total_cents.delay(lines).get(timeout=10)
        trips.append((time.perf_counter() - started) * 1e3)
    trips.sort()
    median, p95 = trips[len(trips) // 2], trips[len(trips) * 95 // 100]
    print(f"   delay().get(), in sequence:  {median:.1f} ms median, {p95:.1f} ms p95")

    sends = 200
    started = time.perf_counter()
    for _ in range(sends):
        order_total_cents.apply_async((lines,), ignore_result=True)
    send_ms = (time.perf_counter() - started) / sends * 1e3
    print(f"   apply_async(), no result:    {send_ms:.2f} ms per send")


def stop_with_parent() -> None:
    """Run in the worker's process before it starts: on Linux, ask the kernel to send it SIGTERM
    if this script dies without reaching its `finally` (killed at a timeout, for instance)."""
    import ctypes
    import signal

    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


if __name__ == "__main__":
    main()
