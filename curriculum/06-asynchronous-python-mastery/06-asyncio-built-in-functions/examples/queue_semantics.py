"""asyncio.Queue: backpressure, nowait variants, task_done()/join(), priorities, stopping workers.

An order-ingestion service reads orders from a feed into a queue that workers drain.
"""

import asyncio
import itertools
import logging
import re
import sys
from dataclasses import dataclass

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log %(name)s: %(message)s")
log = logging.getLogger("ingest")


@dataclass(frozen=True)
class Order:
    number: str
    tenant: str


async def backpressure() -> None:
    print("1. put() waits while a bounded queue is full; that wait is the backpressure")
    queue: asyncio.Queue[Order] = asyncio.Queue(maxsize=2)
    trace: list[str] = []

    async def feed_reader() -> None:
        for n in range(1, 6):
            if queue.full():
                trace.append("reader waits")
            await queue.put(Order(f"ORD-{n}", "acme"))
            trace.append(f"put {n}")

    async def slow_worker() -> None:
        for _ in range(5):
            order = await queue.get()
            trace.append(f"got {order.number[-1]}")
            await asyncio.sleep(0)  # handling the order
            queue.task_done()

    await asyncio.gather(feed_reader(), slow_worker())
    for start in range(0, len(trace), 7):
        print(f"   {' | '.join(trace[start : start + 7])}")


async def nowait_variants() -> None:
    print("2. the _nowait variants never wait: they raise")
    queue: asyncio.Queue[Order] = asyncio.Queue(maxsize=1)
    queue.put_nowait(Order("ORD-1", "acme"))
    try:
        queue.put_nowait(Order("ORD-2", "acme"))
    except asyncio.QueueFull:
        print(f"   put_nowait on a full queue -> QueueFull, qsize={queue.qsize()}")
    queue.get_nowait()
    try:
        queue.get_nowait()
    except asyncio.QueueEmpty:
        print(f"   get_nowait on an empty queue -> QueueEmpty, empty()={queue.empty()}")
    unbounded: asyncio.Queue[int] = asyncio.Queue()
    print(f"   Queue() is unbounded: maxsize={unbounded.maxsize}, full()={unbounded.full()}")


async def join_counts_task_done() -> None:
    print("3. join() waits for one task_done() per put(), not for an empty queue")
    queue: asyncio.Queue[Order] = asyncio.Queue()
    for n in range(1, 4):
        queue.put_nowait(Order(f"ORD-{n}", "acme"))

    async def careless_worker() -> None:
        while True:
            order = await queue.get()
            if order.number == "ORD-2":
                log.warning("skipping %s and forgetting task_done()", order.number)
                continue
            queue.task_done()

    worker = asyncio.create_task(careless_worker())
    try:
        async with asyncio.timeout(0.2):
            await queue.join()
    except TimeoutError:
        print(f"   join() still waiting after 0.2 s although empty()={queue.empty()}")
    worker.cancel()
    queue.task_done()  # the missing call; join() can now return
    await queue.join()
    try:
        queue.task_done()
    except ValueError as error:
        print(f"   one task_done() too many -> ValueError: {error}")


async def priorities() -> None:
    print("4. PriorityQueue pops the smallest item; break ties before the payload is compared")
    queue: asyncio.PriorityQueue[tuple[int, int, Order]] = asyncio.PriorityQueue()
    sequence = itertools.count()
    for priority, number in ((2, "ORD-10"), (1, "ORD-11"), (2, "ORD-12"), (1, "ORD-13")):
        queue.put_nowait((priority, next(sequence), Order(number, "acme")))
    popped = [queue.get_nowait() for _ in range(queue.qsize())]
    print(f"   {[(priority, order.number) for priority, _, order in popped]}")

    bare: asyncio.PriorityQueue[tuple[int, dict[str, str]]] = asyncio.PriorityQueue()
    bare.put_nowait((1, {"number": "ORD-20"}))
    try:
        bare.put_nowait((1, {"number": "ORD-21"}))
    except TypeError as error:
        print(f"   equal priorities, dict payloads -> TypeError: {error}")
    lifo: asyncio.LifoQueue[str] = asyncio.LifoQueue()
    for number in ("ORD-30", "ORD-31", "ORD-32"):
        lifo.put_nowait(number)
    print(f"   LifoQueue pops newest first: {[lifo.get_nowait() for _ in range(3)]}")


async def stop_workers_after_join() -> None:
    print("5. stopping a worker pool on 3.11: join(), then cancel the idle workers")
    queue: asyncio.Queue[Order] = asyncio.Queue(maxsize=10)
    handled: list[str] = []

    async def worker(name: str) -> None:
        while True:
            order = await queue.get()
            try:
                await asyncio.sleep(0.001)
                handled.append(order.number)
            except Exception:
                log.exception("%s failed on %s", name, order.number)
            finally:
                queue.task_done()

    workers = [asyncio.create_task(worker(f"worker-{n}")) for n in range(3)]
    for n in range(1, 9):
        await queue.put(Order(f"ORD-{n}", "acme"))
    await queue.join()
    for task in workers:
        task.cancel()
    outcomes = await asyncio.gather(*workers, return_exceptions=True)
    endings = sorted({type(outcome).__name__ for outcome in outcomes})
    print(f"   handled {len(handled)} orders; the workers ended with {endings}")


shared_queue: asyncio.Queue[Order] = asyncio.Queue()


async def wait_on_shared_queue() -> None:
    try:
        async with asyncio.timeout(0.01):
            await shared_queue.get()
    except TimeoutError:
        pass


def queue_outlives_its_loop() -> None:
    print("6. a queue binds to the first loop it waits on")
    asyncio.run(wait_on_shared_queue())
    try:
        asyncio.run(wait_on_shared_queue())
    except RuntimeError as error:
        message = re.sub(r" at 0x[0-9a-f]+", "", str(error))
        print(f"   second asyncio.run() -> RuntimeError: {message}")


async def main() -> None:
    await backpressure()
    await nowait_variants()
    await join_counts_task_done()
    await priorities()
    await stop_workers_after_join()


if __name__ == "__main__":
    asyncio.run(main())
    queue_outlives_its_loop()
