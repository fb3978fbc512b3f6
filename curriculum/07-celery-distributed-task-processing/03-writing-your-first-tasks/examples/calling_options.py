"""delay() and apply_async(): countdown, eta, expires, queue and task_id on a real worker.

Time is compressed: seconds stand in for the minutes and hours a real system would use.
"""

import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis
from celery import Celery, Task
from celery.exceptions import TaskRevokedError
from celery.utils.log import get_task_logger

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NAMESPACE = os.environ.setdefault("S7_3_CALLING", f"s7_3_calling_{os.getpid()}")
EXPORTS_QUEUE = f"{NAMESPACE}.exports"  # a queue that this run's worker does not consume

app = Celery("calling_options", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=NAMESPACE,
    broker_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
    result_backend_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
)
logger = get_task_logger(__name__)
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


def runs_key(invoice_id: int) -> str:
    return f"{NAMESPACE}:reminder-runs:{invoice_id}"


@app.task(bind=True)
def send_reminder(self: Task[Any, Any], invoice_id: int, channel: str = "email") -> dict[str, Any]:
    """Send a payment reminder; count the runs per invoice so duplicates are visible."""
    runs = store.incr(runs_key(invoice_id))
    logger.info("reminder for invoice %s by %s (run %s)", invoice_id, channel, runs)
    return {"invoice": invoice_id, "channel": channel, "started": time.time(), "runs": runs}


@contextmanager
def running_worker(log_path: Path) -> Iterator[None]:
    command = [
        *(sys.executable, "-m", "celery", "-A", "calling_options", "worker"),
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
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def delete_run_keys() -> None:
    keys = list(store.scan_iter(match=f"{NAMESPACE}*"))
    if keys:
        store.delete(*keys)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        with tempfile.TemporaryDirectory() as folder, running_worker(Path(folder) / "worker.log"):
            call_the_worker()
    finally:
        delete_run_keys()


def call_the_worker() -> None:
    print("1. delay(*args, **kwargs) is apply_async(args, kwargs) with no options:")
    by_delay = send_reminder.delay(7, channel="sms")
    by_apply = send_reminder.apply_async((7,), {"channel": "sms"})
    first, second = by_delay.get(timeout=20), by_apply.get(timeout=10)
    print(f"   delay -> {first['channel']} for {first['invoice']}; ", end="")
    print(f"apply_async -> {second['channel']} for {second['invoice']}")

    print("2. countdown, eta and expires, sent together (2 s here, hours in production):")
    sent = time.time()
    delayed = send_reminder.apply_async((11,), countdown=2)
    scheduled = send_reminder.apply_async((12,), eta=datetime.now(UTC) + timedelta(seconds=2))
    stale = send_reminder.apply_async((13,), countdown=2, expires=1)
    for option, result in (("countdown=2", delayed), ("eta=now+2s", scheduled)):
        waited = result.get(timeout=10)["started"] - sent
        print(f"   {option}: started {waited:.1f} s after sending; at least 2 s: {waited >= 2}")
    try:
        stale.get(timeout=10)
    except TaskRevokedError as error:
        print(f"   countdown=2, expires=1: TaskRevokedError({error}), state {stale.state}")
    print(f"   runs recorded for invoice 13: {int(store.get(runs_key(13)) or 0)}")

    print("3. queue: a message sent to a queue that no worker consumes just waits there:")
    export = send_reminder.apply_async((14,), queue=EXPORTS_QUEUE)
    waiting = store.llen(f"{NAMESPACE}:{EXPORTS_QUEUE}")
    print(f"   state {export.state}; messages in the exports queue: {waiting}")
    export.forget()  # stop listening for a result that will never come

    print("4. task_id: you choose the id; it names the result, it does not deduplicate:")
    first_send = send_reminder.apply_async((15,), task_id="reminder-invoice-15")
    print(f"   send 1: id {first_send.id!r}, run {first_send.get(timeout=10)['runs']}")
    # A client retrying the same request a second later, with the same id:
    second_send = send_reminder.apply_async((15,), task_id="reminder-invoice-15", countdown=1)
    print(f"   send 2: id {second_send.id!r}, get() -> run {second_send.get(timeout=10)['runs']}")
    deadline = time.monotonic() + 10
    while int(store.get(runs_key(15)) or 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    print(f"   runs recorded for invoice 15: {int(store.get(runs_key(15)) or 0)}")


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
