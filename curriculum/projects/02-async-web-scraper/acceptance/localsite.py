"""The local web servers the acceptance suite crawls, and what they record.

A `LocalSite` runs one aiohttp server per host label ("a", "b", ...) on 127.0.0.1, each on an
ephemeral port, in an event loop of its own on a background thread, so the scraper under test
(a separate process) talks to real sockets. Every request that reaches a handler is recorded as
a `Hit`: which host, the raw request target, when it started and ended, what the server did, and
the User-Agent header. The servers also count requests in flight per host and keep the maximum.

Resources are looked up by the raw request target (path plus query). A resource's `script`
gives its behaviour per attempt: the first request gets step 0, the second step 1, and the last
step repeats for ever; an empty script means "always serve the resource". A target that no
resource and no dynamic rule knows is a 404.
"""

import asyncio
import socket
import struct
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

HOST_KEY = web.AppKey("host", str)


@dataclass(frozen=True)
class Step:
    """What the server does for one attempt at a resource."""

    kind: Literal["serve", "status", "reset", "cut"]
    status: int = 200  # for "status"
    retry_after: int | None = None  # seconds, sent as a Retry-After header with "status"
    delay: float = 0.0  # seconds to wait before answering ("serve" and "status")


SERVE = Step("serve")
RESET = Step("reset")  # the connection is reset (TCP RST) before any byte of the response
CUT = Step("cut")  # the headers and a third of the body are sent, then the connection is reset


def status(code: int, retry_after: int | None = None) -> Step:
    return Step("status", status=code, retry_after=retry_after)


def hang(seconds: float) -> Step:
    """Serve the resource, but only after `seconds`: longer than the scraper's timeout."""
    return Step("serve", delay=seconds)


@dataclass
class Resource:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    script: tuple[Step, ...] = ()

    def step(self, attempt: int) -> Step:
        if not self.script:
            return Step("serve", delay=self.delay)
        return self.script[min(attempt, len(self.script) - 1)]


def redirect(location: str, code: int = 301) -> Resource:
    return Resource(status=code, headers={"Location": location}, content_type="text/plain")


@dataclass(frozen=True)
class Hit:
    """One request as the server saw it."""

    host: str
    target: str  # the raw request target: path and query, percent-encoded as sent
    attempt: int  # 0 for the first request to this target on this host
    start: float  # time.monotonic() when the handler started
    end: float  # ... and when it finished (before the bytes travel)
    outcome: Literal["served", "reset", "cut", "cancelled"]
    status: int | None  # the status sent, None for a reset or an abandoned request
    user_agent: str | None


Dynamic = Callable[[str], Resource | None]


class LocalSite:
    """Several HTTP hosts on 127.0.0.1 that record every request they receive."""

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.ports: dict[str, int] = {}
        self.resources: dict[str, dict[str, Resource]] = {label: {} for label in labels}
        self.dynamic: dict[str, list[Dynamic]] = {label: [] for label in labels}
        self._hits: list[Hit] = []
        self._attempts: Counter[tuple[str, str]] = Counter()
        self._in_flight: Counter[str] = Counter()
        self._max_in_flight: Counter[str] = Counter()
        self._served_pages = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._runners: list[web.AppRunner] = []
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    async def _start(self) -> None:
        for label in self.labels:
            app = web.Application()
            app[HOST_KEY] = label
            app.router.add_route("*", "/{tail:.*}", self._handle)
            # handler_cancellation: a handler whose client went away (a timeout) is cancelled,
            # so it stops counting as a request in flight.
            runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
            await site.start()
            self._runners.append(runner)
            address = runner.addresses[0]
            self.ports[label] = int(address[1])

    async def _stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()

    # -- content -----------------------------------------------------------------------------

    def origin(self, label: str) -> str:
        return f"http://127.0.0.1:{self.ports[label]}"

    def url(self, label: str, target: str) -> str:
        return self.origin(label) + target

    def add(self, label: str, target: str, resource: Resource) -> None:
        self.resources[label][target] = resource

    def resolve(self, label: str, target: str) -> Resource | None:
        found = self.resources[label].get(target)
        if found is not None:
            return found
        for rule in self.dynamic[label]:
            made = rule(target)
            if made is not None:
                return made
        return None

    # -- what was recorded -------------------------------------------------------------------

    def hits(self) -> list[Hit]:
        with self._lock:
            return sorted(self._hits, key=lambda hit: hit.start)

    def max_in_flight(self) -> dict[str, int]:
        with self._lock:
            return dict(self._max_in_flight)

    def served_pages(self) -> int:
        """How many 200 responses have been served so far, on all hosts."""
        with self._lock:
            return self._served_pages

    def clear(self) -> None:
        """Forget what was recorded (attempt numbering included)."""
        with self._lock:
            self._hits.clear()
            self._attempts.clear()
            self._max_in_flight.clear()
            self._served_pages = 0

    # -- the handler -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        label = request.app[HOST_KEY]
        target = request.raw_path
        start = time.monotonic()
        with self._lock:
            attempt = self._attempts[(label, target)]
            self._attempts[(label, target)] += 1
            self._in_flight[label] += 1
            self._max_in_flight[label] = max(self._max_in_flight[label], self._in_flight[label])
        outcome: Literal["served", "reset", "cut", "cancelled"] = "cancelled"
        sent: int | None = None
        try:
            resource = self.resolve(label, target)
            if resource is None:
                resource = Resource(b"no such page\n", "text/plain", status=404)
            step = resource.step(attempt)
            if step.delay:
                await asyncio.sleep(step.delay)
            if step.kind == "reset":
                outcome = "reset"
                reset_connection(request)
                raise asyncio.CancelledError  # nothing more to send on a dead connection
            if step.kind == "cut":
                outcome = "cut"
                headers = {"Content-Type": resource.content_type}
                cut = web.StreamResponse(headers=headers)
                cut.content_length = len(resource.body)
                await cut.prepare(request)
                await cut.write(resource.body[: len(resource.body) // 3])
                await asyncio.sleep(0.05)  # let the client read the headers first
                reset_connection(request)
                raise asyncio.CancelledError
            if step.kind == "status":
                headers = {"Retry-After": str(step.retry_after)} if step.retry_after else {}
                response = web.Response(
                    status=step.status, text=f"status {step.status}\n", headers=headers
                )
            else:
                response = web.Response(
                    status=resource.status, body=resource.body, headers=resource.headers
                )
                if resource.body or resource.status == 200:
                    response.headers["Content-Type"] = resource.content_type
            outcome, sent = "served", response.status
            return response
        finally:
            end = time.monotonic()
            hit = Hit(
                label, target, attempt, start, end, outcome, sent, request.headers.get("User-Agent")
            )
            with self._lock:
                self._in_flight[label] -= 1
                self._hits.append(hit)
                if sent == 200:
                    self._served_pages += 1


def reset_connection(request: web.Request) -> None:
    """Close the request's connection with a TCP RST (SO_LINGER 0), like a crashed proxy."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


@dataclass
class HitLog:
    """Questions the tests ask about a list of hits."""

    hits: list[Hit]

    def on(self, label: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.host == label]

    def to(self, label: str, target: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.host == label and hit.target == target]

    def per_target(self) -> dict[tuple[str, str], list[Hit]]:
        grouped: dict[tuple[str, str], list[Hit]] = defaultdict(list)
        for hit in self.hits:
            grouped[(hit.host, hit.target)].append(hit)
        return grouped

    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)
