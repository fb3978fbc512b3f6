"""A Future's states, result() and callbacks, then wait(), as_completed() and map().

Each report export blocks on its own threading.Event, and the main thread decides when it
may finish. That makes the completion order a choice instead of a race, so the output is the
same on every run.
"""

import concurrent.futures
import threading
import time
from collections.abc import Iterator
from concurrent.futures import (
    ALL_COMPLETED,
    FIRST_COMPLETED,
    FIRST_EXCEPTION,
    Future,
    ThreadPoolExecutor,
    as_completed,
    wait,
)


def export_report(tenant: str, gate: threading.Event) -> str:
    if not gate.wait(timeout=5):
        raise TimeoutError(f"gate for {tenant} never opened")
    if tenant.startswith("broken"):
        raise ValueError(f"{tenant}: template missing")
    return f"{tenant}.csv"


def state(future: Future[str]) -> str:
    """A Future's state from its public methods only."""
    if future.cancelled():
        return "cancelled"
    if future.running():
        return "running"
    if not future.done():
        return "pending"
    error = future.exception()
    return f"raised {type(error).__name__}" if error else f"returned {future.result()!r}"


def wait_until_running(future: Future[str]) -> None:
    deadline = time.monotonic() + 3
    while not future.running() and time.monotonic() < deadline:
        time.sleep(0.005)


def lifecycle(pool: ThreadPoolExecutor) -> None:
    print("1. one worker thread, two exports")
    gate_a, gate_b = threading.Event(), threading.Event()
    first = pool.submit(export_report, "acme", gate_a)
    second = pool.submit(export_report, "globex", gate_b)
    wait_until_running(first)
    print(f"   first: {state(first)}, second: {state(second)}")
    print(f"   second.cancel() -> {second.cancel()}, first.cancel() -> {first.cancel()}")
    try:
        first.result(timeout=0.05)
    except TimeoutError as error:  # concurrent.futures.TimeoutError is TimeoutError since 3.11
        print(f"   first.result(timeout=0.05) -> {type(error).__name__}; first: {state(first)}")
    try:
        second.result()
    except concurrent.futures.CancelledError:
        print("   second.result() -> concurrent.futures.CancelledError (an Exception subclass)")
    callback_ran = threading.Event()

    def on_done(future: Future[str]) -> None:
        print(f"   callback on thread {threading.current_thread().name}: {state(future)}")
        callback_ran.set()

    first.add_done_callback(on_done)
    gate_a.set()
    first.result()  # can return before the worker thread has run the callbacks
    callback_ran.wait(timeout=3)
    first.add_done_callback(
        lambda f: print(f"   late callback runs at once, on {threading.current_thread().name}")
    )


def waiting(pool: ThreadPoolExecutor) -> None:
    print("2. wait() returns (done, not_done) and never raises")
    gates = {tenant: threading.Event() for tenant in ("acme", "broken-initech", "globex")}
    futures = {pool.submit(export_report, t, g): t for t, g in gates.items()}
    done, not_done = wait(futures, timeout=0.1)
    print(f"   timeout=0.1, nothing released: done={len(done)}, not_done={len(not_done)}")
    gates["acme"].set()
    done, not_done = wait(futures, return_when=FIRST_COMPLETED)
    print(f"   FIRST_COMPLETED: done={sorted(futures[f] for f in done)}")
    gates["broken-initech"].set()
    done, not_done = wait(futures, return_when=FIRST_EXCEPTION)
    failed = [futures[f] for f in done if f.exception()]
    print(f"   FIRST_EXCEPTION: failed={failed}, still running={[futures[f] for f in not_done]}")
    gates["globex"].set()
    done, not_done = wait(futures, return_when=ALL_COMPLETED)
    print(f"   ALL_COMPLETED: done={len(done)}, not_done={len(not_done)}")


def completion_order(pool: ThreadPoolExecutor) -> None:
    print("3. as_completed() yields in completion order, each future once")
    gates = [threading.Event() for _ in range(3)]
    futures = [pool.submit(export_report, f"tenant-{n}", gates[n]) for n in range(3)]
    release_order = iter([2, 0, 1])
    gates[next(release_order)].set()
    for future in as_completed(futures + futures):  # the duplicates are dropped
        print(f"   {future.result()}")
        next_gate = next(release_order, None)
        if next_gate is not None:
            gates[next_gate].set()
    slow_gate = threading.Event()
    slow = pool.submit(export_report, "hooli", slow_gate)
    try:
        for _ in as_completed([slow], timeout=0.1):
            pass
    except TimeoutError as error:
        print(f"   as_completed(timeout=0.1): TimeoutError({error}); hooli is {state(slow)}")
    slow_gate.set()
    slow.result()


def mapping(pool: ThreadPoolExecutor) -> None:
    print("4. map() submits everything first and yields results in input order")
    pulled: list[str] = []

    def tenants() -> Iterator[str]:
        for tenant in ("acme", "globex", "broken-umbrella", "hooli", "initech"):
            pulled.append(tenant)
            yield tenant

    gate = threading.Event()
    gate.set()
    results = pool.map(export_report, tenants(), [gate] * 5)
    print(f"   before the first next(): {len(pulled)} of 5 tenants pulled from the generator")
    collected: list[str] = []
    try:
        for name in results:
            collected.append(name)
    except ValueError as error:
        print(f"   got {collected}, then ValueError: {error}; hooli and initech are lost")


def main() -> None:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export") as pool:
        lifecycle(pool)
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="export") as pool:
        waiting(pool)
        completion_order(pool)
        mapping(pool)


if __name__ == "__main__":
    main()
