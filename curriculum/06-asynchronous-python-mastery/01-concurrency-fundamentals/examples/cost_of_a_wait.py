"""What one more concurrent wait costs: an idle asyncio task against an idle thread.

A connection that is waiting for its next message holds either a task or a thread. This
measures, on Linux, the memory each one adds while it waits (resident, and for threads the
virtual address space their stacks reserve) and how long it takes to start one.
"""

import asyncio
import logging
import resource
import sys
import threading
import time

MIB = 1024 * 1024
PAGE = resource.getpagesize()

log = logging.getLogger("capacity-check")


def memory() -> tuple[int, int]:
    """(virtual, resident) bytes of this process, from /proc/self/statm."""
    with open("/proc/self/statm") as statm:
        virtual_pages, resident_pages = (int(field) for field in statm.read().split()[:2])
    return virtual_pages * PAGE, resident_pages * PAGE


async def idle_tasks(count: int) -> float:
    """Resident bytes per task for `count` tasks that wait on one event, as idle connections do."""
    delivered = asyncio.Event()
    _, resident_before = memory()
    tasks = [asyncio.create_task(delivered.wait()) for _ in range(count)]
    await asyncio.sleep(0)  # every task runs up to its await and suspends there
    _, resident_after = memory()
    delivered.set()
    await asyncio.gather(*tasks)
    return (resident_after - resident_before) / count


def idle_threads(count: int) -> tuple[float, float]:
    """(resident, virtual) bytes per thread for `count` threads blocked on one event."""
    delivered = threading.Event()
    virtual_before, resident_before = memory()
    threads = [threading.Thread(target=delivered.wait) for _ in range(count)]
    for thread in threads:
        thread.start()
    virtual_after, resident_after = memory()
    delivered.set()
    for thread in threads:
        thread.join()
    return (resident_after - resident_before) / count, (virtual_after - virtual_before) / count


def thread_start_cost(count: int) -> float:
    """Seconds to start and join one thread that does nothing."""
    started = time.perf_counter()
    for _ in range(count):
        thread = threading.Thread(target=int)
        thread.start()
        thread.join()
    return (time.perf_counter() - started) / count


async def task_start_cost(count: int) -> float:
    """Seconds to run one trivial coroutine to completion through gather()."""

    async def noop() -> None:
        return None

    started = time.perf_counter()
    await asyncio.gather(*(noop() for _ in range(count)))
    return (time.perf_counter() - started) / count


async def loop_round_trip(count: int) -> float:
    """Seconds for one `await asyncio.sleep(0)`: suspend, one turn of the loop, resume."""
    started = time.perf_counter()
    for _ in range(count):
        await asyncio.sleep(0)
    return (time.perf_counter() - started) / count


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not sys.platform.startswith("linux"):
        log.error("this measurement reads /proc/self/statm and needs Linux")
        raise SystemExit(1)
    stack_limit, _ = resource.getrlimit(resource.RLIMIT_STACK)
    print(f"stack size limit (ulimit -s): {stack_limit / MIB:.0f} MiB")

    per_task = asyncio.run(idle_tasks(50_000))
    print(f"50,000 idle tasks:    {per_task / 1024:5.1f} KiB resident each")
    for label, stack_bytes in (("default stack", 0), ("512 KiB stack", 512 * 1024)):
        threading.stack_size(stack_bytes)  # 0: the platform default; applies to new threads
        resident, virtual = idle_threads(1_000)
        print(
            f"1,000 idle threads, {label}: {resident / 1024:5.1f} KiB resident, "
            f"{virtual / MIB:4.1f} MiB virtual each"
        )
    threading.stack_size(0)
    print(f"start a thread:       {thread_start_cost(500) * 1e6:5.0f} µs")
    print(f"run a coroutine:      {asyncio.run(task_start_cost(10_000)) * 1e6:5.1f} µs (gather)")
    print(f"one loop round trip:  {asyncio.run(loop_round_trip(20_000)) * 1e6:5.1f} µs (sleep(0))")


if __name__ == "__main__":
    main()
