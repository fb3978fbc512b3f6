"""Client-side protection for calls to a payment gateway.

Three patterns that every call to the gateway goes through: a token bucket that keeps the
client under the gateway's quota, a circuit breaker that stops calling a gateway that is
failing, and a retry helper with exponential backoff and full jitter. Time is injected
everywhere (a clock, a sleep function, a random generator), so tests can drive each pattern
without waiting.
"""

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class CircuitOpenError(Exception):
    """Raised instead of calling the operation while the breaker refuses calls."""


class TokenBucket:
    """`rate` tokens per second, at most `capacity` saved up; a new bucket starts full."""

    def __init__(
        self,
        rate: float,
        capacity: float,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        self._tokens = capacity
        self._updated = clock()
        self._turn = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def try_acquire(self, tokens: float = 1.0) -> bool:
        """Take `tokens` now if the bucket holds them; never waits."""
        self._refill()
        if self._tokens >= tokens:
            self._tokens -= tokens
            return True
        return False

    async def acquire(self, tokens: float = 1.0) -> None:
        """Wait until `tokens` are available, then take them; callers are served in turn."""
        if tokens > self.capacity:
            raise ValueError(f"{tokens} tokens can never fit a bucket of {self.capacity}")
        async with self._turn:
            while not self.try_acquire(tokens):
                await self._sleep((tokens - self._tokens) / self.rate)


class CircuitBreaker:
    """Opens when at least `failure_ratio` of the last `window` calls failed."""

    def __init__(
        self,
        *,
        window: int,
        min_calls: int,
        failure_ratio: float,
        cooldown: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self.min_calls = min_calls
        self.failure_ratio = failure_ratio
        self.cooldown = cooldown
        self._clock = clock
        self._outcomes: deque[bool] = deque(maxlen=window)  # True means the call failed
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> Literal["closed", "open", "half_open"]:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.cooldown:
            return "half_open"
        return "open"

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run `operation` if the breaker allows it and record how it ended."""
        state = self.state
        if state == "open" or (state == "half_open" and self._probing):
            raise CircuitOpenError(f"circuit is {state}")
        probe = state == "half_open"
        if probe:
            self._probing = True
        try:
            result = await operation()
        except Exception:
            if probe:
                self._opened_at = self._clock()
            else:
                self._record(failed=True)
            raise
        finally:
            if probe:
                self._probing = False
        if probe:
            self._opened_at = None
            self._outcomes.clear()
        else:
            self._record(failed=False)
        return result

    def _record(self, *, failed: bool) -> None:
        if self._opened_at is not None:  # a late result from before the trip
            return
        self._outcomes.append(failed)
        calls = len(self._outcomes)
        if calls >= self.min_calls and sum(self._outcomes) / calls >= self.failure_ratio:
            self._opened_at = self._clock()


async def retry_call(
    operation: Callable[[], Awaitable[T]],
    *,
    attempts: int,
    base: float,
    cap: float,
    rng: random.Random,
    retry_on: tuple[type[Exception], ...],
    sleep: Sleep = asyncio.sleep,
) -> T:
    """Call `operation` up to `attempts` times; retry only on `retry_on` exceptions.

    Before retry number n (1, 2, ...) sleep rng.uniform(0, min(cap, base * 2 ** (n - 1))).
    """
    retry = 0
    while True:
        try:
            return await operation()
        except retry_on:
            retry += 1
            if retry >= attempts:
                raise
            await sleep(rng.uniform(0, min(cap, base * 2.0 ** (retry - 1))))
