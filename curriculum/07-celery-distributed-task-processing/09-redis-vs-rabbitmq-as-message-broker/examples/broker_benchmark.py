"""The same Celery workload on Redis and on RabbitMQ, measured on this machine.

For each broker in turn: start one worker (prefork, concurrency 2, default prefetch), then
1. send 20 probe tasks one at a time, each only after the previous one started: the cost of
   one trip through an idle broker and worker;
2. send a burst of 500 tiny tasks as fast as the client can and time how long the worker
   needs to start them all: throughput, and how long tasks waited in the queue.

Every task records (sent, started) on the shared monotonic clock in a Redis list, so both
runs pay the same bookkeeping cost. Timings vary run to run and are masked in the checked
output; the lesson discusses the numbers.
"""

import logging
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from celery.signals import worker_ready
from kombu import Connection

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("PYMASTERY_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
RUN = f"s7_9_bench_{os.getpid()}"
BURST = 500
PROBES = 20
CONCURRENCY = 2
log = logging.getLogger("orders.benchmark")

_store: redis.Redis | None = None  # one connection per worker child, made on first use


def store() -> redis.Redis:
    global _store
    if _store is None:
        _store = redis.Redis.from_url(REDIS_URL)
    return _store


def make_app(broker: str) -> Celery:
    """One app per broker; everything except the broker URL is identical."""
    namespace = f"{RUN}_{broker}"
    app = Celery(namespace, broker=REDIS_URL if broker == "redis" else RABBITMQ_URL)
    app.conf.update(
        task_default_queue=namespace,
        task_default_exchange=namespace,
        task_ignore_result=True,
        worker_enable_remote_control=False,
        broker_connection_retry_on_startup=True,
    )
    if broker == "redis":
        # every key kombu creates (queue list, bindings, unacked hash) gets this prefix
        app.conf.broker_transport_options = {"global_keyprefix": f"{namespace}:"}

    app.task(name="orders.touch")(touch)
    return app


def touch(timings_key: str, sent_at: float) -> None:
    """The task: record when it was sent and when a worker child started it."""
    store().rpush(timings_key, f"{sent_at!r} {time.monotonic()!r}")


APPS = {broker: make_app(broker) for broker in ("redis", "rabbitmq")}


# --- worker harness: what `celery -A ... worker -c 2 -P prefork` starts ----------------------


def keep_loop_awake(sender: Any, **_: Any) -> None:
    """Wake the worker's event loop four times a second so SIGTERM is noticed at once."""
    sender.timer.call_repeatedly(0.25, lambda: None)


def run_worker(broker: str, log_path: Path) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    worker_ready.connect(keep_loop_awake, weak=False)
    worker = APPS[broker].Worker(
        hostname=f"bench-{broker}@s7-9",
        concurrency=CONCURRENCY,
        pool="prefork",
        loglevel="WARNING",
        quiet=True,
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    )
    worker.start()
    sys.exit(worker.exitcode)


@contextmanager
def running_worker(broker: str, log_path: Path) -> Iterator[None]:
    child = multiprocessing.get_context("fork").Process(
        target=run_worker, args=(broker, log_path), name="MainProcess"
    )
    child.start()
    try:
        yield
    finally:
        child.terminate()
        child.join(20)
        if child.is_alive():
            log.error("worker ignored SIGTERM; killing it")
            child.kill()
            child.join()


# --- measurement ------------------------------------------------------------------------------


def wait_for(client: redis.Redis, key: str, count: int, deadline_s: float) -> list[float]:
    """Wait until `count` records exist; return each task's wait (started - sent) in ms."""
    deadline = time.monotonic() + deadline_s
    while client.llen(key) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {client.llen(key)}/{count} tasks started in time")
        time.sleep(0.005)
    records = [line.split() for line in client.lrange(key, 0, -1)]
    client.delete(key)
    return [(float(started) - float(sent)) * 1000 for sent, started in records]


def pct(samples: list[float], p: int) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(p / 100 * len(ordered)) - 1)]  # nearest rank


def measure(broker: str, tmp: Path) -> None:
    app = APPS[broker]
    task = app.tasks["orders.touch"]
    client = store()
    key = f"{RUN}_{broker}:timings"
    with running_worker(broker, tmp / f"{broker}.log"):
        task.delay(key, time.monotonic())  # warm-up: also waits out worker start-up
        wait_for(client, key, 1, 25)

        hops: list[float] = []
        for _ in range(PROBES):
            task.delay(key, time.monotonic())
            hops += wait_for(client, key, 1, 10)

        began = time.monotonic()
        with app.producer_or_acquire() as producer:  # one channel for the whole burst
            for _ in range(BURST):
                task.apply_async((key, time.monotonic()), producer=producer)
        published = time.monotonic()
        waits = wait_for(client, key, BURST, 25)
        drained = time.monotonic()

    print(f"{broker:<9} idle hop     p50 {pct(hops, 50):6.2f} ms   p95 {pct(hops, 95):6.2f} ms")
    print(
        f"{'':<9} burst        {len(waits)}/{BURST} started, "
        f"publishing took {(published - began) * 1000:.0f} ms "
        f"({BURST / (published - began):.0f} tasks/s)"
    )
    print(
        f"{'':<9} throughput   {BURST / (drained - began):.0f} tasks/s "
        f"(first send to last start {(drained - began) * 1000:.0f} ms)"
    )
    print(
        f"{'':<9} queue wait   p50 {pct(waits, 50):.0f} ms   p95 {pct(waits, 95):.0f} ms   "
        f"mean {statistics.fmean(waits):.0f} ms"
    )


def clean_up() -> None:
    client = store()
    for stale in client.scan_iter(match=f"{RUN}_*"):
        client.delete(stale)
    with Connection(RABBITMQ_URL) as connection:
        channel: Any = connection.default_channel  # the stubs' StdChannel lacks queue_delete
        channel.queue_delete(f"{RUN}_rabbitmq")
        channel.exchange_delete(f"{RUN}_rabbitmq")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    print(
        f"Workload: {PROBES} one-at-a-time probes, then a burst of {BURST} tiny tasks;\n"
        f"one worker, prefork pool, concurrency {CONCURRENCY}, prefetch multiplier 4\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for broker in ("redis", "rabbitmq"):
            try:
                measure(broker, Path(tmp))
            except TimeoutError:
                print((Path(tmp) / f"{broker}.log").read_text()[-2000:])
                raise


if __name__ == "__main__":
    try:
        main()
    finally:
        clean_up()
