"""A circuit breaker (closed, open, half-open) in front of a real, failing local service.

A checkout service asks a fraud-scoring service (aiohttp on 127.0.0.1, port 0) to score each
order. The scoring service can be switched between up, down (HTTP 500) and hanging. The
breaker's cooldown runs on a clock the example sets by hand, so no step waits 30 seconds
and every count is the same on each run.
"""

import asyncio
import logging
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

import aiohttp
from aiohttp import web

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log %(name)s: %(message)s")
log = logging.getLogger("breaker")

T = TypeVar("T")
State = Literal["closed", "open", "half_open"]


class CircuitOpenError(Exception):
    def __init__(self, name: str, retry_in: float) -> None:
        super().__init__(f"{name} is open; next probe in {retry_in:.1f} s")
        self.retry_in = retry_in


class CircuitBreaker:
    """Opens after `threshold` failures in a row; after `cooldown`, one probe may pass."""

    def __init__(
        self,
        name: str,
        *,
        threshold: int,
        cooldown: float,
        is_failure: Callable[[Exception], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.threshold = threshold
        self.cooldown = cooldown
        self._is_failure = is_failure
        self._clock = clock
        self._open = False
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False
        self.rejected = 0

    @property
    def state(self) -> State:
        if not self._open:
            return "closed"
        return "half_open" if self._clock() - self._opened_at >= self.cooldown else "open"

    def _trip(self, reason: str) -> None:
        self._open, self._opened_at, self._failures = True, self._clock(), 0
        log.warning("%s: -> open (%s)", self.name, reason)

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        state = self.state
        if state == "open" or (state == "half_open" and self._probing):
            self.rejected += 1
            retry_in = self._opened_at + self.cooldown - self._clock()
            raise CircuitOpenError(self.name, max(0.0, retry_in))
        probe = state == "half_open"
        self._probing = self._probing or probe
        try:
            result = await operation()
        except asyncio.CancelledError:  # the caller gave up: says nothing about the service
            raise
        except Exception as error:
            if not self._is_failure(error):
                self._succeeded(probe)  # a 404 proves the service is up
            elif probe:
                self._trip(f"probe failed: {type(error).__name__}")
            elif not self._open:  # a slow call that fails after the trip changes nothing
                self._failures += 1
                if self._failures >= self.threshold:
                    self._trip(f"{self._failures} failures in a row")
            raise
        finally:
            if probe:
                self._probing = False
        self._succeeded(probe)
        return result

    def _succeeded(self, probe: bool) -> None:
        self._failures = 0
        if probe:
            self._open = False
            log.info("%s: half_open -> closed (probe succeeded)", self.name)


@dataclass
class ScoringService:
    mode: Literal["up", "down", "hang"] = "up"
    received: int = 0


SCORING = web.AppKey("scoring", ScoringService)


async def score_handler(request: web.Request) -> web.Response:
    service = request.app[SCORING]
    service.received += 1
    order = request.match_info["order"]
    if service.mode == "down":
        return web.json_response({"error": "model store unavailable"}, status=500)
    if service.mode == "hang":
        await asyncio.sleep(0.6)
    if order.startswith("X"):
        return web.json_response({"error": f"unknown order {order}"}, status=404)
    return web.json_response({"order": order, "score": 12})


def is_failure(error: Exception) -> bool:
    """Only what says the service is unhealthy: 5xx, timeouts, connection errors."""
    if isinstance(error, aiohttp.ClientResponseError):
        return error.status >= 500
    return isinstance(error, TimeoutError | aiohttp.ClientConnectionError)


async def main() -> None:
    scoring = ScoringService()
    app = web.Application()
    app[SCORING] = scoring
    app.router.add_get("/scores/{order}", score_handler)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    now = 1000.0
    breaker = CircuitBreaker(
        "fraud-scoring", threshold=5, cooldown=30.0, is_failure=is_failure, clock=lambda: now
    )

    async with aiohttp.ClientSession(f"http://{host}:{port}") as session:

        async def fetch_score(order: str) -> int:
            async with asyncio.timeout(0.15):
                async with session.get(f"/scores/{order}") as response:
                    response.raise_for_status()
                    body = await response.json()
                    return int(body["score"])

        async def score(order: str) -> str:
            try:
                return f"score {await breaker.call(lambda: fetch_score(order))}"
            except CircuitOpenError:
                return "rejected"
            except aiohttp.ClientResponseError as error:
                return f"HTTP {error.status}"
            except TimeoutError:
                return "timeout"

        async def step(title: str, orders: list[str], *, together: bool = False) -> None:
            print(title)
            before = scoring.received
            if together:
                results = await asyncio.gather(*(score(order) for order in orders))
            else:
                results = [await score(order) for order in orders]
            summary = ", ".join(f"{r} x{results.count(r)}" for r in dict.fromkeys(results))
            print(f"   {summary}; the service saw {scoring.received - before}")
            print(f"   state: {breaker.state}")

        try:
            await step("1. Service up, 3 orders", ["A-1", "A-2", "A-3"])
            await step(
                "2. Six unknown orders (404): a client error is not a failure",
                [f"X-{n}" for n in range(6)],
            )
            scoring.mode = "down"
            await step("3. Service returns 500: 12 orders", [f"B-{n}" for n in range(12)])
            try:
                await breaker.call(lambda: fetch_score("B-99"))
            except CircuitOpenError as error:
                print(f"   CircuitOpenError: {error}")
            now += 30
            await step(
                "4. 30 s later, 5 orders at once: one probe, still down",
                [f"C-{n}" for n in range(5)],
                together=True,
            )
            scoring.mode = "hang"
            now += 30
            await step("5. 30 s later the service hangs: the probe times out", ["D-1", "D-2"])
            scoring.mode = "up"
            now += 30
            await step("6. 30 s later it is back: the probe succeeds", ["E-1", "E-2", "E-3"])
            print(f"   calls rejected without touching the network: {breaker.rejected}")

            print("7. Retries inside, the breaker around each attempt, a fallback outside")
            scoring.mode = "down"
            rng = random.Random(42)

            async def decide(order: str) -> str:
                attempt = 0
                while True:
                    attempt += 1
                    try:
                        return f"score {await breaker.call(lambda: fetch_score(order))}"
                    except CircuitOpenError:
                        return f"manual review (breaker open, {attempt - 1} attempts made)"
                    except (aiohttp.ClientResponseError, TimeoutError) as error:
                        if not is_failure(error) or attempt == 3:
                            return f"manual review (gave up after {attempt} attempts)"
                    await asyncio.sleep(rng.uniform(0, 0.01 * 2**attempt))  # full jitter

            for order in ("F-1", "F-2", "F-3"):
                before = scoring.received
                decision = await decide(order)
                print(f"   {order}: {decision}; the service saw {scoring.received - before}")
        finally:
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
