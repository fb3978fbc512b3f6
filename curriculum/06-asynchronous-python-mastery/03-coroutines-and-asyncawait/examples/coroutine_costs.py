"""What coroutine machinery costs per operation, next to a plain function call.

Each figure is the best of 5 rounds, in nanoseconds per operation, on whatever machine runs
this; the ratios to a plain call are what carries over from one machine to another. The
rounds visit the cases in turn, so that load from other processes skews them all alike.
"""

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator
from typing import Any

TAX_RATE = 0.2
N = 20_000
ROUNDS = 5


def tax_sync(cents: int) -> float:
    return cents * TAX_RATE


async def tax_async(cents: int) -> float:
    return cents * TAX_RATE


def line_items_sync(n: int) -> Generator[int, None, None]:
    yield from range(n)


async def line_items_async(n: int) -> AsyncGenerator[int, None]:
    for cents in range(n):
        yield cents


async def plain_calls() -> None:
    for cents in range(N):
        tax_sync(cents)


async def awaited_coroutines() -> None:
    for cents in range(N):
        await tax_async(cents)  # creates a coroutine object and runs it to completion inline


async def loop_round_trips() -> None:
    for _ in range(N):
        await asyncio.sleep(0)  # suspends: one trip through the event loop's ready queue


async def tasks_per_call() -> None:
    for cents in range(N):
        await asyncio.create_task(tax_async(cents))  # a Task per call: schedule, run, wake


async def sync_generator_items() -> None:
    for _ in line_items_sync(N):
        pass


async def async_generator_items() -> None:
    async for _ in line_items_async(N):
        pass


def ns_per_op(body: Callable[[], Coroutine[Any, Any, None]]) -> float:
    started = time.perf_counter_ns()
    asyncio.run(body())
    return (time.perf_counter_ns() - started) / N


def main() -> None:
    cases = {
        "plain function call": plain_calls,
        "await a coroutine (no suspension)": awaited_coroutines,
        "await asyncio.sleep(0)": loop_round_trips,
        "await create_task(...) per call": tasks_per_call,
        "one item from a sync generator": sync_generator_items,
        "one item from an async generator": async_generator_items,
    }
    best = {label: float("inf") for label in cases}
    for _ in range(ROUNDS):  # round-robin: a burst of load elsewhere hits every case alike
        for label, body in cases.items():
            best[label] = min(best[label], ns_per_op(body))
    baseline = best["plain function call"]
    print(f"{'operation':<36}{'ns/op':>9}{'vs call':>10}")
    for label, ns in best.items():
        print(f"{label:<36}{ns:>9.0f}{ns / baseline:>9.1f}x")


if __name__ == "__main__":
    main()
