"""What each pattern costs per call or per item, measured with the classes of the other examples.

Every figure is the best of five timed runs on the machine that runs this file, so the
numbers vary from machine to machine and from run to run; CI masks them. What holds
everywhere is their order of magnitude next to a network call of a few milliseconds.
"""

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from circuit_breaker import CircuitBreaker
from rate_limits import TokenBucket
from retry_backoff import Backoff, retrying
from stream_operators import bounded_map
from worker_pool import WorkerPool

CALLS = 20_000
ITEMS = 5_000
RUNS = 5


async def best_of(runs: int, count: int, body: Callable[[], Awaitable[None]]) -> float:
    """The fastest of `runs` timings of body(), in microseconds per call or item."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        await body()
        timings.append(time.perf_counter() - started)
    return min(timings) / count * 1e6


async def noop() -> int:
    return 1


def report(label: str, micros: float) -> None:
    print(f"   {label:50} {micros:6.2f} µs")


async def per_call() -> None:
    print(f"1. Per call, {CALLS:,} calls, best of {RUNS} runs")

    async def plain_await() -> None:
        for _ in range(CALLS):
            await noop()

    bucket = TokenBucket(rate=1e9, capacity=1e9)  # never empty: measures the bookkeeping only

    async def bucket_try() -> None:
        for _ in range(CALLS):
            bucket.try_acquire()

    async def bucket_acquire() -> None:
        for _ in range(CALLS):
            await bucket.acquire()

    breaker = CircuitBreaker("ledger", threshold=5, cooldown=30.0, is_failure=lambda _: True)

    async def breaker_call() -> None:
        for _ in range(CALLS):
            await breaker.call(noop)

    retried = retrying(
        attempts=3, backoff=Backoff(), retry_on=(ConnectionError,), rng=random.Random(1)
    )(noop)

    async def first_try() -> None:
        for _ in range(CALLS):
            await retried()

    report("await of a trivial coroutine (the baseline)", await best_of(RUNS, CALLS, plain_await))
    report("TokenBucket.try_acquire()", await best_of(RUNS, CALLS, bucket_try))
    report("TokenBucket.acquire(), uncontended", await best_of(RUNS, CALLS, bucket_acquire))
    report("CircuitBreaker.call(), closed", await best_of(RUNS, CALLS, breaker_call))
    report("retrying() wrapper, first attempt succeeds", await best_of(RUNS, CALLS, first_try))


async def per_item() -> None:
    print(f"2. Per item, {ITEMS:,} items whose handler does no I/O, best of {RUNS} runs")

    async def handle(invoice_id: int) -> None:
        return None

    async def through_pool() -> None:
        async with WorkerPool(handle, workers=10, maxsize=40, name="bench") as pool:
            for invoice_id in range(ITEMS):
                await pool.submit(invoice_id)

    async def invoice_ids() -> AsyncIterator[int]:
        for invoice_id in range(ITEMS):
            yield invoice_id

    async def noop_item(invoice_id: int) -> int:
        return invoice_id

    def through_map(limit: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            async for _ in bounded_map(noop_item, invoice_ids(), limit=limit):
                pass

        return run

    report("WorkerPool, 10 workers, queue of 40", await best_of(RUNS, ITEMS, through_pool))
    report("bounded_map(limit=100)", await best_of(RUNS, ITEMS, through_map(100)))


async def main() -> None:
    logging.disable(logging.CRITICAL)  # the imported examples log; nothing here should
    await per_call()
    await per_item()


if __name__ == "__main__":
    asyncio.run(main())
