"""Producer-consumer with bounded queues: backpressure, a two-stage pipeline, a dead worker.

An order importer reads a partner's feed page by page and hands the orders to worker tasks
that price them and buy shipping labels. The figures printed are counts, which come out the
same on every run; the one wall-clock figure is masked in CI.
"""

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log %(name)s: %(message)s")
log = logging.getLogger("importer")


@dataclass(frozen=True)
class Order:
    number: int
    tenant: str
    amount_cents: int


@dataclass
class Gauge:
    """Counts orders between the feed and the finish line: read, but not yet finished."""

    read: int = 0
    finished: int = 0
    peak_ahead: int = 0

    def on_read(self) -> None:
        self.read += 1
        self.peak_ahead = max(self.peak_ahead, self.read - self.finished)

    def on_finish(self) -> None:
        self.finished += 1


async def partner_feed(count: int, gauge: Gauge, page_size: int = 10) -> AsyncIterator[Order]:
    """The partner's API, one page per request; a generator reads a page only when asked."""
    for start in range(0, count, page_size):
        await asyncio.sleep(0)  # the page request
        for number in range(start, min(start + page_size, count)):
            gauge.on_read()
            tenant = "unknown" if number == 13 else f"tenant-{number % 3}"
            yield Order(number, tenant, 1_000 + number)


async def import_orders(count: int, maxsize: int, workers: int) -> tuple[Gauge, int, float]:
    """One producer, `workers` consumers, one queue; None is the end marker."""
    queue: asyncio.Queue[Order | None] = asyncio.Queue(maxsize=maxsize)
    gauge = Gauge()
    peak_depth = 0

    async def producer() -> None:
        nonlocal peak_depth
        async for order in partner_feed(count, gauge):
            await queue.put(order)  # waits while the queue is full: the backpressure
            peak_depth = max(peak_depth, queue.qsize())
        for _ in range(workers):
            await queue.put(None)  # one end marker per consumer

    async def consumer() -> None:
        while await queue.get() is not None:
            await asyncio.sleep(0.05)  # the pricing call
            gauge.on_finish()

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        group.create_task(producer())
        for _ in range(workers):
            group.create_task(consumer())
    return gauge, peak_depth, time.perf_counter() - started


async def backpressure() -> None:
    print("1. One producer, 3 consumers, 30 orders: a bounded and an unbounded queue")
    for maxsize in (4, 0):
        gauge, peak_depth, elapsed = await import_orders(30, maxsize, workers=3)
        label = f"maxsize={maxsize}:" if maxsize else "unbounded:"
        print(
            f"   {label:11} peak queue depth {peak_depth:2}, "
            f"peak read-but-unfinished {gauge.peak_ahead:2}, took {elapsed:.2f} s"
        )


@dataclass
class Ledger:
    shipped: list[int] = field(default_factory=list)
    dead_letters: list[tuple[int, str]] = field(default_factory=list)


async def price(order: Order) -> Order:
    await asyncio.sleep(0.005)
    if order.tenant == "unknown":
        raise ValueError(f"no price list for tenant {order.tenant!r}")
    return order


async def buy_label(order: Order) -> None:
    await asyncio.sleep(0.06)


async def two_stage_pipeline() -> None:
    print("2. feed -> queue(4) -> 4 pricing workers -> queue(4) -> 2 label workers")
    to_price: asyncio.Queue[Order | None] = asyncio.Queue(maxsize=4)
    to_label: asyncio.Queue[Order | None] = asyncio.Queue(maxsize=4)
    gauge, ledger = Gauge(), Ledger()

    async def producer() -> None:
        async for order in partner_feed(20, gauge):
            await to_price.put(order)
        for _ in range(4):
            await to_price.put(None)

    async def pricing_worker() -> None:
        while (order := await to_price.get()) is not None:
            try:
                priced = await price(order)
            except ValueError as error:  # one bad order must not stop the pipeline
                log.warning("order %d dead-lettered: %s", order.number, error)
                ledger.dead_letters.append((order.number, str(error)))
                gauge.on_finish()
                continue
            await to_label.put(priced)  # waits while the label stage is behind

    async def label_worker() -> None:
        while (order := await to_label.get()) is not None:
            await buy_label(order)
            ledger.shipped.append(order.number)
            gauge.on_finish()

    async with asyncio.TaskGroup() as outer:
        outer.create_task(producer())
        labellers = [outer.create_task(label_worker()) for _ in range(2)]
        async with asyncio.TaskGroup() as pricing:
            for _ in range(4):
                pricing.create_task(pricing_worker())
        for _ in labellers:  # every pricing worker has finished: close the next stage
            await to_label.put(None)

    bound = 4 + 4 + 4 + 2 + 1
    print(f"   peak read-but-unfinished {gauge.peak_ahead}, the most the queues allow is {bound}")
    print(f"   shipped {len(ledger.shipped)}, dead-lettered {len(ledger.dead_letters)}")


async def dead_worker() -> None:
    print("3. A consumer crashes on order 5")

    async def run(supervised: bool) -> str:
        queue: asyncio.Queue[Order | None] = asyncio.Queue(maxsize=4)

        async def producer() -> None:
            async for order in partner_feed(30, Gauge()):
                await queue.put(order)

        async def consumer() -> None:
            while (order := await queue.get()) is not None:
                if order.number == 5:
                    raise KeyError("currency")  # a bug, not a bad order
                await asyncio.sleep(0.001)

        if not supervised:
            worker = asyncio.create_task(consumer())  # nobody watches it
            try:
                async with asyncio.timeout(0.5):
                    await producer()
            except TimeoutError:
                return (
                    f"the producer is still in put() after 0.5 s (queue full={queue.full()});\n"
                    f"{'':16}the worker died with {worker.exception()!r}, and nobody noticed"
                )
            return "finished"
        outcome = "finished"
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(producer())
                group.create_task(consumer())
        except* KeyError as group_error:
            outcome = f"cancelled the producer at once and raised {group_error.exceptions!r}"
        return outcome

    print(f"   create_task: {await run(supervised=False)}")
    print(f"   TaskGroup:   {await run(supervised=True)}")


async def main() -> None:
    await backpressure()
    await two_stage_pipeline()
    await dead_worker()


if __name__ == "__main__":
    asyncio.run(main())
