"""solo, prefork and threads pools on the same I/O-bound and CPU-bound tasks, measured.

One worker per pool, each the worker `celery -A worker_pools worker --pool=POOL -c N -Q
reports.POOL` would start, runs 6 tasks that wait 0.2 s (a stand-in for an HTTP call) and 4
tasks that burn about 0.1 s of CPU in pure Python. Every task reports its process, start,
end and CPU time, so the timings come from inside the workers and exclude start-up. Wall times
and CPU use vary from run to run and are masked in the recorded output; the counts do not.
Each pool has its own queue, so one worker can finish shutting down while the next starts.
"""

import logging
import multiprocessing
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

import redis
from celery import Celery, Task

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = os.environ.setdefault("S7_2_POOLS_RUN", f"s7_2_pools_{os.getpid()}")
PREFIX = f"{RUN}:"

log = logging.getLogger("reports.client")

app = Celery("reports", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue="reports",
    broker_transport_options={"global_keyprefix": PREFIX},
    result_backend_transport_options={"global_keyprefix": PREFIX},
    broker_connection_retry_on_startup=True,
    result_expires=600,
)

_clients: dict[int, redis.Redis] = {}


def broker_client() -> redis.Redis:
    """One Redis client per process: prefork children must not share their parent's socket."""
    pid = os.getpid()
    if pid not in _clients:
        _clients[pid] = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    return _clients[pid]


def still_unacked(task_id: str) -> bool:
    """Is this task's own message still in the broker's unacked hash?"""
    held = broker_client().hvals(PREFIX + "unacked")
    return any(f'"id": "{task_id}"' in str(raw) for raw in held)


def report(started: float, cpu_started: float, **extra: Any) -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "start": started,
        "end": time.time(),
        "cpu": time.thread_time() - cpu_started,
        **extra,
    }


@app.task(name="reports.fetch_exchange_rates", bind=True)
def fetch_exchange_rates(self: Task[Any, Any], currency: str) -> dict[str, Any]:
    started, cpu_started = time.time(), time.thread_time()
    time.sleep(0.2)  # waiting on a remote API: the thread holds no CPU and no GIL
    return report(started, cpu_started, unacked_at_end=still_unacked(str(self.request.id)))


@app.task(name="reports.checksum_ledger")
def checksum_ledger(rows: int) -> dict[str, Any]:
    started, cpu_started = time.time(), time.thread_time()
    checksum = 0
    for row in range(rows):  # pure Python: holds the GIL the whole time
        checksum = (checksum * 31 + row) % 1_000_003
    return report(started, cpu_started, checksum=checksum)


@dataclass(frozen=True)
class Run:
    pool: str
    concurrency: int

    @property
    def queue(self) -> str:
        return f"reports.{self.pool}"

    @property
    def hostname(self) -> str:
        return f"{self.pool}.{RUN}@localhost"


def run_worker(run: Run, log_fd: int) -> None:
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = app.Worker(
        hostname=run.hostname, queues=[run.queue], pool=run.pool, concurrency=run.concurrency,
        loglevel="WARNING", quiet=True, without_mingle=True, without_gossip=True,
        without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode)


def ask_to_stop(run: Run) -> None:
    try:
        app.control.shutdown(destination=[run.hostname])
    except Exception:
        log.exception("could not send the shutdown command to %s", run.pool)


def wait_stopped(process: BaseProcess) -> None:
    process.join(timeout=15)
    if process.is_alive():
        process.terminate()
        process.join(timeout=5)
    if process.is_alive():
        process.kill()
        process.join()


def peak_overlap(reports: list[dict[str, Any]]) -> int:
    """The largest number of tasks that were running at the same instant."""
    edges = sorted([(r["start"], 1) for r in reports] + [(r["end"], -1) for r in reports])
    running = peak = 0
    for _, change in edges:
        running += change
        peak = max(peak, running)
    return peak


def measure(run: Run, workload: str) -> str:
    if workload == "I/O":
        currencies = ("EUR", "USD", "GBP", "JPY", "CHF", "SEK")
        results = [fetch_exchange_rates.apply_async((c,), queue=run.queue) for c in currencies]
    else:
        results = [checksum_ledger.apply_async((1_000_000,), queue=run.queue) for _ in range(4)]
    reports = [result.get(timeout=30) for result in results]
    wall = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    cpu = sum(r["cpu"] for r in reports)
    processes = len({r["pid"] for r in reports})
    acked = "" if workload != "I/O" else (
        "after" if any(r["unacked_at_end"] for r in reports) else "before"
    )  # fmt: skip
    return (
        f"{run.pool:<8}{run.concurrency:>4}  {workload:<4}{len(reports):>6}{processes:>6}"
        f"{peak_overlap(reports):>6}  {wall:5.2f} s   {cpu / wall:4.2f}     {acked}"
    ).rstrip()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    broker_client().ping()
    app.connection_for_write().ensure_connection(max_retries=1)
    print("pool    conc  load tasks procs  peak    wall  cpu/wall  early ack sent")
    context = multiprocessing.get_context("fork")
    workers: list[BaseProcess] = []
    try:
        for run in (Run("solo", 1), Run("prefork", 2), Run("threads", 8)):
            with tempfile.TemporaryFile() as worker_log:
                sys.stdout.flush()
                worker: BaseProcess = context.Process(
                    target=run_worker, args=(run, worker_log.fileno())
                )
                worker.start()
                workers.append(worker)
                try:
                    for workload in ("I/O", "CPU"):
                        print(measure(run, workload))
                except Exception:
                    worker_log.seek(0)
                    log.error("worker output:\n%s", worker_log.read().decode(errors="replace"))
                    raise
                finally:
                    ask_to_stop(run)  # it shuts down while the next worker starts
    finally:
        for worker in workers:
            wait_stopped(worker)
        client = broker_client()
        leftovers = list(client.scan_iter(match=f"{PREFIX}*"))
        if leftovers:
            client.delete(*leftovers)
        client.close()


if __name__ == "__main__":
    main()
