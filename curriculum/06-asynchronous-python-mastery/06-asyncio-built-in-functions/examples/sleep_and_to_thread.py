"""asyncio.sleep() and asyncio.to_thread(): yielding, blocking, the default pool, and cancellation.

An invoicing service renders PDFs with a blocking library (simulated with time.sleep) while a
heartbeat task keeps ticking, or does not.
"""

import asyncio
import contextvars
import os
import threading
import time

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="(unset)")


async def step_through(name: str, steps: int, trace: list[str], *, yield_each_step: bool) -> None:
    for step in range(1, steps + 1):
        trace.append(f"{name}{step}")
        if yield_each_step:
            await asyncio.sleep(0)


async def sleep_zero() -> None:
    print("1. sleep(0) gives every other ready task one turn")
    for yield_each_step in (False, True):
        trace: list[str] = []
        await asyncio.gather(
            step_through("A", 3, trace, yield_each_step=yield_each_step),
            step_through("B", 3, trace, yield_each_step=yield_each_step),
        )
        print(f"   yield_each_step={yield_each_step!s:5}: {' '.join(trace)}")
    print(f"   sleep(0.01, result=...) returns {await asyncio.sleep(0.01, result='INV-7')!r}")
    print(f"   sleep(-5) is sleep(0), not an error: {await asyncio.sleep(-5, result='ok')!r}")


class Heartbeat:
    def __init__(self) -> None:
        self.ticks = 0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self.ticks += 1


def render_pdf(invoice: str) -> str:
    time.sleep(0.2)  # a blocking C library call, as far as the loop can tell
    return f"{invoice}.pdf"


async def blocking_versus_thread() -> None:
    print("2. a blocking call on the loop stops every task; to_thread() does not")
    heartbeat = Heartbeat()
    beating = asyncio.create_task(heartbeat.run())
    await asyncio.sleep(0.03)

    heartbeat.ticks = 0
    render_pdf("INV-1")
    print(f"   render_pdf() on the loop:   heartbeat ticks meanwhile = {heartbeat.ticks}")

    heartbeat.ticks = 0
    pdf = await asyncio.to_thread(render_pdf, "INV-2")
    print(f"   to_thread(render_pdf):      {pdf}, heartbeat kept ticking = {heartbeat.ticks > 0}")
    beating.cancel()


in_flight = 0
peak = 0
counter_lock = threading.Lock()


def tracked_render(invoice: str) -> str:
    global in_flight, peak
    with counter_lock:
        in_flight += 1
        peak = max(peak, in_flight)
    time.sleep(0.05)
    with counter_lock:
        in_flight -= 1
    return threading.current_thread().name


async def default_pool_size() -> None:
    print("3. the default executor: at most min(32, os.cpu_count() + 4) threads")
    thread_names = await asyncio.gather(
        *(asyncio.to_thread(tracked_render, f"INV-{n}") for n in range(40))
    )
    expected = min(32, (os.cpu_count() or 1) + 4)
    print(f"   40 calls at once: peak concurrency {peak}, formula gives {expected}")
    print(f"   peak == min(32, os.cpu_count() + 4): {peak == expected}")
    prefixes = {name.rsplit("_", 1)[0] for name in thread_names}
    print(f"   distinct threads used: {len(set(thread_names))}, name prefix: {prefixes}")


def who_am_i() -> str:
    return request_id.get()


async def context_propagation() -> None:
    print("4. to_thread() copies contextvars into the thread; run_in_executor() does not")
    request_id.set("req-5521")
    loop = asyncio.get_running_loop()
    print(f"   to_thread:             request_id={await asyncio.to_thread(who_am_i)}")
    print(f"   run_in_executor(None): request_id={await loop.run_in_executor(None, who_am_i)}")


def slow_export(done: threading.Event) -> None:
    time.sleep(0.3)
    done.set()


async def cancellation_leaves_the_thread() -> None:
    print("5. a timeout cancels the await, not the thread")
    done = threading.Event()
    try:
        async with asyncio.timeout(0.05):
            await asyncio.to_thread(slow_export, done)
    except TimeoutError:
        print(f"   TimeoutError after 0.05 s; export still running: {not done.is_set()}")
    finished = await asyncio.to_thread(done.wait, 5)
    print(f"   the thread ran to the end anyway: {finished}")


async def main() -> None:
    await sleep_zero()
    await blocking_versus_thread()
    await default_pool_size()
    await context_propagation()
    await cancellation_leaves_the_thread()


if __name__ == "__main__":
    asyncio.run(main())
