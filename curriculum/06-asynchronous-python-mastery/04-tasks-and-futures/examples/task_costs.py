"""What tasks cost: scheduling, fan-out, deadlines and memory, measured on this machine.

Every figure is the best of three runs, to keep the noise of a shared machine out of it.
"""

import asyncio
import time
import tracemalloc
from collections.abc import Awaitable, Callable

CALLS = 5_000
FAN_OUT = 5_000


async def lookup_price(sku: int) -> int:
    return sku * 3  # finishes without suspending, like a cache hit


async def price_then_yield(sku: int) -> int:
    await asyncio.sleep(0)  # suspends once, like any real I/O
    return sku * 3


async def best_of_three(run: Callable[[], Awaitable[None]]) -> float:
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        await run()
        timings.append(time.perf_counter() - started)
    return min(timings)


async def await_directly() -> None:
    for sku in range(CALLS):
        await lookup_price(sku)


async def through_a_task() -> None:
    for sku in range(CALLS):
        await asyncio.create_task(lookup_price(sku))


async def with_wait_for() -> None:
    for sku in range(CALLS):
        await asyncio.wait_for(lookup_price(sku), timeout=10)


async def with_timeout() -> None:
    for sku in range(CALLS):
        async with asyncio.timeout(10):
            await lookup_price(sku)


async def fan_out_gather() -> None:
    await asyncio.gather(*(price_then_yield(sku) for sku in range(FAN_OUT)))


async def fan_out_taskgroup() -> None:
    async with asyncio.TaskGroup() as group:
        for sku in range(FAN_OUT):
            group.create_task(price_then_yield(sku))


async def bytes_per_pending_task() -> float:
    release = asyncio.Event()

    async def wait_for_release() -> None:
        await release.wait()

    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    tasks = [asyncio.create_task(wait_for_release()) for _ in range(FAN_OUT)]
    await asyncio.sleep(0)  # every task runs to its first await and parks there
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    release.set()
    await asyncio.gather(*tasks)
    return grown / FAN_OUT


async def main() -> None:
    per_call = {
        "await the coroutine": await best_of_three(await_directly),
        "create_task + await": await best_of_three(through_a_task),
        "wait_for(timeout=10)": await best_of_three(with_wait_for),
        "async with timeout(10)": await best_of_three(with_timeout),
    }
    print(f"{CALLS:,} calls one after another, cost per call:")
    for label, seconds in per_call.items():
        print(f"  {label:<24} {seconds / CALLS * 1e6:6.2f} us")
    print(f"fan-out of {FAN_OUT:,} coroutines that each suspend once, cost per coroutine:")
    print(f"  {'gather':<24} {await best_of_three(fan_out_gather) / FAN_OUT * 1e6:6.2f} us")
    print(f"  {'TaskGroup':<24} {await best_of_three(fan_out_taskgroup) / FAN_OUT * 1e6:6.2f} us")
    print(f"memory held by one task parked on an Event: {await bytes_per_pending_task():,.0f} B")


if __name__ == "__main__":
    asyncio.run(main())
