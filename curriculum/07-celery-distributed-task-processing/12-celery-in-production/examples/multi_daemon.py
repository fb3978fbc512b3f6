"""Daemonized workers with `celery multi`: pidfiles, log files, a working directory, stopwait.

The script is both the Celery app (`-A multi_daemon`) and the operator running `celery multi`
commands in subprocesses. The detached workers are real background processes: they outlive
the command that started them, and only their pidfiles say where they are. Redis is the
broker and the result backend; every key carries this run's name, passed to the workers
through the environment.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from celery import Celery

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = os.environ.setdefault("S7_12_MULTI_RUN", f"s7_12_multi_{os.getpid()}")

app = Celery("multi_daemon", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    worker_enable_remote_control=False,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("billing.multi")


@app.task(name="billing.where_am_i")
def where_am_i() -> dict[str, str]:
    """Facts about the daemonized process that ran this task."""
    return {"cwd": os.getcwd(), "stdin": os.readlink("/proc/self/fd/0")}


def celery_multi(*args: str, tmp: Path) -> str:
    """Run `celery multi ...` and return its output with machine-specific parts replaced."""
    done = subprocess.run(
        [sys.executable, "-m", "celery", "multi", *args],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # colour codes
    text = text.replace(str(tmp), "$RUN_DIR").replace(str(Path.cwd()), "$APP_DIR")
    text = text.replace(sys.executable, "python").replace(socket.gethostname(), "$HOST")
    text = re.sub(r"celery multi v\S+ \(.*\)", "celery multi v5.x", text)
    text = text.replace(RUN, "$RUN")
    lines = [line.strip() for line in text.strip().splitlines()]
    if args[0] == "stopwait":  # nodes stop in any order: keep one line per node and event
        events = {re.sub(r"-> \d+", "-> PID", line) for line in lines if "@" in line}
        step = {"TERM": 0, "OK": 1, "DOWN": 2}
        lines = sorted(events, key=lambda line: (line.split("@")[0], step[line.split()[2]]))
    return "\n".join(f"   {line}" for line in lines)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for_ready(logfile: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not (logfile.exists() and " ready." in logfile.read_text()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{logfile.name} never said ready")
        time.sleep(0.1)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    store = redis.Redis.from_url(REDIS_URL)
    tmp = Path(tempfile.mkdtemp(prefix="s7_12_multi_"))
    nodes = ["billing", "reports"]
    common = [
        "-A", "multi_daemon",
        f"--workdir={Path.cwd()}",  # a daemon chdirs to / unless told otherwise
        f"--pidfile={tmp}/run/%n.pid",
        f"--logfile={tmp}/log/%n%I.log",
        "--loglevel=INFO", "-c", "1", "--without-mingle", "--without-gossip",
        "-Q:billing", f"{RUN}.billing", "-Q:reports", f"{RUN}.reports",
    ]  # fmt: skip
    started = False
    try:
        print("1. celery multi show: the commands it would run")
        print(celery_multi("show", *nodes, *common, tmp=tmp))

        print("2. celery multi start")
        print(celery_multi("start", *nodes, *common, tmp=tmp))
        started = True
        for node in nodes:
            wait_for_ready(tmp / "log" / f"{node}.log")
        pids = {node: int((tmp / "run" / f"{node}.pid").read_text()) for node in nodes}
        for node, pid in pids.items():
            parent = int(Path(f"/proc/{pid}/stat").read_text().split()[3])
            print(
                f"   {node}.pid -> live process: {pid_alive(pid)}, "
                f"its parent is this script: {parent == os.getpid()}"
            )
        logs = sorted(path.name for path in (tmp / "log").iterdir())
        print(f"   log files: {logs}")

        print("3. a task on each queue")
        for node in nodes:
            result = where_am_i.apply_async(queue=f"{RUN}.{node}")
            facts = result.get(timeout=20)
            cwd = "$APP_DIR" if facts["cwd"] == str(Path.cwd()) else facts["cwd"]
            print(f"   {node}: cwd={cwd} stdin={facts['stdin']}")

        print("4. celery multi stopwait (SIGTERM, then wait for the pids to exit)")
        print(celery_multi("stopwait", *nodes, *common, tmp=tmp))
        started = False
        for node, pid in pids.items():
            pidfile = tmp / "run" / f"{node}.pid"
            print(f"   {node}: process alive={pid_alive(pid)}, pidfile exists={pidfile.exists()}")
    except Exception:
        log.exception("example failed; worker logs follow")
        for path in sorted((tmp / "log").glob("*.log")):
            print(f"--- {path.name}\n{path.read_text()[-2000:]}")
        raise
    finally:
        if started:
            subprocess.run(
                [sys.executable, "-m", "celery", "multi", "kill", *nodes, *common],
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip
        shutil.rmtree(tmp, ignore_errors=True)
        keys = list(store.scan_iter(f"{RUN}:*"))
        if keys:
            store.delete(*keys)


if __name__ == "__main__":
    main()
