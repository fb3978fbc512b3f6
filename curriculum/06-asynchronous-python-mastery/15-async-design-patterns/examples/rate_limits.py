"""Throttling: a token bucket on an injected monotonic clock, and a concurrency limit, measured.

Part 1 drives the bucket with a hand-set clock, so every figure is exact. Part 2 sends quote
requests to a local aiohttp FX service (127.0.0.1, port 0) that enforces its own quota of 20
requests a second with a burst of 4, answers 429 above it, and counts how many quotes it is
computing at once. Figures marked ~ depend on scheduling and are masked in CI.
"""

import asyncio
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

import aiohttp
from aiohttp import web

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log %(name)s: %(message)s")
log = logging.getLogger("fx-client")


class TokenBucket:
    """`rate` tokens a second, at most `capacity` saved up; one token per request."""

    def __init__(
        self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._updated = clock()
        self._waiters = asyncio.Lock()  # waiters are served one at a time, in arrival order

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def try_acquire(self, tokens: float = 1.0) -> bool:
        self._refill()
        if self._tokens >= tokens:
            self._tokens -= tokens
            return True
        return False

    def wait_time(self, tokens: float = 1.0) -> float:
        self._refill()
        return max(0.0, (tokens - self._tokens) / self.rate)

    async def acquire(self, tokens: float = 1.0) -> None:
        async with self._waiters:
            while not self.try_acquire(tokens):  # re-check: sleep() may wake a hair early
                await asyncio.sleep(self.wait_time(tokens))


class ManualClock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def bucket_by_hand() -> None:
    print("1. TokenBucket(rate=2, capacity=3) on a clock set by hand")
    clock = ManualClock()
    bucket = TokenBucket(rate=2, capacity=3, clock=clock)
    print(f"   t=0.00  four requests: {[bucket.try_acquire() for _ in range(4)]}")
    clock.now = 0.25
    print(f"   t=0.25  {bucket.try_acquire()}, next token in {bucket.wait_time():.2f} s")
    clock.now = 0.50
    print(f"   t=0.50  {bucket.try_acquire()}")
    clock.now = 60.0
    print(f"   t=60.0  after a quiet minute: {[bucket.try_acquire() for _ in range(4)]}")

    wall = ManualClock(1_700_000_000.0)  # what time.time() might return
    naive = TokenBucket(rate=2, capacity=3, clock=wall)
    naive.try_acquire(3)
    wall.now -= 3600  # NTP steps the wall clock back an hour
    print(f"   on a wall clock stepped back 1 h: next token in {naive.wait_time():.1f} s")


@dataclass
class FxService:
    """The provider: a quota per client, and a count of quotes being computed right now."""

    latency: float = 0.05
    quota: TokenBucket = field(default_factory=lambda: TokenBucket(rate=20, capacity=4))
    in_flight: int = 0
    peak: int = 0
    rejected: int = 0

    def reset(self, latency: float) -> None:
        self.latency = latency
        self.quota = TokenBucket(rate=20, capacity=4)
        self.in_flight = self.peak = self.rejected = 0


SERVICE = web.AppKey("service", FxService)


async def quote(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    if not service.quota.try_acquire():
        service.rejected += 1
        return web.json_response({"error": "quota exceeded"}, status=429)
    service.in_flight += 1
    service.peak = max(service.peak, service.in_flight)
    try:
        await asyncio.sleep(service.latency)
    finally:
        service.in_flight -= 1
    return web.json_response({"pair": request.match_info["pair"], "rate": "1.0842"})


class Throttle:
    """Concurrency slot first, then a rate token, then send: `async with throttle: ...`."""

    def __init__(self, bucket: TokenBucket | None, concurrency: int | None) -> None:
        self._bucket = bucket
        self._slots = asyncio.BoundedSemaphore(concurrency) if concurrency else None

    async def __aenter__(self) -> None:
        if self._slots is not None:
            await self._slots.acquire()
        try:
            if self._bucket is not None:
                await self._bucket.acquire()  # taken last, so the request leaves right after
        except BaseException:
            if self._slots is not None:
                self._slots.release()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._slots is not None:
            self._slots.release()


async def fetch_quotes(session: aiohttp.ClientSession, base: str, throttle: Throttle) -> None:
    async def one(pair: str) -> None:
        async with throttle, session.get(f"{base}/quotes/{pair}") as response:
            await response.read()
            if response.status == 429:
                log.debug("quota exceeded for %s", pair)

    async with asyncio.TaskGroup() as group:
        for n in range(12):
            group.create_task(one(f"EUR-X{n:02}"))


async def against_the_service() -> None:
    print("2. 12 quotes per run against an FX service with a quota of 20/s, burst 4")
    service = FxService()
    app = web.Application()
    app[SERVICE] = service
    app.router.add_get("/quotes/{pair}", quote)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}"
    runs = [  # (policy, service latency, client rate limit, client concurrency limit)
        ("no limit", 0.05, None, None),
        ("4 at a time", 0.05, None, 4),
        ("18/s, burst 3", 0.05, (18, 3), None),
        ("18/s, burst 3", 0.40, (18, 3), None),
        ("18/s, burst 3, 4 at a time", 0.40, (18, 3), 4),
    ]
    print(f"   {'client policy':28} {'latency':>7}  {'peak in flight':>14}  {'429s':>4}  took")
    try:
        async with aiohttp.ClientSession() as session:
            for name, latency, rate, concurrency in runs:
                service.reset(latency)
                bucket = TokenBucket(*rate) if rate else None
                started = time.perf_counter()
                await fetch_quotes(session, base, Throttle(bucket, concurrency))
                elapsed = time.perf_counter() - started
                # exact: the peak under a concurrency limit, the 429s under a rate limit
                peak = f"{service.peak}" if concurrency else f"~{service.peak}"
                rejected = f"{service.rejected}" if rate else f"~{service.rejected}"
                print(f"   {name:28} {latency:>6.2f}s  {peak:>14}  {rejected:>4}  ~{elapsed:.2f} s")
    finally:
        await runner.cleanup()


async def main() -> None:
    bucket_by_hand()
    await against_the_service()


if __name__ == "__main__":
    asyncio.run(main())
