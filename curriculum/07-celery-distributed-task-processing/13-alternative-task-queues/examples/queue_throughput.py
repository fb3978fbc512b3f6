"""The same tiny job (one Redis INCR) through RQ, Dramatiq, Huey and Celery, all on Redis.

Each library gets a real worker in a forked child process, a warm-up job so that start-up
is not measured, then a burst of JOBS jobs. The clock runs from the first enqueue to the
moment the job counter reaches JOBS. Concurrency: RQ runs one job at a time per worker
process (scale it by starting more workers); Dramatiq and Huey use two threads; Celery uses
a prefork pool of two processes. The counts are exact; the rates vary from run to run.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import dramatiq
import redis
from celery import Celery
from dramatiq.brokers.redis import RedisBroker
from huey import RedisHuey  # type: ignore[import-untyped]
from invoice_jobs import KEYSPACE_VARIABLE, REDIS_URL, touch_order
from rq import Queue, SimpleWorker, Worker

RUN = f"s7_13_bench_{os.getpid()}"
os.environ[KEYSPACE_VARIABLE] = RUN  # touch_order counts into {RUN}:touched
JOBS = 100
COUNTER = f"{RUN}:touched"
log = logging.getLogger("benchmark")

rq_queue = Queue(f"{RUN}_rq", connection=redis.Redis.from_url(REDIS_URL))
dramatiq_broker = RedisBroker(url=REDIS_URL, namespace=f"{RUN}_dq")  # type: ignore[no-untyped-call]
dramatiq_touch = dramatiq.actor(actor_name="touch_order", broker=dramatiq_broker)(touch_order)
huey = RedisHuey(f"{RUN}_huey", url=REDIS_URL)
huey_touch = huey.task()(touch_order)
celery_app = Celery(f"{RUN}_celery", broker=REDIS_URL)
celery_app.conf.update(
    task_default_queue=f"{RUN}_celery",
    task_ignore_result=True,
    worker_enable_remote_control=False,
    broker_connection_retry_on_startup=True,
    broker_transport_options={"global_keyprefix": f"{RUN}_celery:"},
)
celery_touch = celery_app.task(name="touch_order")(touch_order)


def rq_enqueue(order_id: int) -> Any:
    return rq_queue.enqueue(touch_order, order_id)  # RQ needs no decorator


def wait_for_signal() -> None:
    signal.sigwait({signal.SIGTERM})


def run_rq(worker_class: type[Worker] | type[SimpleWorker]) -> None:
    worker_class([rq_queue], connection=redis.Redis.from_url(REDIS_URL)).work()


def run_dramatiq() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # threads inherit the mask
    worker = dramatiq.Worker(dramatiq_broker, worker_threads=2, worker_timeout=100)
    worker.start()
    wait_for_signal()
    worker.stop()


def run_huey() -> None:
    huey.create_consumer(workers=2, worker_type="thread", periodic=False).run()


def run_celery() -> None:
    worker = celery_app.Worker(
        concurrency=2, pool="prefork", loglevel="WARNING", quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()


def child(target: Callable[[], None]) -> None:
    log_fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    target()
    os._exit(0)


@contextmanager
def running(target: Callable[[], None], stop_signal: signal.Signals) -> Iterator[None]:
    sys.stdout.flush()
    process = multiprocessing.get_context("fork").Process(target=child, args=(target,))
    process.start()
    try:
        yield
    finally:
        if process.pid is not None and process.is_alive():
            os.kill(process.pid, stop_signal)
        process.join(timeout=15)
        if process.is_alive():
            process.kill()
            process.join()


def wait_for_count(store: redis.Redis, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while int(store.get(COUNTER) or 0) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{COUNTER} stuck at {store.get(COUNTER)!r} of {count}")
        time.sleep(0.005)


def measure(
    store: redis.Redis, name: str, enqueue: Callable[[int], Any], target: Callable[[], None],
    stop_signal: signal.Signals = signal.SIGTERM,
) -> None:  # fmt: skip
    store.set(COUNTER, 0)
    with running(target, stop_signal):
        enqueue(0)  # warm-up: the worker is up and has imported everything
        wait_for_count(store, 1)
        store.set(COUNTER, 0)
        started = time.perf_counter()
        for order_id in range(1, JOBS + 1):
            enqueue(order_id)
        enqueued = time.perf_counter() - started
        wait_for_count(store, JOBS)
        elapsed = time.perf_counter() - started
    done = int(store.get(COUNTER) or 0)
    print(
        f"  {name:<21} {done} jobs done, {JOBS / elapsed:.0f} jobs/s"
        f" (enqueueing alone: {JOBS / enqueued:.0f} jobs/s)"
    )


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
    store = redis.Redis.from_url(REDIS_URL)
    runs: list[tuple[str, Callable[[int], Any], Callable[[], None], signal.Signals]] = [
        ("RQ Worker", rq_enqueue, lambda: run_rq(Worker), signal.SIGTERM),
        ("RQ SimpleWorker", rq_enqueue, lambda: run_rq(SimpleWorker), signal.SIGTERM),
        ("Dramatiq (2 threads)", dramatiq_touch.send, run_dramatiq, signal.SIGTERM),
        ("Huey (2 threads)", huey_touch, run_huey, signal.SIGINT),
        ("Celery (prefork, 2)", celery_touch.delay, run_celery, signal.SIGTERM),
    ]  # fmt: skip
    print(f"{JOBS} jobs of one Redis INCR each, one worker per library:")
    try:
        for name, enqueue, target, stop_signal in runs:
            measure(store, name, enqueue, target, stop_signal)
    finally:
        keys = list(store.scan_iter(f"*{RUN}*"))
        if keys:
            store.delete(*keys)
        store.srem(Queue.redis_queues_keys, rq_queue.key)


if __name__ == "__main__":
    main()
