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
        # TODO: keep the settings, the token count, the time of the last refill (from
        #       `clock`), and an asyncio.Lock so that waiters in acquire() take turns.
        raise NotImplementedError

    def try_acquire(self, tokens: float = 1.0) -> bool:
        """Take `tokens` now if the bucket holds them; never waits."""
        # TODO: first add (now - last refill) * rate tokens, capped at capacity.
        raise NotImplementedError

    async def acquire(self, tokens: float = 1.0) -> None:
        """Wait until `tokens` are available, then take them; callers are served in turn.

        Raise ValueError when `tokens` is more than the capacity: it could never be served.
        """
        # TODO: under the lock, sleep for the missing tokens / rate and try again.
        raise NotImplementedError


class CircuitBreaker:
    """Opens when at least `failure_ratio` of the last `window` calls failed.

    closed: calls go through; each outcome is recorded, and once `min_calls` outcomes are
        recorded and the failed share reaches `failure_ratio`, the breaker opens.
    open: calls raise CircuitOpenError without running the operation, for `cooldown` seconds.
    half_open: one call (the probe) runs; others raise CircuitOpenError while it runs. A
        successful probe closes the breaker with a clean record; a failed one opens it again.
    Any Exception from the operation is a failure. A cancelled call is not an outcome.
    """

    def __init__(
        self,
        *,
        window: int,
        min_calls: int,
        failure_ratio: float,
        cooldown: float,
        clock: Clock = time.monotonic,
    ) -> None:
        # TODO: a collections.deque(maxlen=window) is a ready-made sliding window.
        raise NotImplementedError

    @property
    def state(self) -> Literal["closed", "open", "half_open"]:
        # TODO: "open" turns into "half_open" by itself once the cooldown has passed.
        raise NotImplementedError

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run `operation` if the breaker allows it and record how it ended."""
        # TODO
        raise NotImplementedError


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
    # TODO: re-raise the last error when the attempts are used up; never sleep after it.
    raise NotImplementedError
