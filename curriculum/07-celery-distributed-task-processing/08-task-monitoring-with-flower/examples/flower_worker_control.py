"""Managing a live worker through Flower's HTTP API: pool size, rate and time limits, queues,
revoking a queued task and shutting the worker down.

Every POST below is a Celery remote-control command that Flower broadcasts to the worker
(app.control.pool_grow, rate_limit, time_limit, add_consumer, cancel_consumer, revoke,
shutdown). After each one the script asks the worker itself, with app.control.inspect(),
whether it took effect.

Run it with `python flower_worker_control.py` (needs Redis). Flower and the worker are stopped at
the end, even when something fails.
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
from kombu import Queue

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = os.environ.setdefault("S7_8_CONTROL", f"s7_8_control_{os.getpid()}")
WORKER = f"ledger@{RUN}"
EXAMPLES_DIR = os.path.dirname(os.path.abspath(__file__))

app = Celery("flower_worker_control", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_queues=[Queue("billing"), Queue("exports")],
    task_default_queue="billing",
    task_routes={"flower_worker_control.export_ledger": {"queue": "exports"}},
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    event_exchange=f"{RUN}.ev",
    control_exchange=f"{RUN}.ctl",
    worker_send_task_events=True,
    task_send_sent_event=True,
    result_expires=300,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("ledger")


@app.task
def export_ledger(period: str) -> str:
    return f"ledger-{period}.csv"


@app.task
def post_journal_entry(entry_id: int) -> str:
    return f"entry {entry_id} posted"


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


def start_flower(workdir: str, log_path: str) -> tuple[subprocess.Popen[bytes], str]:
    """`celery -A flower_worker_control flower` on a free port; the process and its URL."""
    env = {**os.environ, "PYTHONPATH": EXAMPLES_DIR, "FLOWER_UNAUTHENTICATED_API": "true"}
    command = [sys.executable, "-m", "celery", "-A", "flower_worker_control", "flower"]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [*command, "--address=127.0.0.1", "--port=0"],
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
        process.terminate()
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


def ask(method: str, *args: str) -> Any:
    """One inspect call to this run's worker, returning its reply.

    limit=1 returns as soon as the one worker has replied instead of waiting out the timeout.
    """
    inspect = app.control.inspect(timeout=1.0, destination=[WORKER], limit=1)
    replies: dict[str, Any] = getattr(inspect, method)(*args) or {}
    return replies.get(WORKER)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    store = redis.Redis.from_url(REDIS_URL)
    with tempfile.TemporaryDirectory() as tmp:
        worker_log, flower_log = os.path.join(tmp, "worker.log"), os.path.join(tmp, "flower.log")
        worker = start_worker(worker_log)
        flower: subprocess.Popen[bytes] | None = None
        try:
            flower, url = start_flower(tmp, flower_log)
            http = httpx.Client(base_url=url, timeout=10)
            wait_until(
                lambda: WORKER in http.get("/api/workers", params={"refresh": 1}).json(),
                "Flower to see the worker",
            )

            def call(label: str, path: str, hide: str = "", **form: Any) -> None:
                """POST to Flower's API; print the status and message with names masked."""
                response = http.post(path, data=form)
                body = response.json()["message"] if response.is_success else response.text
                body = masked(str(body)).replace(hide, "<id>") if hide else masked(str(body))
                print(f"  POST {label} -> {response.status_code} {body}")

            def pool_line() -> str:
                stats = ask("stats")
                concurrency = stats["pool"]["max-concurrency"]
                return f"prefetch_count={stats['prefetch_count']} max-concurrency={concurrency}"

            print("1. Pool size (concurrency 2, prefetch multiplier 4)")
            print(f"  before:       {pool_line()}")
            call("/api/worker/pool/grow/<worker> n=2", f"/api/worker/pool/grow/{WORKER}", n=2)
            print(f"  after grow:   {pool_line()}")
            call("/api/worker/pool/shrink/<worker> n=1", f"/api/worker/pool/shrink/{WORKER}", n=1)
            print(f"  after shrink: {pool_line()}")
            call("/api/worker/pool/grow/nobody@nowhere", "/api/worker/pool/grow/nobody@nowhere")

            print("2. Rate and time limits for one task type, on one worker")
            task = post_journal_entry.name
            call(
                "/api/task/rate-limit/<task> ratelimit=10/m",
                f"/api/task/rate-limit/{task}",
                ratelimit="10/m",
                workername=WORKER,
            )
            call(
                "/api/task/timeout/<task> soft=50 hard=60",
                f"/api/task/timeout/{task}",
                soft=50,
                hard=60,
                workername=WORKER,
            )
            for line in ask("registered", "rate_limit", "soft_time_limit", "time_limit"):
                print(f"  inspect().registered(...) -> {line.split('.', 1)[1]}")

            print("3. Stop consuming a queue, revoke a waiting task, consume again")
            path = f"/api/worker/queue/cancel-consumer/{WORKER}"
            call(f"{masked(path)} queue=exports", path, queue="exports")
            wait_until(
                lambda: [queue["name"] for queue in ask("active_queues")] == ["billing"],
                "the consumer to be cancelled",
            )
            exports = [export_ledger.delay(period) for period in ("2024-10", "2024-11", "2024-12")]
            # A BRPOP the worker issued before the cancel may still take the first export;
            # kombu puts it back ("Requeuing undeliverable message ... No consumers").
            wait_until(lambda: int(store.llen(f"{RUN}:exports")) == 3, "three exports in Redis")
            lengths = http.get("/api/queues/length").json()["active_queues"]
            print(f"  GET /api/queues/length -> {lengths}")
            task_id = exports[1].id
            call("/api/task/revoke/<id of 2024-11>", f"/api/task/revoke/{task_id}", hide=task_id)
            path = f"/api/worker/queue/add-consumer/{WORKER}"
            call(f"{masked(path)} queue=exports", path, queue="exports")
            for result in exports:
                result.get(timeout=15, propagate=False)

            def exports_seen() -> list[dict[str, Any]]:
                found = http.get("/api/tasks", params={"taskname": export_ledger.name}).json()
                return sorted(found.values(), key=lambda t: str(t["args"]))

            wait_until(
                lambda: (
                    [t["state"] in ("SUCCESS", "REVOKED") for t in exports_seen()] == [True] * 3
                ),
                "Flower to see the three exports end",
            )
            for info in exports_seen():
                print(f"  {info['args']:<13} {info['state']:<8} result={info['result']}")
            lengths = http.get("/api/queues/length").json()["active_queues"]
            print(f"  GET /api/queues/length -> {lengths}")

            print("4. Shut the worker down from Flower")
            call("/api/worker/shutdown/<worker>", f"/api/worker/shutdown/{WORKER}")
            worker.join(timeout=15)
            print(f"  worker process exit code: {worker.exitcode}")
            wait_until(
                lambda: http.get("/api/workers", params={"status": 1}).json().get(WORKER) is False,
                "Flower to mark the worker offline",
            )
            status = http.get("/api/workers", params={"status": 1}).json()
            print(f"  GET /api/workers?status=1 -> {masked(str(status))}")
        except Exception:
            log.exception("example failed; worker and Flower logs follow")
            for log_path in (worker_log, flower_log):
                with open(log_path) as handle:
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
