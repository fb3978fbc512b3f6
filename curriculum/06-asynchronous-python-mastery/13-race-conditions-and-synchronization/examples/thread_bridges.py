"""queue.Queue and asyncio.Queue across the thread boundary: what breaks, and the three bridges.

A warehouse's parcel scanner SDK is synchronous and calls back on its own thread; the label
printer SDK must be driven from a thread of its own. The service in between runs on asyncio.
Every handoff below is ordered by construction (threading.Event handshakes, a consumer that
starts only after the producer finishes), so the printed counts are the same on every run.
"""

import asyncio
import gc
import logging
import queue
import sys
import threading

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log %(name)s: %(message)s")
log = logging.getLogger("warehouse")


async def heartbeat(ticks: list[int], ticked_three_times: threading.Event) -> None:
    """What every other task on the loop experiences: does it still get to run?"""
    while True:
        await asyncio.sleep(0.01)
        ticks[0] += 1
        if ticks[0] == 3:
            ticked_three_times.set()


def scanner_thread(parcels: "queue.Queue[str]", loop_alive: threading.Event) -> None:
    # Deliver once the loop has shown it is alive, or after 0.3 s if it never does.
    loop_alive.wait(timeout=0.3)
    parcels.put("PCL-1001")


async def wait_on_thread_queue(offload: bool) -> int:
    parcels: queue.Queue[str] = queue.Queue()
    ticks = [0]
    loop_alive = threading.Event()
    beat = asyncio.create_task(heartbeat(ticks, loop_alive))
    await asyncio.sleep(0)
    threading.Thread(target=scanner_thread, args=(parcels, loop_alive), daemon=True).start()
    if offload:
        parcel = await asyncio.to_thread(parcels.get)  # a pool thread blocks, the loop runs
    else:
        parcel = parcels.get()  # blocks the event loop's own thread
    beat.cancel()
    log.info("received %s", parcel)
    return ticks[0]


async def asyncio_queue_from_a_thread() -> list[str]:
    loop = asyncio.get_running_loop()
    problems: list[str] = []
    loop.set_exception_handler(lambda _loop, context: problems.append(context["message"]))
    loop.set_debug(True)  # debug mode checks which thread calls into the loop
    loop.slow_callback_duration = 10.0  # keep debug mode's slow-callback warnings out of this
    try:
        parcels: asyncio.Queue[str] = asyncio.Queue()
        getter = asyncio.create_task(parcels.get())
        await asyncio.sleep(0)

        def scan() -> None:
            try:
                parcels.put_nowait("PCL-2001")  # wrong: asyncio.Queue from another thread
            except RuntimeError as exc:
                problems.append(f"in the scanner thread: RuntimeError: {exc}")

        await asyncio.to_thread(scan)
        await asyncio.sleep(0.05)
        problems.append(f"queue holds {parcels.qsize()} item, getter woke: {getter.done()}")
    finally:
        loop.set_debug(False)
    del getter  # the getter can never wake now; dropping it shows how asyncio reports that
    gc.collect()
    loop.set_exception_handler(None)
    return problems


async def call_soon_threadsafe_bridge() -> str:
    loop = asyncio.get_running_loop()
    parcels: asyncio.Queue[str] = asyncio.Queue()
    getter = asyncio.create_task(parcels.get())
    await asyncio.sleep(0)

    def scan() -> None:
        loop.call_soon_threadsafe(parcels.put_nowait, "PCL-3001")  # runs on the loop's thread

    await asyncio.to_thread(scan)
    return await getter


