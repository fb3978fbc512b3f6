"""Dynamic scheduling: beat reads its entries from a PostgreSQL table and notices edits live.

TEACHING IMPLEMENTATION. `PostgresScheduler` below is about 100 lines that show the design the
real database schedulers use (django-celery-beat, celery-sqlalchemy-scheduler): entries live in
a table, a version number changes whenever a definition changes, beat polls that number and
reloads, and run bookkeeping (last_run_at, total_run_count) is written back on sync. It has no
admin UI, no per-entry time zones, no solar or one-off schedules and no lock against a second
beat. Use one of those packages (or RedBeat on Redis) in production.

From a shell: `celery -A dynamic_scheduler beat -S dynamic_scheduler:PostgresScheduler`.
"""

import json
import logging
import multiprocessing
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import redis
from celery import Celery, Task
from celery.beat import ScheduleEntry, Scheduler
from celery.schedules import BaseSchedule, crontab, schedule
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NS = f"s7_5_dynamic_{os.getpid()}"  # broker queue and keys; forked children inherit it
TABLE = f"{NS}_periodic_tasks"  # one table per run, dropped at the end
VERSION_TABLE = f"{NS}_schedule_version"
RUNS_KEY = f"{NS}:runs"
log = logging.getLogger("billing.dynamic_scheduler")

app = Celery("dynamic_scheduler", broker=REDIS_URL)
app.conf.update(
    task_default_queue=NS,
    broker_transport_options={"global_keyprefix": f"{NS}:"},
    task_ignore_result=True,
    worker_enable_remote_control=False,
    timezone="UTC",
)

SCHEMA = f"""
CREATE TABLE {TABLE} (
    name            text PRIMARY KEY,
    task            text NOT NULL,
    every_seconds   double precision,           -- an interval schedule ...
    cron            text,                       -- ... or a crontab 'm h dom mon dow'
    kwargs          jsonb NOT NULL DEFAULT '{{}}',
    enabled         boolean NOT NULL DEFAULT true,
    last_run_at     timestamptz,                -- bookkeeping, written by beat
    total_run_count integer NOT NULL DEFAULT 0,
    CHECK ((every_seconds IS NULL) <> (cron IS NULL))
);
CREATE TABLE {VERSION_TABLE} (id int PRIMARY KEY CHECK (id = 1), version bigint NOT NULL);
INSERT INTO {VERSION_TABLE} VALUES (1, 0);
CREATE FUNCTION {NS}_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {VERSION_TABLE} SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END $$;
-- Only definition changes bump the version; beat's own bookkeeping updates do not.
CREATE TRIGGER {NS}_changed
    AFTER INSERT OR DELETE OR UPDATE OF task, every_seconds, cron, kwargs, enabled ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION {NS}_bump();
"""


