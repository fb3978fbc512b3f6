"""Concurrency is overlapping waits on one thread; parallelism is computing on several cores.

Part 1: three downstream calls that mostly wait, interleaved by one event loop on one thread.
Part 2: two CPU-heavy fraud scores, run one after another, as coroutines, on two threads and
on two processes. Only the processes can compute at the same time, and only if there are free
cores. The kernel's per-thread counters tell the two apart: time on a CPU is what a variant got,
time on a CPU plus time runnable but queued for a core is what it could have used.
"""

import asyncio
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

timeline: list[str] = []


def note(event: str) -> None:
    timeline.append(f"{threading.current_thread().name:<10} {event}")


async def call_downstream(service: str, wait: float) -> str:
    note(f"{service}: request sent")
    await asyncio.sleep(wait)  # stands in for a socket read; the loop runs others meanwhile
    note(f"{service}: answer received")
    return f"{service} ok"


async def overlapping_waits() -> list[str]:
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(call_downstream("billing", 0.09)),
            group.create_task(call_downstream("crm", 0.03)),
            group.create_task(call_downstream("shipping", 0.06)),
        ]
    return [task.result() for task in tasks]


SCHEDSTAT = "/proc/thread-self/schedstat"  # Linux: ns on a CPU, ns runnable but queued, slices


def cpu_clocks() -> tuple[float, float]:
    """Seconds this thread has run on a CPU, and seconds it was runnable but waiting for one."""
    if os.path.exists(SCHEDSTAT):
        with open(SCHEDSTAT) as stat:
            on_cpu, run_queue, _ = (int(field) for field in stat.read().split())
        return on_cpu / 1e9, run_queue / 1e9
    return time.thread_time(), 0.0  # elsewhere: no run-queue figure


Scored = tuple[int, float, float]  # (score, seconds on a CPU, seconds queued for a CPU)


def fraud_score(customer_id: int) -> Scored:
    """Pure-Python arithmetic: it never waits, so only more cores make it finish sooner."""
    cpu_started, queue_started = cpu_clocks()
    score = customer_id
    for step in range(2_500_000):
        score = (score * 31 + step) % 1_000_003
    cpu_ended, queue_ended = cpu_clocks()
    return score, cpu_ended - cpu_started, queue_ended - queue_started


async def score_as_coroutine(customer_id: int) -> Scored:
    note(f"score {customer_id}: start")
    scored = fraud_score(customer_id)  # no await inside: nothing else can run meanwhile
    note(f"score {customer_id}: done")
    return scored


async def scores_as_coroutines(customers: list[int]) -> list[Scored]:
    return list(await asyncio.gather(*(score_as_coroutine(c) for c in customers)))


def timed(label: str, run: Callable[[], list[Scored]]) -> list[int]:
    started = time.perf_counter()
    scored = run()
    elapsed = time.perf_counter() - started
    used = sum(cpu for _, cpu, _ in scored) / elapsed
    runnable = sum(cpu + queued for _, cpu, queued in scored) / elapsed
    print(f"  {label:<20} {elapsed:5.2f} s   cores wanted {runnable:3.1f}, got {used:3.1f}")
    return [score for score, _, _ in scored]


def main() -> None:
    print("1. Three waits on one thread")
    started = time.perf_counter()
    results = asyncio.run(overlapping_waits())
    elapsed = time.perf_counter() - started
    print(*timeline, sep="\n")
    print(f"results: {results}")
    print(f"threads: {threading.active_count()}, elapsed {elapsed:.2f} s for waits of 90+30+60 ms")

    print("\n2. Two CPU-bound fraud scores")
    customers = [1001, 1002]
    expected = timed("one after the other", lambda: [fraud_score(c) for c in customers])
    timeline.clear()
    runs = [timed("two coroutines", lambda: asyncio.run(scores_as_coroutines(customers)))]
    print("  " + "\n  ".join(timeline))
    with ThreadPoolExecutor(max_workers=2) as threads:
        runs.append(timed("two threads", lambda: list(threads.map(fraud_score, customers))))
    with ProcessPoolExecutor(max_workers=2) as processes:
        processes.submit(os.getpid).result()  # fork the workers before the clock starts
        runs.append(timed("two processes", lambda: list(processes.map(fraud_score, customers))))
    print(f"  every run computed the same scores: {all(run == expected for run in runs)}")


if __name__ == "__main__":
    main()
