"""Retry with exponential backoff and full jitter, and a herd of 200 clients in virtual time.

Part 2 runs 200 real coroutines and real asyncio.sleep() calls on an event loop whose clock
jumps straight to the next timer, so 20 simulated seconds take a fraction of a real one and
every timestamp printed is the same on each run. That loop leans on private asyncio
behaviour (see VirtualClockLoop). The jitter comes from a seeded Random.
"""

import asyncio
import functools
import logging
import random
import selectors
import sys
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, ParamSpec, TypeVar

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log %(name)s: %(message)s")
log = logging.getLogger("ledger-client")

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    base: float = 0.1
    cap: float = 5.0
    jitter: Literal["none", "equal", "full"] = "full"

    def delay(self, retry: int, rng: random.Random) -> float:
        """The wait before retry number `retry` (1, 2, ...)."""
        ceiling = min(self.cap, self.base * 2.0 ** (retry - 1))
        if self.jitter == "none":
            return ceiling
        if self.jitter == "equal":
            return ceiling / 2 + rng.uniform(0, ceiling / 2)
        return rng.uniform(0, ceiling)


class RetryBudgetExceeded(Exception):
    pass


def retrying(
    *,
    attempts: int,
    backoff: Backoff,
    retry_on: tuple[type[Exception], ...],
    rng: random.Random,
    budget: float | None = None,
) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """Retry the decorated coroutine function on `retry_on`, sleeping backoff.delay() between."""

    def decorate(operation: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(operation)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            loop = asyncio.get_running_loop()
            give_up_at = None if budget is None else loop.time() + budget
            attempt = 1
            while True:
                try:
                    return await operation(*args, **kwargs)
                except retry_on as error:
                    if attempt == attempts:
                        raise
                    delay = backoff.delay(attempt, rng)
                    if give_up_at is not None and loop.time() + delay > give_up_at:
                        raise RetryBudgetExceeded(f"{attempt} attempts, budget spent") from error
                    await asyncio.sleep(delay)
                    attempt += 1

        return wrapper

    return decorate


class JumpingSelector(selectors.SelectSelector):
    """Polls real sockets without blocking, then reports the wait as over at once."""

    def __init__(self, advance: Callable[[float], None]) -> None:
        super().__init__()
        self._advance = advance

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(None if timeout is None else 0)
        if not ready and timeout:
            self._advance(timeout)  # nothing to do until the next timer: jump to it
        return ready


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose time() only moves when every task is waiting for a timer.

    A teaching device, not a library: it relies on a private detail of CPython, namely that
    BaseEventLoop._run_once() passes "seconds until the next timer" to selector.select().
    """

    def __init__(self) -> None:
        self._now = 0.0
        super().__init__(JumpingSelector(self._advance))

    def _advance(self, seconds: float) -> None:
        self._now += seconds

    def time(self) -> float:
        return self._now


class LedgerUnavailable(Exception):
    pass


class InvalidEntry(Exception):
    pass


def delay_table() -> None:
    print("1. Delays before retries 1..7 (base 0.1 s, cap 5 s), seed 7")
    for jitter in ("none", "equal", "full"):
        rng = random.Random(7)
        delays = [Backoff(jitter=jitter).delay(n, rng) for n in range(1, 8)]
        print(f"   {jitter:5}  {'  '.join(f'{d:4.2f}' for d in delays)}")


async def thundering_herd(jitter: Literal["none", "equal", "full"]) -> str:
    """200 clients hit a ledger that is down for 1 s, then takes 40 calls per 100 ms."""
    loop = asyncio.get_running_loop()
    start = loop.time()  # the virtual clock keeps running from one herd to the next
    per_window: Counter[int] = Counter()
    overloaded = 0
    done_at: list[float] = []

    @retrying(
        attempts=8,
        backoff=Backoff(jitter=jitter),
        retry_on=(LedgerUnavailable,),
        rng=random.Random(2024),
    )
    async def post_entry(entry_id: int) -> None:
        nonlocal overloaded
        now = loop.time() - start
        window = int(now * 10)
        per_window[window] += 1
        if now < 1.0:
            raise LedgerUnavailable(f"entry {entry_id}: ledger down")
        if per_window[window] > 40:
            overloaded += 1
            raise LedgerUnavailable(f"entry {entry_id}: ledger overloaded")
        done_at.append(now)

    outcomes = await asyncio.gather(*(post_entry(n) for n in range(200)), return_exceptions=True)
    gave_up = sum(isinstance(outcome, LedgerUnavailable) for outcome in outcomes)
    while_down = sum(count for window, count in per_window.items() if window < 10)
    after = sum(per_window.values()) - while_down
    peak = max(count for window, count in per_window.items() if window >= 10)
    return (
        f"{jitter:5}  {while_down:10}  {after:5}  {peak:7}  {overloaded:10}  {gave_up:7}"
        f"  {max(done_at):10.2f} s"
    )


async def one_client() -> None:
    print("3. One client: what is retried, when it stops, and the budget")
    loop = asyncio.get_running_loop()
    calls: list[float] = []

    async def flaky(entry: str) -> str:
        calls.append(loop.time())
        if entry == "INV-400":
            raise InvalidEntry("currency missing")  # retrying will not fix this
        if entry == "INV-2" and len(calls) < 3:
            raise LedgerUnavailable("503")
        if entry in ("INV-3", "INV-4"):
            raise LedgerUnavailable("503")
        return f"{entry} posted"

    for entry, budget in (("INV-2", None), ("INV-400", None), ("INV-3", None), ("INV-4", 1.0)):
        calls.clear()
        start = loop.time()
        post = retrying(
            attempts=5,
            backoff=Backoff(base=0.5),
            retry_on=(LedgerUnavailable,),
            rng=random.Random(1),  # the same seed for each entry: the same delays
            budget=budget,
        )(flaky)
        try:
            result = await post(entry)
        except Exception as error:
            result = f"{type(error).__name__}: {error}"
        offsets = ", ".join(f"{t - start:.2f}" for t in calls)
        print(f"   {entry:8} calls at [{offsets}] s -> {result}")


async def simulation() -> None:
    print("2. The ledger is down for 1 s, then takes 40 calls per 100 ms; 200 clients retry")
    print("   calls made while it is down, calls after, and the busiest 100 ms after:")
    print(
        f"   {'':5}  {'while down':>10}  {'after':>5}  {'busiest':>7}  {'overloaded':>10}"
        f"  {'gave up':>7}  {'last success':>12}"
    )
    for jitter in ("none", "equal", "full"):
        print(f"   {await thundering_herd(jitter)}")
    await one_client()


def main() -> None:
    delay_table()
    with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
        runner.run(simulation())


if __name__ == "__main__":
    main()