class PostgresScheduler(Scheduler):
    """Beat scheduler whose entries are the enabled rows of a PostgreSQL table (teaching code)."""

    max_interval = 1  # longest sleep between ticks, so edits show within ~1 s (default: 300)
    sync_every = 2  # write bookkeeping back at most this often (the base class uses 180)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._engine: Engine | None = None
        self._version = -1
        self._entries: dict[str, ScheduleEntry] = {}
        self._dirty: set[str] = set()
        super().__init__(*args, **kwargs)  # calls setup_schedule() unless lazy

    def setup_schedule(self) -> None:
        # Runs inside the beat process, so the engine (and its pool) is created there.
        self._engine = create_engine(POSTGRES_URL, pool_size=1, max_overflow=0)
        self._reload_if_changed()

    def _reload_if_changed(self) -> None:
        assert self._engine is not None
        try:
            with self._engine.connect() as connection:
                version = connection.execute(
                    text(f"SELECT version FROM {VERSION_TABLE}")
                ).scalar_one()
            if version == self._version:
                return
            self.sync()  # save our bookkeeping first: the reload replaces every entry
            with self._engine.connect() as connection:
                rows = connection.execute(text(f"SELECT * FROM {TABLE} WHERE enabled")).mappings()
                entries = {row["name"]: self._entry(row) for row in rows}
        except DBAPIError as exc:  # the database is down: keep sending what we already have
            log.warning("cannot read the schedule, keeping %d entries: %s", len(self._entries), exc)
            return
        self._entries, self._version = entries, version
        log.info("schedule version %s: %s", version, ", ".join(sorted(entries)) or "-")

    def _entry(self, row: Any) -> ScheduleEntry:
        spec: BaseSchedule
        if row["cron"] is not None:
            spec = crontab.from_string(row["cron"])
        else:
            spec = schedule(timedelta(seconds=row["every_seconds"]))
        return self.Entry(
            name=row["name"],
            task=row["task"],
            schedule=spec,
            kwargs=row["kwargs"],
            last_run_at=row["last_run_at"],  # None: counts from now, like a new static entry
            total_run_count=row["total_run_count"],
            app=self.app,
        )

    def get_schedule(self) -> dict[str, ScheduleEntry]:
        # tick() reads this on every pass and rebuilds its heap when the entries differ.
        self._reload_if_changed()
        return self._entries

    def set_schedule(self, schedule: dict[str, ScheduleEntry]) -> None:
        self._entries = schedule

    schedule = property(get_schedule, set_schedule)

    def reserve(self, entry: ScheduleEntry) -> ScheduleEntry:  # type: ignore[override]
        # Called just before each send: advance last_run_at and the count, remember to save them.
        # (celery-types declares the return type wrongly; Celery returns the new entry.)
        name = str(entry.name)
        new_entry = self._entries[name] = next(entry)
        self._dirty.add(name)
        return new_entry

    def sync(self) -> None:
        if self._engine is None or not self._dirty:
            return
        try:
            with self._engine.begin() as connection:
                for name in sorted(self._dirty):
                    if (entry := self._entries.get(name)) is None:
                        continue  # deleted or disabled since it was sent
                    connection.execute(
                        text(
                            f"UPDATE {TABLE} SET last_run_at = :at, total_run_count = :count "
                            "WHERE name = :name"
                        ),
                        {"at": entry.last_run_at, "count": entry.total_run_count, "name": name},
                    )
        except DBAPIError as exc:  # keep the names dirty; the next sync tries again
            log.warning("cannot save run bookkeeping: %s", exc)
            return
        self._dirty.clear()

    def close(self) -> None:
        super().close()  # calls sync()
        if self._engine is not None:
            self._engine.dispose()

    @property
    def info(self) -> str:
        return f"    . db -> {TABLE}"


def record_run(task: Task[Any, Any], **kwargs: Any) -> None:
    with redis.Redis.from_url(REDIS_URL) as client:
        client.rpush(RUNS_KEY, json.dumps({"task": task.name, **kwargs}))


@app.task(bind=True, name="billing.refresh_exchange_rates")
def refresh_exchange_rates(self: Task[Any, Any], base: str) -> None:
    record_run(self, base=base)


@app.task(bind=True, name="billing.send_dunning_emails")
def send_dunning_emails(self: Task[Any, Any], tenant: str) -> None:
    record_run(self, tenant=tenant)


# --- harness ---------------------------------------------------------------------------------


def run_logged(log_path: Path, body: Callable[[], None]) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    body()


def run_beat() -> None:
    # The scheduler is named the way `-S module:Class` names it; __name__ is this module.
    app.Beat(scheduler=f"{__name__}:PostgresScheduler", loglevel="INFO", quiet=True).run()


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


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {seconds:.0f} s waiting until {what}")
        time.sleep(0.05)


def beat_lines(beat_log: Path) -> list[str]:
    """The beat log's messages, without timestamps: version reloads and sends, in order."""
    log_text = beat_log.read_text() if beat_log.exists() else ""
    return re.findall(r"schedule version .*|Sending due task \S+", log_text)


def reload_line(beat_log: Path, version: int) -> str | None:
    prefix = f"schedule version {version}:"
    return next((line for line in beat_lines(beat_log) if line.startswith(prefix)), None)


def sends_since(beat_log: Path, version: int, entry: str) -> int:
    """How often beat sent `entry` after it loaded schedule `version`."""
    lines = beat_lines(beat_log)
    start = lines.index(reload_line(beat_log, version) or "")
    return lines[start:].count(f"Sending due task {entry}")


