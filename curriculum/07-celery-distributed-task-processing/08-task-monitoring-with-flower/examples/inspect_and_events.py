"""The two channels Flower is built on, used directly: remote control and the event stream.

A real prefork worker renders invoices. The script asks it what it is doing with
app.control.inspect() (ping, active, reserved, stats, active_queues), reads the queue's depth
from Redis, and follows the cluster in real time with an event receiver feeding a
celery.events.State, the same class Flower keeps its task list in. It also shows that a
worker started without events sends none until a control command switches them on, which is
what Flower does every few seconds.

Run it with `python inspect_and_events.py` (needs Redis). The worker is stopped at the end.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import redis
from celery import Celery
from celery.events.receiver import EventReceiver
from celery.events.state import State

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_8_inspect_{os.getpid()}"  # one namespace per run; the forked worker inherits it
WORKER = f"invoices@{RUN}"
GATE = f"{RUN}:gate"  # the invoice tasks wait until this key exists

app = Celery("inspect_and_events", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue="invoices",
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    event_exchange=f"{RUN}.ev",  # a private event stream and control mailbox for this run
    control_exchange=f"{RUN}.ctl",
    worker_send_task_events=False,  # the default: the worker sends no task events
    task_send_sent_event=True,  # a client setting: this process announces what it sends
    worker_prefetch_multiplier=1,
    result_expires=300,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("invoices")
store = redis.Redis.from_url(REDIS_URL, decode_responses=True)


@app.task
def export_report(tenant: str) -> str:
    return f"report for {tenant}"


@app.task
def render_invoice_pdf(invoice_id: int) -> str:
    deadline = time.monotonic() + 20
    while not store.exists(GATE) and time.monotonic() < deadline:
        time.sleep(0.05)  # stands in for a slow render; released by the driver
    return f"INV-{invoice_id}.pdf"


def die_with_parent(signum: int) -> None:
    """In a child process, before it starts: on Linux, have the kernel send it `signum` if this
    script dies without reaching its `finally` (killed at a CI timeout, for instance)."""
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signum)


def run_worker(log_path: str) -> None:
    """The child process: a real Celery worker, forked so it need not import Celery again."""
    os.setsid()
    die_with_parent(signal.SIGTERM)  # a warm shutdown that also stops the pool processes
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = app.Worker(
        hostname=WORKER, pool="prefork", concurrency=2, loglevel="INFO", quiet=True,
        without_gossip=True, without_mingle=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode or 0)


def start_worker(log_path: str) -> multiprocessing.process.BaseProcess:
    sys.stdout.flush()
    process = multiprocessing.get_context("fork").Process(target=run_worker, args=(log_path,))
    process.start()
    return process


def stop_worker(worker: multiprocessing.process.BaseProcess) -> None:
    if worker.is_alive() and worker.pid is not None:
        os.kill(worker.pid, signal.SIGTERM)
        worker.join(timeout=10)
        if worker.is_alive():
            os.killpg(worker.pid, signal.SIGKILL)
            worker.join()


class EventMonitor(threading.Thread):
    """Real-time monitoring without Flower: every event goes into a State and a counter."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.state: Any = State()  # Any: celery-types' stub of State lacks tasks and workers
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.receiver: EventReceiver | None = None

    def on_event(self, event: dict[str, Any]) -> None:
        with self.lock:
            self.state.event(event)  # rebuilds task and worker objects from the stream
            self.counts[event["type"]] += 1

    def run(self) -> None:
        with app.connection() as connection:
            self.receiver = app.events.Receiver(connection, handlers={"*": self.on_event})
            self.receiver.capture(limit=None, timeout=None, wakeup=False)

    def stop(self) -> None:
        if self.receiver is not None:
            self.receiver.should_stop = True  # checked about once a second
        self.join(timeout=5)

    def count_state(self, state: str) -> int:
        with self.lock:
            return sum(task.state == state for task in self.state.tasks.values())

    def task_counts(self) -> dict[str, int]:
        """Task events seen so far, in lifecycle order (events from several connections can
        arrive in any order, so the order of first arrival is not stable)."""
        order = ("task-sent", "task-received", "task-started", "task-succeeded")
        with self.lock:
            return {kind: self.counts[kind] for kind in order if self.counts[kind]}


