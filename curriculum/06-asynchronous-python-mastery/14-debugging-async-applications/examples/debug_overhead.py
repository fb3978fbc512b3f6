"""What the debugging tools cost: debug mode, tracemalloc and cProfile on task-heavy code.

A fan-out like a webhook dispatcher's: 2,000 tasks that each yield once, gathered. Each tool is
switched on around the same workload and the fastest of five runs is kept, so that other jobs
on the machine disturb the figures less. Then the price of an always-on task gauge: counting
and grouping 10,000 suspended tasks, work that runs on the loop's thread.
"""

import asyncio
import collections
import cProfile
import logging
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

TASKS = 2_000
RUNS = 5


async def deliver_webhook(event_number: int) -> int:
    await asyncio.sleep(0)  # one suspension, as an awaited send would cause
    return event_number


async def fan_out() -> None:
    tasks = [asyncio.create_task(deliver_webhook(n), name=f"deliver-{n}") for n in range(TASKS)]
    await asyncio.gather(*tasks)


@contextmanager
def no_tool() -> Iterator[None]:
    yield


@contextmanager
def tracing_allocations() -> Iterator[None]:
    tracemalloc.start(1)
    try:
        yield
    finally:
        tracemalloc.stop()


@contextmanager
def profiling() -> Iterator[None]:
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()


def microseconds_per_task(debug: bool, tool: Callable[[], AbstractContextManager[None]]) -> float:
    best = float("inf")
    for _ in range(RUNS):
        with tool():
            started = time.perf_counter()
            asyncio.run(fan_out(), debug=debug)
            best = min(best, time.perf_counter() - started)
    return best / TASKS * 1e6


def compare_tools() -> None:
    print(f"1. {TASKS:,} tasks that each yield once, fastest of {RUNS} runs")
    normal = microseconds_per_task(False, no_tool)
    print(f"   {'normal':<22}{normal:7.1f} us per task")
    for label, debug, tool in [
        ("debug mode", True, no_tool),
        ("tracemalloc, 1 frame", False, tracing_allocations),
        ("cProfile", False, profiling),
    ]:
        cost = microseconds_per_task(debug, tool)
        print(f"   {label:<22}{cost:7.1f} us per task, {cost / normal:5.1f}x normal")


async def park_forever(connection_id: int, closed: asyncio.Event) -> None:
    await closed.wait()  # a heartbeat waiter whose pong never comes


async def measure_task_gauge() -> None:
    print("2. the task gauge on 10,000 suspended tasks, timed on the loop's thread")
    closed = asyncio.Event()
    waiters = [asyncio.create_task(park_forever(n, closed)) for n in range(10_000)]
    await asyncio.sleep(0)  # every waiter runs to its first await
    started = time.perf_counter()
    count = len(asyncio.all_tasks())
    counted_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    by_line = collections.Counter(
        (task.get_coro().__qualname__, task.get_coro().cr_frame.f_lineno)  # type: ignore[union-attr]
        for task in asyncio.all_tasks()
    )
    grouped_ms = (time.perf_counter() - started) * 1000
    print(f"   len(all_tasks()) = {count:,} took {counted_ms:.1f} ms")
    print(f"   grouped by suspension line: {by_line.most_common(1)} took {grouped_ms:.1f} ms")
    closed.set()
    await asyncio.gather(*waiters)


if __name__ == "__main__":
    # In debug mode, creating 2,000 tasks in one step is itself reported as a slow step;
    # those reports are not what this script measures.
    logging.getLogger("asyncio").setLevel(logging.ERROR)
    compare_tools()
    asyncio.run(measure_task_gauge())
