"""What Flower exposes, with and without protection, probed over HTTP.

Two real Flower processes on free ports:
A. started with no options at all: what anyone who can reach the port gets;
B. started from flowerconfig.py (basic auth from FLOWER_BASIC_AUTH, the /flower URL prefix for
   a reverse proxy), with --port and --db overridden on the command line.
No worker is needed: everything here is Flower's own HTTP layer.

Run it with `python flower_security.py` (needs Redis, which Flower connects to as its broker).
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable

import httpx
import redis
from celery import Celery

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = os.environ.setdefault("S7_8_SECURITY", f"s7_8_security_{os.getpid()}")
EXAMPLES_DIR = os.path.dirname(os.path.abspath(__file__))

app = Celery("flower_security", broker=REDIS_URL)
app.conf.update(
    task_default_queue="billing",
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    event_exchange=f"{RUN}.ev",
    control_exchange=f"{RUN}.ctl",
    task_send_sent_event=True,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("security")


@app.task
def update_card_on_file(customer_id: int, card_number: str) -> None:
    """Never runs here: no worker. Its task-sent event is enough for Flower to list it."""


def die_with_parent(signum: int) -> None:
    """In a child process, before it starts: on Linux, have the kernel send it `signum` if this
    script dies without reaching its `finally` (killed at a CI timeout, for instance)."""
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signum)


def start_flower(
    workdir: str, log_path: str, env: dict[str, str], *options: str
) -> tuple[subprocess.Popen[bytes], str]:
    """`celery -A flower_security flower` with the given options; the process and its port."""
    command = [sys.executable, "-m", "celery", "-A", "flower_security", "flower"]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [*command, *options],
            cwd=workdir,
            env={**env, "PYTHONPATH": EXAMPLES_DIR},
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


def show(label: str, response: httpx.Response, *, hide: str = "") -> None:
    text = response.text.replace(hide, "<id>") if hide else response.text
    if text.lstrip().startswith("<"):
        body = "(an HTML page)"
    elif text.startswith("# HELP"):
        families = sum(line.startswith("# TYPE flower_") for line in text.splitlines())
        body = f"(Prometheus text, {families} flower_ metric families)"
    else:
        body = text or "(empty body)"
    challenge = response.headers.get("WWW-Authenticate")
    extra = f"  WWW-Authenticate: {challenge}" if challenge else ""
    print(f"  {label:<43} {response.status_code} {body}{extra}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    store = redis.Redis.from_url(REDIS_URL)
    # The child processes get a clean environment: no leftover FLOWER_* variables.
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWER_")}
    password = secrets.token_urlsafe(16)  # in production: from the secret store
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        logs = [os.path.join(tmp, "flower-a.log"), os.path.join(tmp, "flower-b.log")]
        try:
            plain, url = start_flower(tmp, logs[0], base_env, "--address=127.0.0.1", "--port=0")
            processes.append(plain)
            anyone = httpx.Client(base_url=url, timeout=10)
            wait_until(lambda: anyone.get("/healthcheck").text == "OK", "Flower A")
            print("A. `celery -A ... flower` with no options (and no FLOWER_UNAUTHENTICATED_API)")
            show("GET / (the dashboard)", anyone.get("/"))
            show("GET /api/workers", anyone.get("/api/workers"))
            show("GET /metrics", anyone.get("/metrics"))
            shutdown = "/api/worker/shutdown/billing@host"
            show(f"POST {shutdown}", anyone.post(shutdown))
            update_card_on_file.delay(customer_id=88, card_number="4111 1111 1111 1111")
            # The query the Tasks page's own JavaScript sends to fill its table.
            table: dict[str, str | int] = {
                "draw": 1,
                "start": 0,
                "length": 10,
                "order[0][column]": 0,
                "columns[0][data]": "name",
            }
            wait_until(
                lambda: anyone.get("/tasks/datatable", params=table).json()["recordsTotal"] == 1,
                "Flower A to list the queued task",
            )
            row = anyone.get("/tasks/datatable", params=table).json()["data"][0]
            print(f"  {'GET /tasks/datatable (Tasks page data)':<43} 200 kwargs={row['kwargs']}")

            conf = os.path.join(EXAMPLES_DIR, "flowerconfig.py")
            secured, url = start_flower(
                tmp,
                logs[1],
                {**base_env, "FLOWER_BASIC_AUTH": f"ops:{password}"},
                f"--conf={conf}",
                "--port=0",  # the command line wins over the file
                f"--db={os.path.join(tmp, 'flower.db')}",
            )
            processes.append(secured)
            stranger = httpx.Client(base_url=url, timeout=10)
            ops = httpx.Client(base_url=url, timeout=10, auth=("ops", password))
            wait_until(lambda: stranger.get("/flower/healthcheck").text == "OK", "Flower B")
            print("B. --conf=flowerconfig.py, FLOWER_BASIC_AUTH=ops:<secret>")
            show("GET /flower/ without credentials", stranger.get("/flower/"))
            wrong = httpx.Client(base_url=url, timeout=10, auth=("ops", "guess"))
            show("GET /flower/api/workers, wrong password", wrong.get("/flower/api/workers"))
            show("GET /flower/api/workers as ops", ops.get("/flower/api/workers"))
            page = ops.get("/flower/")
            prefixed = "/flower/static/" in page.text
            label = "GET /flower/ as ops"
            print(f"  {label:<43} {page.status_code} (links use /flower/static/: {prefixed})")
            show("GET /api/workers (no prefix) as ops", ops.get("/api/workers"))
            show("GET /flower/healthcheck without credentials", stranger.get("/flower/healthcheck"))
            show("GET /flower/metrics without credentials", stranger.get("/flower/metrics"))
            task_id = str(uuid.uuid4())
            revoke = f"/flower/api/task/revoke/{task_id}"
            show("POST /flower/api/task/revoke/<id> as ops", ops.post(revoke), hide=task_id)
            evil = ops.post(revoke, headers={"Origin": "https://evil.example"})
            show("  ...same, Origin: https://evil.example", evil)
            cross = ops.post(revoke, headers={"Sec-Fetch-Site": "cross-site"})
            show("  ...same, Sec-Fetch-Site: cross-site", cross)

            # flowerconfig.py's format_task masks card numbers, but only on the UI pages.
            update_card_on_file.delay(customer_id=88, card_number="4111 1111 1111 1111")
            datatable = "/flower/tasks/datatable"
            wait_until(
                lambda: ops.get(datatable, params=table).json()["recordsTotal"] == 1,
                "Flower B to list the queued task",
            )
            row = ops.get(datatable, params=table).json()["data"][0]
            print(f"  {'GET /flower/tasks/datatable as ops':<43} 200 kwargs={row['kwargs']}")
            (raw,) = ops.get("/flower/api/tasks").json().values()
            print(f"  {'GET /flower/api/tasks as ops':<43} 200 kwargs={raw['kwargs']}")
        except Exception:
            log.exception("example failed; Flower logs follow")
            for path in logs:
                if os.path.exists(path):
                    with open(path) as handle:
                        print(handle.read()[-3000:])
            raise
        finally:
            for process in processes:
                stop_flower(process)
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
