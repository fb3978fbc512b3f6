"""Two beat processes, one schedule: every periodic task is sent twice.

This is what happens when beat runs in a Deployment with two replicas, in every web pod, or as
`celery worker -B` on each worker machine. Each beat keeps its own schedule file and its own
clock and has no idea the other exists, so each sends every entry. A worker then runs both.
The entry charges a subscription every second (read it as "every hour").
"""

import functools
import json
import logging
import multiprocessing
import os
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import redis
from celery import Celery, Task
from celery.beat import BeatLazyFunc

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NS = f"s7_5_two_beats_{os.getpid()}"
RUNS_KEY = f"{NS}:runs"
BEATS = ("beat-a", "beat-b")
log = logging.getLogger("billing.two_beats")
beat_name = "not a beat"  # each beat child sets its own name before it starts


def current_beat() -> str:
    """Called by beat itself at send time (BeatLazyFunc), so each message names its sender."""
    return beat_name


app = Celery("two_beats", broker=REDIS_URL)
app.conf.update(
    task_default_queue=NS,
    broker_transport_options={"global_keyprefix": f"{NS}:"},
    task_ignore_result=True,
    worker_enable_remote_control=False,
    beat_schedule={
        "charge-subscriptions": {
            "task": "billing.charge_subscriptions",
            "schedule": 1.0,
            "kwargs": {"plan": "pro-monthly", "sent_by": BeatLazyFunc(current_beat)},
        },
    },
)


@app.task(bind=True, name="billing.charge_subscriptions")
def charge_subscriptions(self: Task[Any, Any], plan: str, sent_by: str) -> None:
    """Charges every customer on `plan` (here: records that it ran, and who asked)."""
    with redis.Redis.from_url(REDIS_URL) as client:
        client.rpush(RUNS_KEY, json.dumps({"plan": plan, "sent_by": sent_by}))


def run_logged(log_path: Path, body: Callable[[], None]) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    body()


def run_beat(name: str, schedule_file: Path) -> None:
    global beat_name
    beat_name = name
    app.Beat(schedule=str(schedule_file), max_interval=1, loglevel="INFO", quiet=True).run()


def run_worker() -> None:
    worker = app.Worker(
        hostname=f"{NS}@localhost",
        queues=[NS],
        pool="solo",
        loglevel="INFO",
        quiet=True,
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    )
    worker.start()
    sys.exit(worker.exitcode)


@contextmanager
def child(log_path: Path, body: Callable[[], None]) -> Iterator[BaseProcess]:
    process = multiprocessing.get_context("fork").Process(target=run_logged, args=(log_path, body))
    process.start()
    try:
        yield process
    finally:
        process.terminate()
        process.join(15)
        if process.is_alive():
            log.error("child %s ignored SIGTERM; killing it", process.pid)
            process.kill()
            process.join()


def sends(beat_log: Path) -> int:
    text = beat_log.read_text() if beat_log.exists() else ""
    return len(re.findall(r"Sending due task charge-subscriptions", text))


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory() as tmp, redis.Redis.from_url(REDIS_URL) as client:
        folder = Path(tmp)
        logs = {name: folder / f"{name}.log" for name in BEATS}
        try:
            print("Two beats, each with its own schedule file, and one worker")
            with ExitStack() as stack:
                stack.enter_context(child(folder / "worker.log", run_worker))
                beats = {
                    name: stack.enter_context(
                        child(
                            logs[name],
                            functools.partial(run_beat, name, folder / f"{name}-schedule"),
                        )
                    )
                    for name in BEATS
                }
                deadline = time.monotonic() + 20
                running = set(BEATS)
                while running:  # stop each beat once the worker has run its third send
                    # (not on the third log line: beat logs "Sending" just before it publishes)
                    ran = Counter(
                        json.loads(raw)["sent_by"] for raw in client.lrange(RUNS_KEY, 0, -1)
                    )
                    for name in sorted(running):
                        if ran[name] >= 3:
                            beats[name].terminate()
                            beats[name].join(15)
                            running.discard(name)
                    if time.monotonic() > deadline:
                        raise SystemExit("the beats did not send three times each in 20 s")
                    time.sleep(0.02)
                expected = sum(sends(path) for path in logs.values())
                drained_by = time.monotonic() + 15  # the worker's own budget, not the beats'
                while client.llen(RUNS_KEY) < expected:
                    if time.monotonic() > drained_by:
                        raise SystemExit(f"the worker ran fewer than {expected} tasks in 15 s")
                    time.sleep(0.05)
            for name in BEATS:
                print(
                    f"   {name}.log: 'Sending due task charge-subscriptions' x{sends(logs[name])}"
                )
            runs = [json.loads(raw) for raw in client.lrange(RUNS_KEY, 0, -1)]
            senders = dict(sorted(Counter(run["sent_by"] for run in runs).items()))
            print(f"   the worker ran charge_subscriptions {len(runs)} times, sent by {senders}")
            print(
                "   three 1-second billing periods passed; "
                f"each customer was charged {len(runs)} times"
            )
        finally:
            keys = list(client.scan_iter(match=f"{NS}*"))
            if keys:
                client.delete(*keys)


if __name__ == "__main__":
    main()