async def bounded_bridge(blocking_put: bool) -> tuple[int, int, int]:
    """20 parcels from a thread into asyncio.Queue(maxsize=4): (delivered, peak size, lost)."""
    loop = asyncio.get_running_loop()
    lost: list[str] = []
    loop.set_exception_handler(lambda _loop, context: lost.append(repr(context["exception"])))
    parcels: asyncio.Queue[str] = asyncio.Queue(maxsize=4)
    produced = threading.Event()

    def scan_batch() -> None:
        for n in range(20):
            parcel = f"PCL-{4001 + n}"
            if blocking_put:  # waits in this thread while the queue is full
                asyncio.run_coroutine_threadsafe(parcels.put(parcel), loop).result(timeout=5)
            else:  # put_nowait on the loop: raises QueueFull there when full
                loop.call_soon_threadsafe(parcels.put_nowait, parcel)
        loop.call_soon_threadsafe(produced.set)

    received: list[str] = []
    peak = 0
    producer = asyncio.create_task(asyncio.to_thread(scan_batch))
    if not blocking_put:
        await producer  # nothing consumes until the scanner is done: the queue stays full
    while not (produced.is_set() and parcels.empty()):
        peak = max(peak, parcels.qsize())
        try:
            async with asyncio.timeout(5):
                received.append(await parcels.get())
        except TimeoutError:
            break
        await asyncio.sleep(0.001)  # a consumer slower than the scanner
    await producer
    loop.set_exception_handler(None)
    in_order = received == sorted(received)
    log.info("delivered in order: %s", in_order)
    return len(received), peak, len(lost)


def settle(reply: "asyncio.Future[str]", label: str) -> None:
    """Runs on the loop's thread. The caller may have given up (a timeout cancels the future)."""
    if not reply.done():
        reply.set_result(label)


def label_printer(
    jobs: "queue.Queue[tuple[str, asyncio.Future[str]] | None]", loop: asyncio.AbstractEventLoop
) -> None:
    """A synchronous SDK's worker thread: blocking get(), results sent back to the loop."""
    while (job := jobs.get()) is not None:
        parcel, reply = job
        label = f"{parcel}:label-zpl"  # the blocking SDK call would go here
        loop.call_soon_threadsafe(settle, reply, label)
    log.info("label printer thread stopped")


async def loop_to_thread() -> list[str]:
    loop = asyncio.get_running_loop()
    jobs: queue.Queue[tuple[str, asyncio.Future[str]] | None] = queue.Queue()
    printer = threading.Thread(target=label_printer, args=(jobs, loop), name="label-printer")
    printer.start()
    replies: list[asyncio.Future[str]] = []
    for parcel in ("PCL-5001", "PCL-5002", "PCL-5003"):
        reply: asyncio.Future[str] = loop.create_future()
        jobs.put_nowait((parcel, reply))  # unbounded queue.Queue: never blocks the loop
        replies.append(reply)
    labels = list(await asyncio.gather(*replies))
    jobs.put_nowait(None)  # the sentinel stops the thread
    await asyncio.to_thread(printer.join)
    return labels


async def main() -> None:
    print("1. waiting on a queue.Queue from a coroutine")
    ticks = await wait_on_thread_queue(offload=False)
    print(f"   parcels.get() on the loop: heartbeat ticks while waiting = {ticks}")
    ticks = await wait_on_thread_queue(offload=True)
    print(f"   await asyncio.to_thread(parcels.get): heartbeat ticked >= 3 times: {ticks >= 3}")

    print("2. asyncio.Queue.put_nowait() called from a thread (debug mode on)")
    for problem in await asyncio_queue_from_a_thread():
        print(f"   {problem}")
    parcel = await call_soon_threadsafe_bridge()
    print(f"   with loop.call_soon_threadsafe(queue.put_nowait, ...): got {parcel}")

    print("3. thread -> loop with backpressure, asyncio.Queue(maxsize=4), 20 parcels")
    delivered, peak, lost = await bounded_bridge(blocking_put=True)
    print(
        f"   run_coroutine_threadsafe(put()).result(): delivered {delivered}, peak <= 4: "
        f"{peak <= 4}, lost {lost}"
    )
    delivered, peak, lost = await bounded_bridge(blocking_put=False)
    print(
        f"   call_soon_threadsafe(put_nowait):        delivered {delivered}, peak {peak}, "
        f"lost {lost} (QueueFull raised in loop callbacks)"
    )

    print("4. loop -> thread: queue.Queue in, futures back through call_soon_threadsafe")
    print(f"   {await loop_to_thread()}")


if __name__ == "__main__":
    asyncio.run(main())
