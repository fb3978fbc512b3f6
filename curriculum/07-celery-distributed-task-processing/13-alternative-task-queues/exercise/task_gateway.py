"""A backend-neutral enqueue interface for moving billing jobs from Huey to Dramatiq.

The application calls run_cutover() (in production: one enqueue() per request) and never
imports a queue library. Both libraries run in memory here, with no broker: Huey in
immediate mode (MemoryHuey runs a task the moment it is enqueued) and Dramatiq on its
StubBroker with a real in-process Worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import dramatiq
from dramatiq.brokers.stub import StubBroker
from huey import MemoryHuey  # type: ignore[import-untyped]  # huey ships no type hints

QUEUE = "billing"
EFFECTS: list[str] = []  # what the outside world saw: emails sent, PDFs stored
DONE: set[str] = set()  # idempotency keys already applied (a unique index in production)
SKIPPED: list[str] = []  # keys whose duplicate delivery did nothing


def send_receipt(order_id: int, email: str) -> str:
    return f"receipt for order {order_id} to {email}"


def render_invoice(order_id: int) -> str:
    return f"invoice pdf for order {order_id}"


JOBS: dict[str, Callable[..., str]] = {
    "send_receipt": send_receipt,
    "render_invoice": render_invoice,
}


def apply_once(job: str, key: str, payload: dict[str, Any]) -> None:
    """Run JOBS[job](**payload) and record its effect, unless `key` was already applied.

    A key seen before is appended to SKIPPED instead, so a second delivery is harmless.
    """
    # TODO: if the key is in DONE, append it to SKIPPED and stop; otherwise call the job
    # with the payload as keyword arguments, append the returned text to EFFECTS and add
    # the key to DONE.
    raise NotImplementedError


# Each library gets the same plain function under the same name (given, do not change).
broker = StubBroker()
broker.emit_after("process_boot")
# max_retries=0: a job that raises is dead-lettered at once, and broker.join() re-raises its
# exception, instead of Dramatiq's default of 20 retries from a 15 s backoff.
dramatiq_apply = dramatiq.actor(
    actor_name="apply_once", queue_name=QUEUE, broker=broker, max_retries=0
)(apply_once)
huey = MemoryHuey("billing", immediate=True)
huey_apply = huey.task(name="apply_once")(apply_once)
_worker: dramatiq.Worker | None = None


def dramatiq_worker() -> dramatiq.Worker:
    """One in-process Worker (one thread), started on first use and kept running."""
    global _worker
    if _worker is None:
        _worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
        _worker.start()
    return _worker


def bucket(job: str, key: str) -> int:
    """A stable bucket 0-99: the first 8 bytes of sha256("<job>:<key>"), big-endian, mod 100."""
    # TODO: import hashlib at the top. Never use hash(): Python salts it per process, so
    # two web servers would send the same order to different systems.
    raise NotImplementedError


def choose_system(job: str, key: str, rollout: dict[str, int]) -> str:
    """Return "dramatiq" if bucket(job, key) < rollout.get(job, 0), else "huey".

    Raises ValueError for a job not in JOBS or a percentage outside 0-100.
    """
    # TODO: validate the job and the percentage, then compare the bucket with it.
    raise NotImplementedError


class TaskQueue(Protocol):
    """The whole interface the application sees; one adapter per queue library."""

    def enqueue(self, job: str, key: str, payload: dict[str, Any]) -> None: ...

    def drain(self) -> None: ...


class HueyQueue:
    """The old system: enqueueing runs the task at once (immediate mode)."""

    def enqueue(self, job: str, key: str, payload: dict[str, Any]) -> None:
        # TODO: call huey_apply like the plain function; Huey enqueues (and here runs) it.
        raise NotImplementedError

    def drain(self) -> None:
        """Nothing is ever pending in immediate mode."""


class DramatiqQueue:
    """The new system: messages wait on the stub broker until drain() runs a worker."""

    def enqueue(self, job: str, key: str, payload: dict[str, Any]) -> None:
        # TODO: send a message for dramatiq_apply with these three arguments.
        raise NotImplementedError

    def drain(self) -> None:
        """Wait until the queue is empty and the worker has finished what it took."""
        # TODO: start (or reuse) dramatiq_worker(), join the broker's QUEUE, join the worker.
        raise NotImplementedError


def run_cutover(requests: list[dict[str, Any]], rollout: dict[str, int]) -> dict[str, Any]:
    """Route every request, run both systems, and report what happened.

    Each request is {"job": str, "key": str, "payload": dict} and may carry "replay": true,
    which also enqueues it on the other system (a replay tool, or a dual write gone wrong).
    Returns {"routed": {"huey": n, "dramatiq": n}, "effects": sorted list, "skipped": n}.
    Every job is validated before anything is enqueued; state starts empty on every call.
    """
    # TODO: clear EFFECTS, DONE and SKIPPED; choose a system for every request first (so a
    # bad request raises before anything runs); enqueue each request on its system, and on
    # the other one too when it says "replay"; drain both systems; build the report.
    raise NotImplementedError
