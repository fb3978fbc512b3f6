"""Map-reduce over 48,000 usage events: what the reducer receives, and where partials should live.

Run it as `python map_reduce.py`. It forks one real Celery worker (four threads; Redis broker
and result backend) and totals usage per tenant four ways:

1. map tasks return raw rows and one chord body reduces them (the payload problem);
2. map tasks reduce their own chunk first and return a 12-entry partial;
3. map tasks upsert their partial into PostgreSQL by (run, chunk, tenant) and return nothing;
   the reducer is a GROUP BY, and a duplicated map task changes nothing;
4. a two-level tree: map tasks write partials to Redis hashes, level-1 reducers merge four
   hashes each, and one final reducer merges those.

Sizes are exact byte counts (as JSON) of the values the result backend stored and of what the
reducer received.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import psycopg
import redis
from celery import Celery, chord, group
from celery.signals import worker_ready
from kombu.utils.json import dumps

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
).replace("postgresql+psycopg://", "postgresql://")  # psycopg wants a plain libpq URL
NS = f"s7_10_mapreduce_{os.getpid()}"
TABLE = f"{NS}_partials"  # one table per run: examples run concurrently in CI
EVENTS, CHUNK, FAN_IN = 48_000, 2_000, 4

app = Celery("map_reduce", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=NS,
    broker_transport_options={"global_keyprefix": f"{NS}:"},
    result_backend_transport_options={"global_keyprefix": f"{NS}:"},
    result_expires=600,
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)
log = logging.getLogger("usage.mapreduce")


def event(event_id: int) -> tuple[str, int]:
    """Usage event `event_id`: (tenant, cents), generated instead of read from a table."""
    return f"tenant-{event_id % 12:02d}", 1 + (event_id * 7919) % 997


def chunk_totals(first_id: int, last_id: int) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for event_id in range(first_id, last_id + 1):
        tenant, cents = event(event_id)
        totals[tenant] += cents
    return dict(totals)


def note_input(name: str, value: Any) -> None:
    """Record how many bytes a reducer was handed (its argument, serialized)."""
    store.hset(f"{NS}:received", name, len(dumps(value)))


@app.task(name="usage.raw_rows")
def raw_rows(first_id: int, last_id: int) -> list[tuple[str, int]]:
    return [event(event_id) for event_id in range(first_id, last_id + 1)]


@app.task(name="usage.sum_rows")
def sum_rows(chunks: list[list[list[Any]]]) -> dict[str, int]:
    note_input("sum_rows", chunks)
    totals: Counter[str] = Counter()
    for rows in chunks:
        for tenant, cents in rows:
            totals[tenant] += cents
    return dict(totals)


@app.task(name="usage.partial_totals")
def partial_totals(first_id: int, last_id: int) -> dict[str, int]:
    return chunk_totals(first_id, last_id)


@app.task(name="usage.merge_partials")
def merge_partials(partials: list[dict[str, int]]) -> dict[str, int]:
    note_input("merge_partials", partials)
    totals: Counter[str] = Counter()
    for partial in partials:
        totals.update(partial)
    return dict(totals)


@app.task(name="usage.upsert_partial")
def upsert_partial(run: str, chunk_no: int, first_id: int, last_id: int) -> None:
    rows = [(run, chunk_no, t, c) for t, c in sorted(chunk_totals(first_id, last_id).items())]
    with psycopg.connect(POSTGRES_URL) as conn:  # commits on a clean exit
        conn.cursor().executemany(
            f"INSERT INTO {TABLE} (run, chunk_no, tenant, cents) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (run, chunk_no, tenant) DO UPDATE SET cents = EXCLUDED.cents",
            rows,
        )


@app.task(name="usage.reduce_in_sql")
def reduce_in_sql(header_results: list[None], run: str) -> dict[str, int]:
    note_input("reduce_in_sql", header_results)
    with psycopg.connect(POSTGRES_URL) as conn:
        rows = conn.execute(
            f"SELECT tenant, SUM(cents)::bigint FROM {TABLE} WHERE run = %s GROUP BY tenant",
            (run,),
        ).fetchall()
    return {tenant: int(cents) for tenant, cents in rows}


@app.task(name="usage.map_to_hash")
def map_to_hash(run: str, chunk_no: int, first_id: int, last_id: int) -> str:
    key = f"{NS}:{run}:L0:{chunk_no}"
    partial: dict[Any, Any] = chunk_totals(first_id, last_id)
    store.hset(key, mapping=partial)  # HSET overwrites: safe to run twice
    store.expire(key, 600)
    return key


@app.task(name="usage.reduce_hashes")
def reduce_hashes(keys: list[str], run: str, level: int, node: int) -> str:
    totals: Counter[str] = Counter()
    with store.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hgetall(key)
        for partial in pipe.execute():
            totals.update({tenant: int(cents) for tenant, cents in partial.items()})
    out = f"{NS}:{run}:L{level}:{node}"
    merged: dict[Any, Any] = dict(totals)
    store.hset(out, mapping=merged)
    store.expire(out, 600)
    store.rpush(f"{NS}:journal", f"level {level} node {node}: merged {len(keys)} hashes")
    return out


@worker_ready.connect
def announce_ready(**_: Any) -> None:
    store.set(f"{NS}:ready", 1)


def run_worker(log_path: str) -> None:
    os.setsid()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    worker = app.Worker(
        pool="threads", concurrency=4, loglevel="INFO", quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode or 0)


@contextmanager
def running_worker(log_path: Path) -> Iterator[BaseProcess]:
    sys.stdout.flush()
    process = multiprocessing.get_context("fork").Process(target=run_worker, args=(str(log_path),))
    process.start()
    try:
        wait_until(lambda: store.exists(f"{NS}:ready") == 1, "the worker to start")
        yield process
    finally:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)
            process.join(15)
            if process.is_alive():
                os.killpg(process.pid, signal.SIGKILL)
                process.join()


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 25) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.02)


def stored_results() -> tuple[int, int]:
    """Task results in the result backend (the chord's own keys are gone by now): how many, and
    the bytes of their values. Each key also holds metadata (id, state, a timestamp), not counted
    here because its size does not depend on what the task returned."""
    metas = [
        json.loads(store.get(key) or "{}") for key in store.scan_iter(f"{NS}:celery-task-meta-*")
    ]
    return len(metas), sum(len(dumps(meta.get("result"))) for meta in metas)


def clear_results() -> None:
    keys = list(store.scan_iter(f"{NS}:celery-task*"))
    if keys:
        store.delete(*keys)


def ranges() -> list[tuple[int, int]]:
    return [(start, start + CHUNK - 1) for start in range(1, EVENTS + 1, CHUNK)]


def report(label: str, totals: dict[str, int], expected: dict[str, int], reducer: str) -> None:
    received = int(store.hget(f"{NS}:received", reducer) or 0)
    print(f"   {label}: correct={totals == expected}, reducer received {received:,} bytes,")
    results, value_bytes = stored_results()
    print(f"   result backend holds {results} task results, their values {value_bytes:,} bytes")
    clear_results()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    expected = chunk_totals(1, EVENTS)
    chunks = ranges()
    print(f"{EVENTS:,} events, {len(chunks)} chunks of {CHUNK:,}, {len(expected)} tenants")
    with tempfile.TemporaryDirectory() as tmp, psycopg.connect(POSTGRES_URL) as db:
        db.autocommit = True
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")
        db.execute(
            f"CREATE TABLE {TABLE} (run text, chunk_no int, tenant text, cents bigint, "
            "PRIMARY KEY (run, chunk_no, tenant))"
        )
        log_path = Path(tmp) / "worker.log"
        try:
            with running_worker(log_path):
                print("1. map returns raw rows, one reducer gets them all")
                workflow = chord((raw_rows.s(a, b) for a, b in chunks), sum_rows.s())
                report("raw rows", workflow.apply_async().get(timeout=20), expected, "sum_rows")

                print("2. map reduces its own chunk and returns a partial")
                workflow = chord((partial_totals.s(a, b) for a, b in chunks), merge_partials.s())
                totals = workflow.apply_async().get(timeout=20)
                report("partials", totals, expected, "merge_partials")

                print("3. partials upserted into PostgreSQL by key, reducer is a GROUP BY")
                header = [upsert_partial.si("nightly", n, a, b) for n, (a, b) in enumerate(chunks)]
                header.append(upsert_partial.si("nightly", 0, *chunks[0]))  # a redelivered copy
                workflow = chord(header, reduce_in_sql.s("nightly"))
                report("in PostgreSQL", workflow.apply_async().get(timeout=20), expected,
                       "reduce_in_sql")  # fmt: skip
                rows = db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
                print(f"   {rows[0] if rows else 0} partial rows from {len(header)} map tasks "
                      f"({len(chunks)} chunks x {len(expected)} tenants)")  # fmt: skip

                print(f"4. a tree: {len(chunks)} map tasks -> fan-in {FAN_IN} -> 1 final reduce")
                branches = [
                    chord(
                        (map_to_hash.si("tree", n, *chunks[n]) for n in range(i, i + FAN_IN)),
                        reduce_hashes.s("tree", 1, i // FAN_IN),
                    )
                    for i in range(0, len(chunks), FAN_IN)
                ]
                final_key = chord(group(branches), reduce_hashes.s("tree", 2, 0)).apply_async()
                key = final_key.get(timeout=20)
                tree = {str(tenant): int(c) for tenant, c in store.hgetall(key).items()}
                journal = sorted(str(line) for line in store.lrange(f"{NS}:journal", 0, -1))
                for line in journal:
                    print(f"   {line}")
                print(f"   final hash {key.removeprefix(NS + ':')}: correct={tree == expected}")
        except Exception:
            log.exception("map-reduce failed; worker log follows")
            print(log_path.read_text()[-3000:] if log_path.exists() else "(no worker log)")
            raise
        finally:
            db.execute(f"DROP TABLE IF EXISTS {TABLE}")
            keys = list(store.scan_iter(f"{NS}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
