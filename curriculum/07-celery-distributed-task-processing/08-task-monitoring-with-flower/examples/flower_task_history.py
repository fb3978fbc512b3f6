"""Flower's task history: an in-memory LRU of max_tasks tasks, searchable, and kept across a
restart only in persistent mode.

The script runs eight statement tasks through a real worker while Flower watches with
--max_tasks=5 --persistent=True, then queries the history (filters, paging, search), restarts
Flower and shows what survived.

Run it with `python flower_task_history.py` (needs Redis). Flower and the worker are always
stopped at the end.
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
from collections.abc import Callable
from typing import Any

import httpx
import redis
from celery import Celery

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = os.environ.setdefault("S7_8_HISTORY", f"s7_8_history_{os.getpid()}")
WORKER = f"statements@{RUN}"
EXAMPLES_DIR = os.path.dirname(os.path.abspath(__file__))
CLOSED_ACCOUNTS = {305}

app = Celery("flower_task_history", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue="statements",
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    event_exchange=f"{RUN}.ev",
    control_exchange=f"{RUN}.ctl",
    worker_send_task_events=True,
    task_send_sent_event=True,
    result_expires=300,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("statements")


class AccountClosed(Exception):
    """No statement is generated for a closed account."""


@app.task
def generate_statement(account_id: int, month: str) -> str:
    if account_id in CLOSED_ACCOUNTS:
        raise AccountClosed(f"account {account_id} is closed")
    return f"statement-{account_id}-{month}.pdf"


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
    worker = app.Worker(  # one process: tasks finish in the order they were sent
        hostname=WORKER, pool="prefork", concurrency=1, loglevel="INFO", quiet=True,
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
    """`celery -A flower_task_history flower` on a free port; the process and its URL."""
    env = {**os.environ, "PYTHONPATH": EXAMPLES_DIR, "FLOWER_UNAUTHENTICATED_API": "true"}
    command = [sys.executable, "-m", "celery", "-A", "flower_task_history", "flower"]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [*command, "--address=127.0.0.1", "--port=0", *options],
            cwd=workdir,
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
        process.terminate()  # SIGTERM: sys.exit(0), and atexit saves the state to --db
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


def state_of(http: httpx.Client, task_id: str) -> str | None:
    task: dict[str, Any] = http.get("/api/tasks").json().get(task_id, {})
    return task.get("state")


def describe(tasks: dict[str, dict[str, Any]]) -> list[str]:
    """One short line per task, in the order Flower returned them."""
    return [f"{t['args'].split(',')[0].lstrip('(')}:{t['state']}" for t in tasks.values()]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    store = redis.Redis.from_url(REDIS_URL)
    with tempfile.TemporaryDirectory() as tmp:
        worker_log = os.path.join(tmp, "worker.log")
        state_db = os.path.join(tmp, "flower-state")  # the shelve file persistent mode writes
        worker = start_worker(worker_log)
        flower: subprocess.Popen[bytes] | None = None
        flower_log = os.path.join(tmp, "flower-1.log")
        try:
            flower, url = start_flower(
                tmp, flower_log, "--persistent=True", f"--db={state_db}", "--max_tasks=5"
            )
            http = httpx.Client(base_url=url, timeout=10)
            wait_until(lambda: http.get("/healthcheck").text == "OK", "Flower to answer")

            results = []
            for account in range(301, 309):  # one at a time, so the eviction order is exact
                result = generate_statement.delay(account, "2024-12")
                result.get(timeout=15, propagate=False)
                results.append(result)
                wait_until(
                    lambda: state_of(http, results[-1].id) in ("SUCCESS", "FAILURE"),
                    f"Flower to see statement {account} finish",
                )
            everything = http.get("/api/tasks").json()
            print("1. Eight tasks ran; Flower keeps the five it touched last (--max_tasks=5)")
            print(f"  GET /api/tasks -> {len(everything)} tasks: {sorted(describe(everything))}")
            first = http.get(f"/api/task/info/{results[0].id}")
            print(f"  GET /api/task/info/<id of 301> -> {first.status_code} (evicted)")
            backend = results[0].state
            print(f"  ...while the result backend still has 301 as {backend}")

            print("2. Querying the history")
            queries: list[tuple[str, dict[str, Any]]] = [
                ("state=FAILURE", {"state": "FAILURE"}),
                ("sort_by=-received&limit=2", {"sort_by": "-received", "limit": 2}),
                (
                    "sort_by=-received&limit=2&offset=2",
                    {"sort_by": "-received", "limit": 2, "offset": 2},
                ),
                ("search=result:307", {"search": "result:307"}),
                ("search=state:FAILURE OR args:308", {"search": "state:FAILURE OR args:308"}),
            ]
            for label, params in queries:
                found = describe(http.get("/api/tasks", params=params).json())
                print(f"  /api/tasks?{label:<34} -> {found}")
            bad = http.get("/api/tasks", params={"sort_by": "runtime"})
            print(f"  /api/tasks?sort_by=runtime -> {bad.status_code} {bad.text}")

            stop_flower(flower)
            print(f"3. Flower stopped with SIGTERM (exit code {flower.returncode}), state in --db")
            flower_log = os.path.join(tmp, "flower-2.log")
            flower, url = start_flower(
                tmp, flower_log, "--persistent=True", f"--db={state_db}", "--max_tasks=5"
            )
            http = httpx.Client(base_url=url, timeout=10)
            wait_until(lambda: http.get("/healthcheck").text == "OK", "Flower to answer")
            restored = http.get("/api/tasks").json()
            print(f"  restarted, before any new event -> {sorted(describe(restored))}")
            types = http.get("/api/task/types").json()["task-types"]
            print(f"  GET /api/task/types -> {[name.rsplit('.', 1)[1] for name in types]}")
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
