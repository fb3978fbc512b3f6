"""What an executor itself costs: a round trip, pickling the payload, chunksize, start-up.

The comparison of threads, processes and asyncio as concurrency models is section 6.11's;
this file measures only the executor machinery. Timings vary with the machine's load, so
compare the rows of one run with each other, not with another run.
"""

import multiprocessing
import os
import pickle
import statistics
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor


def vat_cents(net_cents: int) -> int:
    return net_cents * 19 // 100


def payload_size(document: bytes) -> int:
    return len(document)


def best_of(runs: int, measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(runs))


def round_trip_us(pool: Executor, calls: int) -> float:
    started = time.perf_counter()
    for net in range(calls):
        pool.submit(vat_cents, net).result()
    return (time.perf_counter() - started) / calls * 1e6


def round_trips() -> None:
    print("1. submit() + result() of a trivial call, one at a time (best of 3 x 200 calls)")
    print(f"   direct call in this thread:  {best_of(3, lambda: direct_us(200)):8.1f} us")
    with ThreadPoolExecutor(max_workers=2) as threads:
        thread_us = best_of(3, lambda: round_trip_us(threads, 200))
        print(f"   ThreadPoolExecutor:          {thread_us:8.1f} us")
    with ProcessPoolExecutor(max_workers=2) as processes:
        processes.submit(vat_cents, 0).result()  # start the workers before measuring
        process_us = best_of(3, lambda: round_trip_us(processes, 200))
        print(f"   ProcessPoolExecutor:         {process_us:8.1f} us")


def direct_us(calls: int) -> float:
    started = time.perf_counter()
    for net in range(calls):
        vat_cents(net)
    return (time.perf_counter() - started) / calls * 1e6


def payloads() -> None:
    print("2. sending a document to a worker: the argument is pickled and piped")
    with ThreadPoolExecutor(max_workers=1) as threads, ProcessPoolExecutor(max_workers=1) as procs:
        procs.submit(payload_size, b"").result()
        for size in (1_000, 1_000_000, 8_000_000):
            document = os.urandom(size)
            pickled = len(pickle.dumps(document, protocol=pickle.HIGHEST_PROTOCOL))

            def send(pool: Executor, doc: bytes = document) -> float:
                started = time.perf_counter()
                pool.submit(payload_size, doc).result()
                return (time.perf_counter() - started) * 1000

            thread_ms = best_of(3, lambda: send(threads))
            process_ms = best_of(3, lambda: send(procs))
            print(
                f"   {size:>9,} B (pickled {pickled:>9,} B): thread {thread_ms:7.2f} ms"
                f"   process {process_ms:7.2f} ms"
            )


def chunk_sizes() -> None:
    items = list(range(2_000))
    expected = sum(vat_cents(n) for n in items)
    print(f"3. ProcessPoolExecutor.map over {len(items):,} tiny calls, 2 workers")
    with ProcessPoolExecutor(max_workers=2) as pool:
        pool.submit(vat_cents, 0).result()
        for chunksize in (1, 20, 250):
            started = time.perf_counter()
            total = sum(pool.map(vat_cents, items, chunksize=chunksize))
            elapsed = (time.perf_counter() - started) * 1000
            tasks = -(-len(items) // chunksize)
            print(
                f"   chunksize={chunksize:<5} {tasks:>6,} tasks  {elapsed:8.1f} ms"
                f"   correct: {total == expected}"
            )
    with ThreadPoolExecutor(max_workers=2) as threads:
        started = time.perf_counter()
        sum(threads.map(vat_cents, items, chunksize=250))
        elapsed = (time.perf_counter() - started) * 1000
        print(f"   ThreadPoolExecutor ignores chunksize: {len(items):,} futures  {elapsed:8.1f} ms")


def start_up() -> None:
    print("4. ProcessPoolExecutor(2): start, one call, shut down; first pool, then 2 more")
    for method in ("fork", "forkserver", "spawn"):
        context = multiprocessing.get_context(method)
        samples = []
        for _ in range(3):
            started = time.perf_counter()
            with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
                pool.submit(vat_cents, 100).result()
            samples.append((time.perf_counter() - started) * 1000)
        later = statistics.median(samples[1:])
        print(f"   {method:<10} first {samples[0]:8.1f} ms   later (median) {later:8.1f} ms")


def main() -> None:
    round_trips()
    payloads()
    chunk_sizes()
    start_up()


if __name__ == "__main__":
    main()
