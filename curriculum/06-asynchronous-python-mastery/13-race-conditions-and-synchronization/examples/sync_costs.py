"""What synchronization costs: uncontended locks, contended hand-offs, wake-ups, thread bridges.

Figures depend on the machine and its load; they are printed for comparison and masked in
the recorded output. Each measurement is the best of three runs, to filter out noise from
other processes.
"""

import asyncio
import functools
import queue
import threading
import time
from collections.abc import Awaitable, Callable

N = 30_000


def best_of(runs: int, measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(runs))


async def abest_of(runs: int, measure: Callable[[], Awaitable[float]]) -> float:
    return min([await measure() for _ in range(runs)])


async def uncontended() -> None:
    lock = asyncio.Lock()
    tlock = threading.Lock()

    async def bare() -> float:
        started = time.perf_counter()
        for _ in range(N):
            pass
        return time.perf_counter() - started

    async def with_asyncio_lock() -> float:
        started = time.perf_counter()
        for _ in range(N):
            async with lock:
                pass
        return time.perf_counter() - started

    async def with_threading_lock() -> float:
        started = time.perf_counter()
        for _ in range(N):
            with tlock:
                pass
        return time.perf_counter() - started

    base = await abest_of(3, bare)
    for label, measure in (
        ("asyncio.Lock", with_asyncio_lock),
        ("threading.Lock", with_threading_lock),
    ):
        per_op = (await abest_of(3, measure) - base) / N * 1e6
        print(f"   {label:<15} {per_op:.3f} µs per acquire + release")


async def contended(rounds: int = 3_000) -> None:
    async def run(use_lock: bool) -> float:
        lock = asyncio.Lock()

        async def worker() -> None:
            for _ in range(rounds):
                if use_lock:
                    async with lock:
                        await asyncio.sleep(0)
                else:
                    await asyncio.sleep(0)

        started = time.perf_counter()
        await asyncio.gather(worker(), worker())
        return time.perf_counter() - started

    for label, use_lock in (("no lock", False), ("inside a lock", True)):

        async def measure(use_lock: bool = use_lock) -> float:
            return await run(use_lock)

        per_round = await abest_of(3, measure) / (2 * rounds) * 1e6
        print(f"   two tasks yielding, {label + ':':<14} {per_round:.2f} µs per round")


async def wake_all(waiters: int = 5_000) -> None:
    async def run() -> float:
        event = asyncio.Event()
        tasks = [asyncio.create_task(event.wait()) for _ in range(waiters)]
        await asyncio.sleep(0)
        started = time.perf_counter()
        event.set()
        await asyncio.gather(*tasks)
        return time.perf_counter() - started

    total = await abest_of(3, run)
    print(
        f"   Event.set() to {waiters:,} waiters resumed: {total * 1e3:.2f} ms, "
        f"{total / waiters * 1e6:.2f} µs per waiter"
    )


async def thread_to_loop() -> None:
    loop = asyncio.get_running_loop()

    async def run(blocking: bool, items: int) -> float:
        inbox: asyncio.Queue[int] = asyncio.Queue()

        def produce() -> None:
            for n in range(items):
                if blocking:
                    asyncio.run_coroutine_threadsafe(inbox.put(n), loop).result()
                else:
                    loop.call_soon_threadsafe(inbox.put_nowait, n)

        started = time.perf_counter()
        producer = asyncio.create_task(asyncio.to_thread(produce))
        for _ in range(items):
            await inbox.get()
        await producer
        return time.perf_counter() - started

    for label, blocking, items in (
        ("call_soon_threadsafe(put_nowait)", False, 5_000),
        ("run_coroutine_threadsafe(put()).result()", True, 300),
    ):

        async def measure(blocking: bool = blocking, items: int = items) -> float:
            return await run(blocking, items)

        per_item = await abest_of(3, measure) / items * 1e6
        print(f"   {label:<42} {per_item:.2f} µs per item ({items:,} items)")


def queue_pairs() -> None:
    tq: queue.Queue[int] = queue.Queue()
    aq: asyncio.Queue[int] = asyncio.Queue()

    def measure(put: Callable[[int], None], get: Callable[[], int]) -> float:
        started = time.perf_counter()
        for n in range(N):
            put(n)
            get()
        return time.perf_counter() - started

    for label, put, get in (
        ("queue.Queue put/get", tq.put, tq.get),
        ("asyncio.Queue put_nowait/get_nowait", aq.put_nowait, aq.get_nowait),
    ):
        per_pair = best_of(3, functools.partial(measure, put, get)) / N * 1e6
        print(f"   {label:<36} {per_pair:.3f} µs per pair")


async def main() -> None:
    print("1. uncontended lock, one task")
    await uncontended()
    print("2. contended: two tasks hand a lock back and forth")
    await contended()
    print("3. waking many waiters")
    await wake_all()
    print("4. thread -> loop, one item at a time")
    await thread_to_loop()
    print("5. one put and one get, same thread, nobody waiting")
    queue_pairs()


if __name__ == "__main__":
    asyncio.run(main())
