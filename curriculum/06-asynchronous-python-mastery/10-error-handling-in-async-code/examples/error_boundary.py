"""An error boundary for a checkout endpoint: the one place where failures become responses.

The handler calls pricing, inventory and fraud in one TaskGroup under one deadline. Calls
annotate their own failures (which service, which task); the boundary sorts what comes out with
except*, picks one HTTP status, logs every failure once at the right level and counts it.
A cancelled request (the client went away) is never turned into a response.
"""

import asyncio
import logging
import sys
from collections import Counter
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

log = logging.getLogger("checkout")
request_id: ContextVar[str] = ContextVar("request_id", default="-")
DEADLINE = 1.0  # seconds for the whole fan-out

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class ValidationFailed(Exception):
    """The request cannot succeed as sent (a 4xx)."""


class UpstreamUnavailable(Exception):
    """A dependency is down; the client may retry later (a 503)."""

    def __init__(self, service: str) -> None:
        super().__init__(f"{service} answered 503")
        self.service = service


def leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for member in error.exceptions for leaf in leaves(member)]
    return [error]


def describe(error: BaseException) -> str:
    """Every leaf with its notes: what the log needs, without the frames (a real log has them)."""
    parts = []
    for leaf in leaves(error):
        notes = ", ".join(getattr(leaf, "__notes__", []))
        parts.append(f"{type(leaf).__name__}: {leaf} [{notes}]")
    return "; ".join(parts)


class LeafFormatter(logging.Formatter):
    def formatException(self, ei: ExcInfo) -> str:
        return f"    {describe(ei[1])}" if ei[1] is not None else ""


class RequestFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


# A scenario says, per service, how long the call takes and what it raises. Failures that
# must land in the same loop iteration use a delay of 0, so the demo is deterministic.
Scenario = dict[str, tuple[float, Exception | None]]


async def call(service: str, scenario: Scenario) -> str:
    delay, error = scenario.get(service, (0.01, None))
    try:
        await asyncio.sleep(delay)  # the HTTP call
        if error is not None:
            raise error
        return f"{service}: ok"
    except Exception as failure:  # annotate at the source; do not log here
        task = asyncio.current_task()
        failure.add_note(f"service={service} task={task.get_name() if task else '-'}")
        raise


async def checkout(order_id: str, scenario: Scenario) -> dict[str, str]:
    async with asyncio.TaskGroup() as group:
        calls = {
            service: group.create_task(call(service, scenario), name=f"{service}-{order_id}")
            for service in ("pricing", "inventory", "fraud")
        }
    return {service: task.result() for service, task in calls.items()}


@dataclass
class Failures:
    """What the except* clauses found; the status is decided once they have all run."""

    invalid: list[str] = field(default_factory=list)
    down: list[str] = field(default_factory=list)
    timed_out: bool = False
    bug: bool = False

    def status(self) -> int:
        if self.bug:
            return 500  # a bug outranks everything: it must be seen and fixed
        if self.invalid:
            return 400  # the request cannot succeed, whatever else failed
        if self.down:
            return 503
        return 504 if self.timed_out else 200


@dataclass(frozen=True)
class Response:
    status: int
    body: dict[str, Any]


async def handle_checkout(order_id: str, scenario: Scenario) -> Response:
    """The boundary: every exception except cancellation ends here, as a response."""
    request_id.set(f"req-{order_id}")
    found = Failures()
    deadline = asyncio.timeout(DEADLINE)
    try:
        async with deadline:
            return Response(200, await checkout(order_id, scenario))
    except* ValidationFailed as invalid:
        found.invalid = sorted(str(error) for error in leaves(invalid))
        log.info("rejected: %s", found.invalid)
    except* UpstreamUnavailable as down:
        found.down = sorted(e.service for e in leaves(down) if isinstance(e, UpstreamUnavailable))
        log.warning("dependency down", exc_info=down)
    except* TimeoutError as timeout:
        found.timed_out = True
        who = "our deadline" if deadline.expired() else "a client library"
        log.warning("timed out (%s, %d error(s))", who, len(leaves(timeout)))
    except* Exception as unexpected:
        found.bug = True
        log.error("unexpected failure", exc_info=unexpected)
    status = found.status()
    details: dict[int, Any] = {
        400: found.invalid,
        503: f"unavailable: {', '.join(found.down)}",
        504: "deadline exceeded",
        500: f"internal error, reference {request_id.get()}",  # what support asks the user for
    }
    return Response(status, {"error": details.get(status)})


async def serve(order_id: str, scenario: Scenario, statuses: Counter[str]) -> None:
    """What the framework does around a handler: run it, count it, let cancellation through."""
    try:
        response = await handle_checkout(order_id, scenario)
    except asyncio.CancelledError:
        statuses["cancelled"] += 1
        log.info("client disconnected; %s abandoned", order_id)
        raise
    statuses[str(response.status)] += 1
    print(f"  {order_id} -> {response.status} {response.body}")


async def main() -> None:
    statuses: Counter[str] = Counter()
    requests: dict[str, Scenario] = {
        "ORD-1": {},
        "ORD-2": {
            "pricing": (0, ValidationFailed("coupon SPRING25 expired")),
            "inventory": (0, ValidationFailed("postcode 99999 is not served")),
        },
        "ORD-3": {"inventory": (0.02, UpstreamUnavailable("inventory"))},
        "ORD-4": {"fraud": (5.0, None)},
        "ORD-5": {"pricing": (0.01, KeyError("currency"))},
        "ORD-6": {
            "inventory": (0, UpstreamUnavailable("inventory")),
            "fraud": (0, AttributeError("'NoneType' object has no attribute 'score'")),
        },
    }
    for order_id, scenario in requests.items():
        await serve(order_id, scenario, statuses)
    print("  ORD-7: the client disconnects after 50 ms")
    slow = asyncio.create_task(serve("ORD-7", {"fraud": (5.0, None)}, statuses), name="ORD-7")
    await asyncio.sleep(0.05)
    slow.cancel()
    try:
        await slow
    except asyncio.CancelledError:
        print(f"  ORD-7 -> no response; the request task ended cancelled={slow.cancelled()}")
    print(f"  responses by status: {dict(sorted(statuses.items()))}")


if __name__ == "__main__":
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RequestFilter())
    handler.setFormatter(LeafFormatter("  %(levelname)s [%(request_id)s] %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    asyncio.run(main())