def ask(method: str) -> Any:
    """One inspect call to this run's worker, returning its reply (None if it did not answer).

    limit=1 returns as soon as the one worker has replied instead of waiting out the timeout.
    """
    inspect = app.control.inspect(timeout=1.0, destination=[WORKER], limit=1)
    replies: dict[str, Any] = getattr(inspect, method)() or {}
    return replies.get(WORKER)


def wait_until(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def short(tasks: list[dict[str, Any]]) -> list[str]:
    return sorted(f"{t['name'].rsplit('.', 1)[1]}{tuple(t['args'])}" for t in tasks)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("kombu").setLevel(logging.WARNING)  # no "Connected to redis://..." line
    with tempfile.TemporaryDirectory() as tmp:
        worker_log = os.path.join(tmp, "worker.log")
        worker = start_worker(worker_log)
        monitor = EventMonitor()
        try:
            wait_until(lambda: ask("ping") is not None, "the worker to answer ping")
            print(f"1. inspect().ping() -> {{'invoices@<run>': {ask('ping')}}}")

            monitor.start()
            dispatcher = app.events.Dispatcher(app.connection_for_write())

            def subscribed() -> bool:  # Redis drops events nobody is subscribed to: probe first
                dispatcher.send("monitor-probe")
                return monitor.counts["monitor-probe"] > 0

            wait_until(subscribed, "the event receiver to subscribe")
            export_report.delay("acme").get(timeout=10)
            # The result reaches the backend before the worker's main process has finished
            # with the task; wait for that too, or the switch below could catch its last event.
            wait_until(lambda: ask("active") == [], "the worker to finish the first task")
            wait_until(lambda: monitor.counts["task-sent"] == 1, "the task-sent event")
            print(f"2. events off in the worker: task events seen {monitor.task_counts()}")
            replies = app.control.enable_events(reply=True, destination=[WORKER], timeout=1.0)
            print(
                f"   control.enable_events() -> {[next(iter(r.values())) for r in replies or []]}"
            )
            export_report.delay("globex").get(timeout=10)
            wait_until(
                lambda: monitor.counts["task-sent"] == 2 and monitor.counts["task-succeeded"] == 1,
                "the second task's events",
            )
            print(f"   after enable_events: {monitor.task_counts()}")

            for invoice_id in range(9001, 9007):
                render_invoice_pdf.delay(invoice_id)

            def backlog_settled() -> bool:
                active, reserved = ask("active") or [], ask("reserved") or []
                started = monitor.count_state("STARTED")  # the events may trail the replies
                return len(active) == 2 and len(reserved) == 2 and started == 2

            wait_until(backlog_settled, "two running and two reserved invoices")
            print("3. six invoices sent to a worker with concurrency 2, prefetch multiplier 1")
            print(f"   inspect().active()   -> {short(ask('active'))}")
            print(f"   inspect().reserved() -> {short(ask('reserved'))}")
            print(f"   LLEN invoices        -> {store.llen(f'{RUN}:invoices')} waiting in Redis")
            stats = ask("stats")
            pool = stats["pool"]
            processes = len(pool["processes"])
            print(f"   stats(): max-concurrency={pool['max-concurrency']}, processes={processes}")
            print(f"   stats(): prefetch_count={stats['prefetch_count']}")
            print(f"   active_queues() -> {[queue['name'] for queue in ask('active_queues')]}")
            print(f"   the event State agrees: {monitor.count_state('STARTED')} tasks in STARTED")

            store.set(GATE, 1)
            wait_until(
                lambda: monitor.counts["task-sent"] == 8 and monitor.counts["task-succeeded"] == 7,
                "all invoices to finish",
            )
            print("4. after the backlog drained")
            print(f"   event counts: {monitor.task_counts()}")
            with monitor.lock:
                tasks, workers = monitor.state.tasks.values(), monitor.state.workers.values()
                by_state = Counter((str(t.name).rsplit(".", 1)[-1], t.state) for t in tasks)
                hosts = [w.hostname.replace(RUN, "<run>") for w in workers]
            for (name, state), count in sorted(by_state.items()):
                print(f"   State: {name:<18} {state:<8} x{count}")
            print(f"   State.workers -> {hosts}")
            totals = {name.rsplit(".", 1)[1]: n for name, n in ask("stats")["total"].items()}
            print(f"   stats()['total'] -> {totals}")
        except Exception:
            log.exception("example failed; worker log follows")
            with open(worker_log) as handle:
                print(handle.read()[-3000:])
            raise
        finally:
            monitor.stop()
            store.set(GATE, 1)
            stop_worker(worker)
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
