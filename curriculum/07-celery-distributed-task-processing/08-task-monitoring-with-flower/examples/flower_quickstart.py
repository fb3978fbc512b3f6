"""Flower started for real next to a real worker, then read through its web UI and HTTP API.

The script forks a Celery worker (events on), starts `celery -A flower_quickstart flower` as a
subprocess on a free port, sends a few billing tasks, and reads what Flower saw: the pages of
the web UI, /api/workers, /api/tasks, /api/task/info/<id> and /api/task/types.

Run it with `python flower_quickstart.py`. It needs Redis (broker and result backend) and stops
Flower and the worker at the end, even when something fails.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import redis
from celery import Celery, Task

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
# One namespace per run. Flower imports this module in its own process, and setdefault puts
# the name into the environment it inherits, so both processes agree on it.
RUN = os.environ.setdefault("S7_8_QUICKSTART", f"s7_8_quickstart_{os.getpid()}")
WORKER = f"billing@{RUN}"
EXAMPLES_DIR = os.path.dirname(os.path.abspath(__file__))

app = Celery("flower_quickstart", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue="billing",
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    event_exchange=f"{RUN}.ev",  # this run's events and remote control, not anyone else's
    control_exchange=f"{RUN}.ctl",
    worker_send_task_events=True,  # the worker's task-received/started/succeeded/... events
    task_send_sent_event=True,  # the client's task-sent event, so Flower sees queued tasks
    result_expires=300,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("billing")


class CardDeclined(Exception):
    """The payment provider refused the charge."""


@app.task
def capture_payment(order_id: int, cents: int) -> str:
    if cents <= 0:
        raise CardDeclined(f"order {order_id}: amount must be positive, got {cents}")
    return f"captured {cents} cents for order {order_id}"


@app.task(bind=True, max_retries=3)
def sync_invoice(self: Task[Any, Any], invoice_id: str) -> str:
    if self.request.retries == 0:  # the accounting API is busy on the first attempt
        raise self.retry(exc=TimeoutError("accounting API timed out"), countdown=0.2)
    return f"{invoice_id} synced"


def die_with_parent(signum: int) -> None:
    """In a child process, before it starts: on Linux, have the kernel send it `signum` if this
    script dies without reaching its `finally` (killed at a CI timeout, for instance)."""
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signum)


def run_worker(log_path: str) -> None:
    """The child process: a real Celery worker, forked so it need not import Celery again."""
    os.setsid()
    die_with_parent(signal.SIGTERM)  # a warm shutdown that also stops the pool processes
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = app.Worker(
        hostname=WORKER, pool="prefork", concurrency=2, loglevel="INFO", quiet=True,
        without_gossip=True, without_mingle=True,
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


def start_flower(workdir: str, log_path: str, *options: str) -> tuple[subprocess.Popen[bytes], str]:
    """`celery -A flower_quickstart flower` on a free port; returns the process and its URL."""
    env = {**os.environ, "PYTHONPATH": EXAMPLES_DIR, "FLOWER_UNAUTHENTICATED_API": "true"}
    command = [sys.executable, "-m", "celery", "-A", "flower_quickstart", "flower"]
    with open(log_path, "wb") as log_file:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [*command, "--address=127.0.0.1", "--port=0", *options],
            cwd=workdir,  # Flower reads ./flowerconfig.py if there is one: use an empty dir
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: die_with_parent(signal.SIGKILL),
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with open(log_path) as handle:
            banner = re.search(r"Visit me at http://127\.0\.0\.1:(\d+)", handle.read())
        if banner:
            return process, f"http://127.0.0.1:{banner.group(1)}"
        if process.poll() is not None:
            break
        time.sleep(0.1)
    stop_flower(process)  # never leave behind a Flower that failed to come up
    raise RuntimeError("Flower did not start")


def stop_flower(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()  # SIGTERM: Flower exits cleanly (and saves state when persistent)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.1)


def masked(text: str) -> str:
    return text.replace(RUN, "<run>")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # no line per request
    store = redis.Redis.from_url(REDIS_URL)
    with tempfile.TemporaryDirectory() as tmp:
        worker_log, flower_log = os.path.join(tmp, "worker.log"), os.path.join(tmp, "flower.log")
        worker = start_worker(worker_log)
        flower: subprocess.Popen[bytes] | None = None
        try:
            flower, url = start_flower(tmp, flower_log)
            http = httpx.Client(base_url=url, timeout=10)
            wait_until(lambda: http.get("/healthcheck").text == "OK", "Flower's /healthcheck")
            print("1. Flower is up: GET /healthcheck -> OK")

            # refresh=1 makes Flower run its inspect calls now instead of using its cache.
            wait_until(
                lambda: WORKER in http.get("/api/workers", params={"refresh": 1}).json(),
                "the worker to answer Flower's inspect calls",
            )
            info = http.get("/api/workers").json()[WORKER]
            stats = info["stats"]
            print("2. GET /api/workers: what Flower's inspect calls returned")
            print(f"  worker {masked(WORKER)}: pool {stats['pool']['implementation']}")
            concurrency, prefetch = stats["pool"]["max-concurrency"], stats["prefetch_count"]
            print(f"  max-concurrency {concurrency}, prefetch_count {prefetch}")
            print(f"  consuming from {[queue['name'] for queue in info['active_queues']]}")
            mine = [name for name in info["registered"] if not name.startswith("celery.")]
            print(f"  registered tasks {mine}")
            print(f"  info sections: {sorted(info)}")

            results = [capture_payment.delay(order_id, 1299) for order_id in (5001, 5002, 5003)]
            declined = capture_payment.delay(5004, 0)
            retried = sync_invoice.delay("INV-2024-0042")
            for result in [*results, declined, retried]:
                result.get(timeout=15, propagate=False)

            def finished() -> bool:
                tasks = http.get("/api/tasks").json()
                done = [t for t in tasks.values() if t["state"] in ("SUCCESS", "FAILURE")]
                return len(done) == 5

            wait_until(finished, "Flower to see all five tasks finish")  # events are async
            tasks: dict[str, dict[str, Any]] = http.get("/api/tasks").json()
            print("3. GET /api/tasks: five tasks, rebuilt from events")
            states = Counter((t["name"].rsplit(".", 1)[1], t["state"]) for t in tasks.values())
            for (name, state), count in sorted(states.items()):
                print(f"  {name:<16} {state:<8} x{count}")
            failed = http.get("/api/tasks", params={"state": "FAILURE"}).json()
            for task in failed.values():
                print(f"  ?state=FAILURE -> args={task['args']} exception={task['exception']}")

            detail = http.get(f"/api/task/info/{retried.id}").json()
            print(f"4. GET /api/task/info/<id> of sync_invoice ({len(detail)} fields)")
            for field in ("name", "state", "args", "result", "retries", "worker"):
                print(f"  {field:<9} {masked(str(detail[field]))}")
            timestamps = [f for f in ("sent", "received", "started", "succeeded") if detail[f]]
            print(f"  timestamps set: {timestamps}; runtime set: {detail['runtime'] is not None}")
            unknown = http.get("/api/task/info/no-such-task")
            print(f"  unknown id -> {unknown.status_code} {unknown.text}")

            types = http.get("/api/task/types").json()["task-types"]
            print(f"5. GET /api/task/types -> {[name.rsplit('.', 1)[1] for name in types]}")

            print("6. The web UI: the same data as HTML pages")
            for page in ("/", "/tasks", "/broker", f"/worker/{WORKER}", f"/task/{retried.id}"):
                response = http.get(page)
                title = re.search(r"<title>(.*?)</title>", response.text, re.S)
                shown = masked(page).replace(retried.id, "<task-id>")
                heading = masked(title.group(1).strip()) if title else "-"
                heading = heading.replace(retried.id[:8], "<id[:8]>")
                print(f"  GET {shown:<22} {response.status_code}  title: {heading}")
        except Exception:
            log.exception("example failed; worker and Flower logs follow")
            for path in (worker_log, flower_log):
                with open(path) as handle:
                    print(handle.read()[-3000:])
            raise
        finally:
            if flower is not None:
                stop_flower(flower)
            stop_worker(worker)
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
