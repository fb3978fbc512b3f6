"""worker_max_tasks_per_child and worker_max_memory_per_child replacing prefork children.

Each part starts a real prefork worker (Redis broker and result backend) with one child process,
so the order of tasks is the order of children. Tasks report their process id; the example
prints child numbers (1st, 2nd, ... distinct pid), never the pids themselves. The harness runs
the pool's own maintenance every 0.25 s instead of every 5 s, so that no replacement child is
left waiting for the 5-second timer (the lesson explains when Celery itself leaves it waiting).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import resource
import signal
import sys
import tempfile
from typing import Any

import celery.app.log
import redis
from celery import Celery
from celery.signals import worker_ready

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_12_recycle_{os.getpid()}"
MB = 1024 * 1024

app = Celery("reports", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=f"{RUN}.reports",
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    worker_prefetch_multiplier=1,
    worker_enable_remote_control=False,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("reports.recycling")
_cache: list[bytes] = []  # a module-level cache that only grows: the classic slow leak


def peak_rss_mb() -> float:
    """What billiard compares with the limit on Linux: ru_maxrss, the peak RSS, in KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@app.task(name="reports.render")
def render_report(tenant: str) -> int:
    return os.getpid()


@app.task(name="reports.render_leaky")
def render_leaky_report(tenant: str) -> dict[str, float]:
    _cache.append(b"\x01" * (25 * MB))  # 25 MB that nobody ever frees
    return {"pid": os.getpid(), "peak_mb": peak_rss_mb()}


@app.task(name="reports.render_spiky")
def render_spiky_report(tenant: str) -> dict[str, float]:
    buffer = b"\x01" * (80 * MB)  # a big intermediate result, freed before returning
    del buffer
    return {"pid": os.getpid(), "peak_mb": peak_rss_mb()}


# --- worker harness -------------------------------------------------------------------------


def maintain_pool_often(sender: Any, **_: Any) -> None:
    """Run the pool's maintenance (reap exited children, fork replacements) every 0.25 s.

    Celery registers the same method on the same event loop every 5 s (AsynPool.timers). When a
    child's exit notification arrives before the kernel lets the child be reaped, that timer is
    what forks the replacement, and the next task waits for it. The repeating timer also keeps
    an idle loop awake, so the worker notices SIGTERM promptly (section 7.4's workaround).
    """
    sender.timer.call_repeatedly(0.25, sender.pool.maintain_pool)


def run_worker(log_path: str, settings: dict[str, Any], memory_headroom_mb: int) -> None:
    os.setsid()
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    app.conf.update(settings)
    # billiard logs "child process exiting after exceeding memory limit" through the
    # multiprocessing logger, which Celery sets to ERROR unless MP_LOG is in the environment.
    # MP_LOG is read once, at import, so the harness sets the module flag it fills.
    celery.app.log.MP_LOG = "1"  # type: ignore[attr-defined]  # as MP_LOG=1 in the environment
    if memory_headroom_mb:
        # The limit is absolute (KiB of resident memory). Children are forked from this
        # process, so its own peak RSS is their starting point; allow the headroom above it.
        baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        app.conf.worker_max_memory_per_child = baseline_kib + memory_headroom_mb * 1024
    worker_ready.connect(maintain_pool_often, weak=False)
    worker = app.Worker(
        hostname=f"reports@{RUN}", pool="prefork", concurrency=1, loglevel="INFO", quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode or 0)


class Worker:
    """Start a forked worker on enter, and always stop it (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, log_path: str, settings: dict[str, Any], memory_headroom_mb: int = 0):
        sys.stdout.flush()
        self.process = multiprocessing.get_context("fork").Process(
            target=run_worker, args=(log_path, settings, memory_headroom_mb)
        )

    def __enter__(self) -> Worker:
        self.process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        pid = self.process.pid
        assert pid is not None
        if self.process.is_alive():
            os.kill(pid, signal.SIGTERM)
            self.process.join(20)
        if self.process.is_alive():
            log.error("worker did not stop; killing its process group")
            os.killpg(pid, signal.SIGKILL)
            self.process.join()


def child_numbers(pids: list[int]) -> list[int]:
    """Replace pids by 1, 2, 3... in order of first appearance."""
    order: dict[int, int] = {}
    return [order.setdefault(pid, len(order) + 1) for pid in pids]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    store = redis.Redis.from_url(REDIS_URL)
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "worker.log")
        try:
            print("1. worker_max_tasks_per_child=3, one child process, 6 reports")
            with Worker(log_path, {"worker_max_tasks_per_child": 3}):
                pids = [render_report.delay(f"tenant-{n}").get(timeout=20) for n in range(6)]
            print(f"   child that ran each task: {child_numbers(pids)}")

            print("2. worker_max_memory_per_child = the worker's own peak RSS + 60 MB")
            with Worker(log_path, {}, memory_headroom_mb=60):
                leaky = [render_leaky_report.delay(f"tenant-{n}").get(timeout=20) for n in range(4)]
                spiky = [render_spiky_report.delay(f"tenant-{n}").get(timeout=20) for n in range(2)]
            numbers = child_numbers([int(r["pid"]) for r in leaky + spiky])
            first_peak = leaky[0]["peak_mb"]
            growth = [5 * round((r["peak_mb"] - first_peak) / 5) for r in leaky]
            print(f"   leaky task (keeps 25 MB per call): child {numbers[:4]}")
            print(f"     its peak RSS above the first call's, MB (nearest 5): {growth}")
            print(f"   spiky task (80 MB, freed before it returns): child {numbers[4:]}")
            with open(log_path) as handle:
                said = [line.split(": ", 1)[1] for line in handle if "memory limit" in line]
            print("   the worker log, with MP_LOG=1 (numbers replaced by N):")
            print(f"     {re.sub(r'[0-9]+', 'N', said[0].strip())}")
        except Exception:
            log.exception("example failed; worker log follows")
            with open(log_path) as handle:
                print(handle.read()[-4000:])
            raise
        finally:
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
