"""Async iterator patterns: a bounded concurrent map, a fan-in merge, size-or-time batching.

Each operator takes async iterables and returns an async generator, so they chain like Unix
pipes, and each one cancels the tasks it started when its consumer stops early.
"""

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log %(name)s: %(message)s")
log = logging.getLogger("streams")

T = TypeVar("T")
R = TypeVar("R")


async def bounded_map(
    fn: Callable[[T], Awaitable[R]], source: AsyncIterable[T], limit: int
) -> AsyncGenerator[R, None]:
    """Call fn on each item, at most `limit` calls at once; yield results as they finish."""
    items = aiter(source)
    running: set[asyncio.Future[R]] = set()
    exhausted = False
    try:
        while True:
            while not exhausted and len(running) < limit:  # read only as far as needed
                try:
                    item = await anext(items)
                except StopAsyncIteration:
                    exhausted = True
                else:
                    running.add(asyncio.ensure_future(fn(item)))
            if not running:
                return
            done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for finished in done:
                yield finished.result()  # a failed call raises here and ends the stream
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


@dataclass(frozen=True)
class _Item(Generic[T]):
    value: T


@dataclass(frozen=True)
class _End:
    error: Exception | None = None


async def merge(*sources: AsyncIterable[T]) -> AsyncGenerator[T, None]:
    """Fan-in: one task per source feeds a queue; items come out in arrival order."""
    queue: asyncio.Queue[_Item[T] | _End] = asyncio.Queue(maxsize=len(sources))

    async def pump(source: AsyncIterable[T]) -> None:
        try:
            async for value in source:
                await queue.put(_Item(value))
        except Exception as error:
            log.warning("a source of merge() failed: %r", error)
            await queue.put(_End(error))
        else:
            await queue.put(_End())

    pumps = [asyncio.create_task(pump(source)) for source in sources]
    try:
        open_sources = len(pumps)
        while open_sources:
            entry = await queue.get()
            if isinstance(entry, _End):
                if entry.error is not None:
                    raise entry.error
                open_sources -= 1
            else:
                yield entry.value
    finally:
        for task in pumps:
            task.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)


async def batches(
    source: AsyncIterable[T], size: int, max_wait: float
) -> AsyncGenerator[list[T], None]:
    """Yield lists of up to `size` items; a partial list once its first item is max_wait old."""
    items = aiter(source)
    loop = asyncio.get_running_loop()
    batch: list[T] = []
    deadline = 0.0
    pending: asyncio.Future[T] | None = None  # survives timeouts: never cancel an anext()
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(items))
            timeout = max(0.0, deadline - loop.time()) if batch else None
            done, _ = await asyncio.wait({pending}, timeout=timeout)
            if not done:
                yield batch
                batch = []
                continue
            finished, pending = pending, None
            try:
                item = finished.result()
            except StopAsyncIteration:
                break
            if not batch:
                deadline = loop.time() + max_wait
            batch.append(item)
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)


async def naive_batches(
    source: AsyncIterable[T], size: int, max_wait: float
) -> AsyncGenerator[list[T], None]:
    """The obvious version: wait_for() around anext(). Its timeout cancels the source."""
    items = aiter(source)
    batch: list[T] = []
    while True:
        try:
            item = await asyncio.wait_for(anext(items), timeout=max_wait if batch else None)
        except TimeoutError:
            yield batch
            batch = []
            continue
        except StopAsyncIteration:
            break
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def timed_events(name: str, offsets: list[float]) -> AsyncIterator[str]:
    """A webhook stream that delivers its n-th event `offsets[n]` seconds after it starts."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for number, offset in enumerate(offsets, start=1):
        await asyncio.sleep(max(0.0, start + offset - loop.time()))
        yield f"{name}{number}"


async def map_demo() -> None:
    print("1. bounded_map: 20 invoice status checks, at most 4 in flight")
    in_flight = peak = 0
    cancelled: list[int] = []

    async def invoice_ids() -> AsyncIterator[int]:
        for invoice_id in range(1001, 1021):
            yield invoice_id

    async def check_status(invoice_id: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0.3 if invoice_id == 1001 else 0.02)  # 1001's provider is slow
            return invoice_id
        except asyncio.CancelledError:
            cancelled.append(invoice_id)
            raise
        finally:
            in_flight -= 1

    results = [r async for r in bounded_map(check_status, invoice_ids(), limit=4)]
    print(f"   {len(results)} results, peak in flight {peak}, first result {results[0]}")
    print(f"   1001 came back last (completion order, not input order): {results[-1] == 1001}")

    received = 0
    async with contextlib.aclosing(bounded_map(check_status, invoice_ids(), limit=4)) as stream:
        async for _ in stream:
            received += 1
            if received == 5:
                break
    print(f"   stopped after 5: calls running {in_flight}, 1001 cancelled {1001 in cancelled}")


async def merge_demo() -> None:
    print("2. merge: three tenants' webhook streams, one consumer")
    acme = timed_events("acme-", [0.00, 0.12, 0.24])
    globex = timed_events("globex-", [0.04, 0.16])
    initech = timed_events("initech-", [0.08, 0.20])
    print(f"   {[event async for event in merge(acme, globex, initech)]}")

    endless = [timed_events(f"t{n}-", [0.01 * i for i in range(1000)]) for n in range(3)]
    taken: list[str] = []
    async with contextlib.aclosing(merge(*endless)) as events:
        async for event in events:
            taken.append(event)
            if len(taken) == 4:
                break
    others = asyncio.all_tasks() - {asyncio.current_task()}
    print(f"   took {len(taken)} from three endless streams; other tasks alive: {len(others)}")


async def batch_demo() -> None:
    print("3. batches(size=4, max_wait=0.1 s) over bursts of 5, 2 and 7 events, 0.3 s apart")
    offsets = [0.0] * 5 + [0.3] * 2 + [0.6] * 7
    sizes = [len(b) async for b in batches(timed_events("evt-", offsets), 4, 0.1)]
    print(f"   batch sizes: {sizes} (14 events)")
    naive = [len(b) async for b in naive_batches(timed_events("evt-", offsets), 4, 0.1)]
    print(f"   wait_for(anext()) version: {naive} ({sum(naive)} events, the rest lost)")


async def main() -> None:
    await map_demo()
    await merge_demo()
    await batch_demo()


if __name__ == "__main__":
    asyncio.run(main())
