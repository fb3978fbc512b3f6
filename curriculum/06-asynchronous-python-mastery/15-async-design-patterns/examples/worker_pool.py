"""A worker pool packaged as an async context manager: what each way out of the block does.

An invoicing service renders invoice PDFs with a fixed pool of workers. The pool owns its
tasks: `async with` starts them, and leaving the block either drains the queue (success) or
cancels the work (an error, a deadline), and never leaves a task behind.
"""

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Generic, TypeVar

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log %(name)s: %(message)s")
log = logging.getLogger("invoices")

T = TypeVar("T")


class WorkerPool(Generic[T]):
    """`workers` tasks draining a bounded queue; submit() waits while the queue is full."""

    def __init__(
        self, handler: Callable[[T], Awaitable[None]], *, workers: int, maxsize: int, name: str
    ) -> None:
        self._handler = handler
        self._workers = workers
        self._name = name
        self._queue: asyncio.Queue[T] = asyncio.Queue(maxsize=maxsize)
        self._tasks: list[asyncio.Task[None]] = []
        self._accepting = False
        self.handled = self.failed = self.cancelled_mid_call = self.dropped = 0

    async def __aenter__(self) -> "WorkerPool[T]":
        self._tasks = [
            asyncio.create_task(self._work(), name=f"{self._name}-{n}")
            for n in range(self._workers)
        ]
        self._accepting = True
        return self

    async def submit(self, item: T) -> None:
        if not self._accepting:
            raise RuntimeError(f"{self._name} is not running")
        await self._queue.put(item)

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._handler(item)
                self.handled += 1
            except asyncio.CancelledError:
                self.cancelled_mid_call += 1
                raise
            except Exception as error:  # one bad item is logged and counted; work goes on
                self.failed += 1
                log.error("%s could not handle %r: %r", self._name, item, error)
            finally:
                self._queue.task_done()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._accepting = False
        try:
            if exc_type is None:
                await self._queue.join()  # success: finish everything that was submitted
        finally:  # an error, a cancellation, or the drain is done: stop the workers
            self.dropped = self._queue.qsize()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        # returns None: an exception from the block propagates unchanged

    def alive(self) -> int:
        return sum(not task.done() for task in self._tasks)


async def render_pdf(invoice_id: int) -> None:
    await asyncio.sleep(0.1 if invoice_id >= 1020 else 0.05)
    if invoice_id == 1007:
        raise ValueError("template 'eu-vat' is missing")


def report(pool: WorkerPool[int]) -> str:
    return (
        f"handled {pool.handled}, failed {pool.failed}, cancelled mid-call "
        f"{pool.cancelled_mid_call}, dropped {pool.dropped}, workers alive {pool.alive()}"
    )


async def clean_exit() -> None:
    print("1. The block ends normally: the pool drains, then stops its workers")
    pool = WorkerPool(render_pdf, workers=3, maxsize=4, name="renderer")
    async with pool:
        for invoice_id in range(1001, 1013):
            await pool.submit(invoice_id)  # 12 invoices through a queue of 4
        unfinished = 12 - pool.handled - pool.failed > 0
        print(f"   end of block: {pool.alive()} workers alive, invoices unfinished: {unfinished}")
    print(f"   after exit:   {report(pool)}")


class InvoiceSourceError(ConnectionError):
    pass


async def failing_block() -> None:
    print("2. The block raises after 6 submits: the pool cancels, the error passes through")
    pool = WorkerPool(render_pdf, workers=3, maxsize=4, name="renderer")
    try:
        async with pool:
            for invoice_id in range(1001, 1007):
                await pool.submit(invoice_id)
            raise InvoiceSourceError("billing database went away")
    except InvoiceSourceError as error:
        print(f"   caught {type(error).__name__}: {error} (not wrapped in an ExceptionGroup)")
    print(f"   after exit:   {report(pool)}")


async def deadline() -> None:
    print("3. A deadline expires while the pool drains at exit")
    pool = WorkerPool(render_pdf, workers=3, maxsize=20, name="renderer")
    try:
        async with asyncio.timeout(0.25):  # renders take 0.1 s here: two rounds fit
            async with pool:
                for invoice_id in range(1020, 1032):
                    await pool.submit(invoice_id)
    except TimeoutError:
        print("   TimeoutError reached the caller")
    print(f"   after exit:   {report(pool)}")


async def used_after_exit() -> None:
    print("4. submit() after the block")
    pool = WorkerPool(render_pdf, workers=1, maxsize=1, name="renderer")
    async with pool:
        pass
    try:
        await pool.submit(1099)
    except RuntimeError as error:
        print(f"   RuntimeError: {error}")
    leftovers = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    print(f"   tasks left on the loop by all four pools: {len(leftovers)}")


async def main() -> None:
    await clean_exit()
    await failing_block()
    await deadline()
    await used_after_exit()


if __name__ == "__main__":
    asyncio.run(main())
