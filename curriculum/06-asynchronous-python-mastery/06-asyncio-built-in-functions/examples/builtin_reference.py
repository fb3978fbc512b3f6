"""The asyncio built-ins on this interpreter: signature, cost per call, and version gates.

Signatures come from inspect, not from memory, so running this file on 3.12 or 3.13 shows
what changed there. Costs are measured on the spot; the machine is shared, so treat the
timings as orders of magnitude, not benchmarks. The memory figure comes from tracemalloc.
"""

import asyncio
import inspect
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

ROUNDS = 2_000
IDLE_WORKERS = 10_000


def signature_of(name: str) -> str:
    target: Any = getattr(asyncio, name)
    return f"asyncio.{name}{inspect.signature(target)}"


async def per_call(label: str, operation: Callable[[], Awaitable[object]], rounds: int) -> str:
    started = time.perf_counter()
    for _ in range(rounds):
        await operation()
    micros = (time.perf_counter() - started) / rounds * 1e6
    return f"{micros:8.1f} µs  {label}"


async def noop() -> None:
    return None


def blocking_noop() -> None:
    return None


async def measure_costs() -> list[str]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    lock = asyncio.Lock()
    semaphore = asyncio.Semaphore(10)

    async def task_round_trip() -> None:
        await asyncio.create_task(noop())

    async def gather_hundred() -> None:
        await asyncio.gather(*(noop() for _ in range(100)))

    async def thread_round_trip() -> None:
        await asyncio.to_thread(blocking_noop)

    async def queue_pair() -> None:
        queue.put_nowait(1)
        await queue.get()

    async def lock_round_trip() -> None:
        async with lock:
            pass

    async def semaphore_round_trip() -> None:
        async with semaphore:
            pass

    return [
        await per_call("await asyncio.sleep(0)", lambda: asyncio.sleep(0), ROUNDS),
        await per_call("create_task(coro) and await it", task_round_trip, ROUNDS),
        await per_call("gather() of 100 coroutines, whole call", gather_hundred, 50),
        await per_call("await to_thread(fn), default executor", thread_round_trip, 300),
        await per_call("put_nowait() + await get() on a Queue", queue_pair, ROUNDS),
        await per_call("async with Lock() (uncontended)", lock_round_trip, ROUNDS),
        await per_call("async with Semaphore(10) (uncontended)", semaphore_round_trip, ROUNDS),
    ]


async def idle_worker_bytes() -> float:
    """Bytes traced per worker task parked in queue.get(), the steady state of a worker pool."""
    queue: asyncio.Queue[int] = asyncio.Queue()

    async def worker() -> None:
        while True:
            await queue.get()
            queue.task_done()

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    workers = [asyncio.create_task(worker()) for _ in range(IDLE_WORKERS)]
    await asyncio.sleep(0)  # every worker runs to its first get() and parks there
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    for task in workers:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    return (after - before) / IDLE_WORKERS


def main() -> None:
    print(f"Python {sys.version_info.major}.{sys.version_info.minor}")
    print("1. signatures, as this interpreter defines them")
    for name in ("run", "create_task", "gather", "wait", "wait_for", "sleep", "to_thread"):
        print(f"   {signature_of(name)}")
    for name in ("Queue", "PriorityQueue", "Lock", "Semaphore", "BoundedSemaphore", "Runner"):
        print(f"   {signature_of(name)}")

    print("2. what one call costs here")
    for line in asyncio.run(measure_costs()):
        print(f"   {line}")

    per_worker = asyncio.run(idle_worker_bytes())
    print(f"   {per_worker / 1024:8.1f} KB  one idle worker task blocked in queue.get()")

    print("3. features newer than this interpreter")
    has_loop_factory = "loop_factory" in inspect.signature(asyncio.run).parameters
    print(f"   asyncio.run(..., loop_factory=) [3.12+]: {has_loop_factory}")
    print(f"   asyncio.eager_task_factory [3.12+]: {hasattr(asyncio, 'eager_task_factory')}")
    print(f"   asyncio.Queue.shutdown() [3.13+]: {hasattr(asyncio.Queue, 'shutdown')}")
    print(f"   asyncio.QueueShutDown [3.13+]: {hasattr(asyncio, 'QueueShutDown')}")


if __name__ == "__main__":
    main()
