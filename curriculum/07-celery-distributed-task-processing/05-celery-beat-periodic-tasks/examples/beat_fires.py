"""Real celery beat and a real worker on Redis, with time compressed to seconds.

The schedule has a 1-second interval entry (read it as "every 15 minutes") and a nightly crontab
entry. Before beat starts, the example edits the schedule file so that the nightly run looks
overdue, as if beat had been down over the weekend. Beat and the worker run in child processes
forked from this one, so they share the app below; from a shell the same two would be
`celery -A beat_fires beat -s FILE --max-interval 1` and `celery -A beat_fires worker -P solo`.
"""

import itertools
import json
import logging
import multiprocessing
import os
import re
import shelve
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import redis
from celery import Celery, Task
from celery.beat import PersistentScheduler
from celery.schedules import crontab

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NS = f"s7_5_beat_fires_{os.getpid()}"  # computed once; forked children inherit it
RUNS_KEY = f"{NS}:runs"  # each task execution appends one JSON line here
log = logging.getLogger("billing.beat_fires")

app = Celery("beat_fires", broker=REDIS_URL)
app.conf.update(
    task_default_queue=NS,
    broker_transport_options={"global_keyprefix": f"{NS}:"},
    task_ignore_result=True,
    worker_enable_remote_control=False,  # no pidbox traffic on the shared broker
    timezone="UTC",
    beat_schedule={
        "refresh-exchange-rates": {
            "task": "billing.refresh_exchange_rates",
            "schedule": 1.0,  # seconds, or a timedelta; in production, say 15 * 60
            "kwargs": {"base": "EUR"},
        },
        "nightly-invoice-run": {
            "task": "billing.nightly_invoice_run",
            "schedule": crontab(minute=30, hour=2),  # 02:30 every day in app.conf.timezone
            "kwargs": {"region": "eu"},
            "options": {"expires": 3600},  # a run no worker started within an hour is dropped
        },
    },
)


def record_run(task: Task[Any, Any], **fields: Any) -> None:
    """Append what ran, when, and whether beat sent it, to a Redis list the parent reads."""
    run = {
        "task": task.name,
        "from_beat": bool(getattr(task.request, "celery_beat_task", False)),
        "ran_at": time.time(),
        **fields,
    }
    with redis.Redis.from_url(REDIS_URL) as client:
        client.rpush(RUNS_KEY, json.dumps(run))


@app.task(bind=True, name="billing.refresh_exchange_rates")
def refresh_exchange_rates(self: Task[Any, Any], base: str) -> None:
    record_run(self, base=base)


@app.task(bind=True, name="billing.nightly_invoice_run")
def nightly_invoice_run(self: Task[Any, Any], region: str) -> None:
    record_run(self, region=region)


# --- the harness: fork a child for beat and one for the worker, always stop both ------------


def run_logged(log_path: Path, body: Callable[[], None]) -> None:
    """Body of a forked child: send stdout and stderr to a file, then run."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    body()


def run_beat(schedule_file: str) -> None:
    # Beat's SIGTERM handler syncs the schedule file and exits.
    app.Beat(schedule=schedule_file, max_interval=1, loglevel="INFO", quiet=True).run()


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
        process.terminate()  # SIGTERM: warm shutdown for the worker, sync-and-exit for beat
        process.join(15)
        if process.is_alive():
            log.error("child %s ignored SIGTERM; killing it", process.pid)
            process.kill()
            process.join()


def runs(client: redis.Redis, task: str) -> list[dict[str, Any]]:
    """What the worker ran of `task`, in order."""
    everything = [json.loads(raw) for raw in client.lrange(RUNS_KEY, 0, -1)]
    return [run for run in everything if run["task"] == task]


def sends(beat_log: Path, entry: str) -> list[float]:
    """When beat logged 'Sending due task ENTRY', in seconds (only differences are used)."""
    pattern = rf"\[(\S+ \S+): INFO/[^\]]+\] Scheduler: Sending due task {entry} "
    text = beat_log.read_text() if beat_log.exists() else ""  # the child may not have opened it yet
    stamps = re.findall(pattern, text)
    return [datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp() for stamp in stamps]


def show_schedule_file(schedule_file: str) -> dict[str, Any]:
    with shelve.open(schedule_file, flag="r") as store:
        entries: dict[str, Any] = dict(store["entries"])
        print(f"   top-level keys: {sorted(store.keys())}, tz={store['tz']!r}")
    for name, entry in sorted(entries.items()):
        print(f"   {name:<23} {entry.schedule!r:<38} total_run_count={entry.total_run_count}")
    return entries


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {seconds:.0f} s waiting until {what}")
        time.sleep(0.05)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory() as tmp, redis.Redis.from_url(REDIS_URL) as client:
        folder = Path(tmp)
        schedule_file = str(folder / "celerybeat-schedule")
        beat_log = folder / "beat.log"
        try:
            print("1. The schedule file, written by PersistentScheduler before beat starts")
            scheduler = PersistentScheduler(app=app, schedule_filename=schedule_file)
            nightly_entry = scheduler.schedule["nightly-invoice-run"]
            nightly_entry.last_run_at = datetime.now(UTC) - timedelta(days=2)
            scheduler.close()  # sync() and close the shelve; no broker connection was opened
            show_schedule_file(schedule_file)
            print("   then: nightly-invoice-run's last_run_at set to two days ago")

            print("\n2. Beat and a worker run until beat has sent the refresh three times")
            with (
                child(folder / "worker.log", run_worker),
                child(beat_log, lambda: run_beat(schedule_file)) as beat,
            ):
                wait_until(lambda: len(sends(beat_log, "refresh-exchange-rates")) == 3, "3 sends")
                beat.terminate()  # beat first; its SIGTERM handler syncs the file and exits
                beat.join(15)
                total_sent = sum(len(sends(beat_log, name)) for name in app.conf.beat_schedule)
                wait_until(lambda: client.llen(RUNS_KEY) == total_sent, "the worker ran them all")
            for name in app.conf.beat_schedule:
                print(f"   beat log: 'Sending due task {name}' x{len(sends(beat_log, name))}")
            sent_at = sends(beat_log, "refresh-exchange-rates")
            gaps = [later - earlier for earlier, later in itertools.pairwise(sent_at)]
            print(f"   gaps between refresh sends: {', '.join(f'{gap:.3f} s' for gap in gaps)}")
            nightly = runs(client, nightly_invoice_run.name)
            refreshes = runs(client, refresh_exchange_rates.name)
            print(
                f"   worker ran nightly_invoice_run x{len(nightly)} "
                f"(region={nightly[0]['region']!r}) and refresh_exchange_rates x{len(refreshes)}"
            )
            from_beat = all(run["from_beat"] for run in nightly + refreshes)
            print(f"   every run saw request.celery_beat_task == True: {from_beat}")

            print("\n3. The schedule file after beat stopped")
            entries = show_schedule_file(schedule_file)
            age = datetime.now(UTC) - entries["nightly-invoice-run"].last_run_at
            fresh = age < timedelta(minutes=1)
            print(f"   nightly-invoice-run's last_run_at is under a minute old: {fresh}")
        finally:
            keys = list(client.scan_iter(match=f"{NS}*"))
            if keys:
                client.delete(*keys)


if __name__ == "__main__":
    main()