def runs(client: redis.Redis) -> list[dict[str, str]]:
    return [json.loads(raw) for raw in client.lrange(RUNS_KEY, 0, -1)]


def add_entry(engine: Engine, name: str, task: str, every: float, **kwargs: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                f"INSERT INTO {TABLE} (name, task, every_seconds, kwargs) "
                "VALUES (:name, :task, :every, :kwargs)"
            ),
            {"name": name, "task": task, "every": every, "kwargs": json.dumps(kwargs)},
        )


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    engine = create_engine(POSTGRES_URL)
    with tempfile.TemporaryDirectory() as tmp, redis.Redis.from_url(REDIS_URL) as client:
        beat_log = Path(tmp) / "beat.log"
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql(SCHEMA)
            add_entry(engine, "refresh-exchange-rates", refresh_exchange_rates.name, 1, base="EUR")

            print("1. Beat starts with one row in the table")
            with child(Path(tmp) / "worker.log", run_worker), child(beat_log, run_beat) as beat:
                wait_until(
                    lambda: (
                        sends_since(beat_log, 1, "refresh-exchange-rates") >= 1
                        if reload_line(beat_log, 1)
                        else False
                    ),
                    "the first refresh was sent",
                )
                print(f"   beat: {reload_line(beat_log, 1)}")

                print("\n2. An admin inserts a row while beat runs: no restart, no deploy")
                add_entry(engine, "dunning-acme", send_dunning_emails.name, 1, tenant="acme")
                wait_until(
                    lambda: (
                        reload_line(beat_log, 2) is not None
                        and sends_since(beat_log, 2, "dunning-acme") >= 1
                    ),
                    "dunning was sent",
                )
                print(f"   beat: {reload_line(beat_log, 2)}")

                print("\n3. One transaction disables the refresh and retargets the dunning run")
                with engine.begin() as connection:
                    connection.execute(
                        text(f"UPDATE {TABLE} SET enabled = false WHERE name = :name"),
                        {"name": "refresh-exchange-rates"},
                    )
                    connection.execute(
                        text(f"UPDATE {TABLE} SET kwargs = :kwargs WHERE name = :name"),
                        {"name": "dunning-acme", "kwargs": json.dumps({"tenant": "globex"})},
                    )
                wait_until(
                    lambda: any(run.get("tenant") == "globex" for run in runs(client)),
                    "a dunning run for globex",
                )
                print(f"   beat: {reload_line(beat_log, 4)} (two statements, one reload)")
                print(
                    f"   refresh sends after the reload: "
                    f"{sends_since(beat_log, 4, 'refresh-exchange-rates')}"
                )
                tenants = [run["tenant"] for run in runs(client) if "tenant" in run]
                in_order = sorted(set(tenants), key=tenants.index)
                print(f"   tenants the worker ran dunning for, in order: {in_order}")
                beat.terminate()  # beat first; its shutdown sync writes the bookkeeping
                beat.join(15)

            print("\n4. What beat wrote back (every 2 s and at shutdown)")
            with engine.connect() as connection:
                rows = connection.execute(
                    text(
                        f"SELECT name, enabled, total_run_count, last_run_at FROM {TABLE} "
                        "ORDER BY name"
                    )
                ).all()
            lines = beat_lines(beat_log)
            for name, enabled, count, last_run_at in rows:
                matches = count == lines.count(f"Sending due task {name}")
                print(
                    f"   {name:<23} enabled={enabled!s:<5} total_run_count matches the log: "
                    f"{matches}, last_run_at stored: {last_run_at is not None}"
                )
        finally:
            with engine.begin() as connection:
                connection.exec_driver_sql(
                    f"DROP TABLE IF EXISTS {TABLE}; DROP TABLE IF EXISTS {VERSION_TABLE}; "
                    f"DROP FUNCTION IF EXISTS {NS}_bump()"
                )
            engine.dispose()
            keys = list(client.scan_iter(match=f"{NS}*"))
            if keys:
                client.delete(*keys)


if __name__ == "__main__":
    main()
