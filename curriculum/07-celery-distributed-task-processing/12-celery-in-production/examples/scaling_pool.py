"""Resizing a worker's pool: remote control pool_grow/pool_shrink, and --autoscale under a backlog.

RabbitMQ is the broker (tasks and remote control); Redis keeps the results. The control
exchange carries this run's name, so `inspect` and `control` reach only this run's workers.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import redis
from celery import Celery
from celery.signals import worker_ready
from kombu import Connection

RABBITMQ_URL = os.environ.get("PYMASTERY_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_12_scale_{os.getpid()}"
QUEUE = f"{RUN}.exports"

app = Celery("exports", broker=RABBITMQ_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=QUEUE,
    control_exchange=f"{RUN}.control",  # remote control isolated to this run
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("exports.scaling")


@app.task(name="exports.build_csv")
def build_csv(tenant: str) -> str:
    time.sleep(0.5)  # querying and writing the export
    return f"{tenant}.csv"


def keep_loop_awake(sender: Any, **_: Any) -> None:
    """Section 7.4's workaround: lets an idle worker notice SIGTERM promptly."""
    sender.timer.call_repeatedly(0.25, lambda: None)


def run_worker(node: str, log_path: str, options: dict[str, Any]) -> None:
    os.setsid()
    # The autoscaler re-checks every AUTOSCALE_KEEPALIVE seconds (30 by default) and scales
    # down only after that long without new work; 1 s keeps the demonstration short.
    os.environ["AUTOSCALE_KEEPALIVE"] = "1"
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    worker_ready.connect(keep_loop_awake, weak=False)
    worker = app.Worker(
        hostname=f"{node}@{RUN}", pool="prefork", loglevel="INFO", quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True, **options,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode or 0)


def start_worker(node: str, log_path: str, **options: Any) -> Any:
    sys.stdout.flush()
    process = multiprocessing.get_context("fork").Process(
        target=run_worker, args=(node, log_path, options)
    )
    process.start()
    return process


def stop_workers(children: list[Any]) -> None:
    """SIGTERM to every worker first (they shut down in parallel), then wait for each."""
    for process in children:
        if process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
    for process in children:
        process.join(20)
        if process.is_alive():
            log.error("worker did not stop; killing its process group")
            os.killpg(process.pid, signal.SIGKILL)
            process.join()


def stats(node: str) -> dict[str, Any]:
    """`celery inspect stats` for one node, retried until the worker answers."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        replies = app.control.inspect(destination=[node], timeout=1.0, limit=1).stats() or {}
        if node in replies:
            return dict(replies[node])
    raise TimeoutError(f"{node} did not answer inspect stats")


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.2)


def processes(node: str) -> set[int]:
    """The pids of the pool's children, as the worker's own list holds them."""
    return set(stats(node)["pool"]["processes"])


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    store = redis.Redis.from_url(REDIS_URL)
    workers: list[Any] = []
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "workers.log")
        try:
            # Both workers are forked before this process talks to the broker: a child forked
            # later would inherit the remote-control producer and write on the parent's socket.
            fixed = start_worker("fixed", log_path, concurrency=2, queues=[f"{RUN}.idle"])
            workers.append(fixed)
            workers.append(start_worker("auto", log_path, autoscale=(4, 1), queues=[QUEUE]))

            print("1. a fixed pool of 2: pool_grow(2), then pool_shrink(1), by remote control")
            node = f"fixed@{RUN}"
            before = processes(node)
            print(f"   pool processes: {len(before)}")
            reply = app.control.pool_grow(2, destination=[node], reply=True, timeout=5, limit=1)
            print(f"   pool_grow(2) reply: {(reply or [{}])[0][node]}")
            print(f"   pool processes right after the reply: {len(processes(node))}")
            reply = app.control.pool_shrink(1, destination=[node], reply=True, timeout=5, limit=1)
            print(f"   pool_shrink(1) reply: {(reply or [{}])[0][node]}")

            print("2. --autoscale=4,1 and a backlog of 8 exports of 0.5 s each")
            node = f"auto@{RUN}"
            print(f"   idle: {stats(node)['autoscaler']}")
            results = [build_csv.delay(f"tenant-{n}") for n in range(8)]
            wait_until(lambda: stats(node)["autoscaler"]["current"] == 4, "pool did not grow")
            print("   the pool reached 4 processes while the backlog lasted")
            for result in results:
                result.get(timeout=30)
            print("   all 8 exports finished")
            wait_until(lambda: stats(node)["autoscaler"]["current"] == 1, "pool did not shrink")
            print(f"   idle again: {stats(node)['autoscaler']}")
            with open(log_path) as handle:
                text = handle.read()
            # A shrink that finds every process busy is logged and tried again later, so only
            # the growth adds up to a fixed number.
            up = sum(int(n) for n in re.findall(r"Scaling up (\d+) processes", text))
            print(f"   worker log: 'Scaling up' lines add up to {up} processes")

            # pool_grow only raised the target. The pool's maintenance forks the processes: it
            # runs when a child exits (here, the one pool_shrink stopped) and every 5 seconds.
            print("3. the fixed pool, once its maintenance has run")
            node = f"fixed@{RUN}"
            wait_until(lambda: len(processes(node)) == 3, "pool did not reach 3 processes")
            now = processes(node)
            kept, new = len(now & before), len(now - before)
            print(f"   pool processes: {len(now)} ({kept} of the original 2, {new} new)")
        except Exception:
            log.exception("example failed; worker log follows")
            with open(log_path) as handle:
                print(handle.read()[-4000:])
            raise
        finally:
            stop_workers(workers)
            with Connection(RABBITMQ_URL) as connection:
                channel: Any = connection.default_channel
                channel.queue_delete(QUEUE)
                channel.exchange_delete(QUEUE)
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
