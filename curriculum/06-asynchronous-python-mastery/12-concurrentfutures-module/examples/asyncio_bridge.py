"""An asyncio invoicing API that hands work to executors: run_in_executor, wrap_future and back.

PDF rendering is CPU-bound and goes to a process pool; a legacy payments SDK returns
concurrent.futures.Future objects from its own thread pool; a sync renderer running in a
thread needs an async price cache on the loop.
"""

import asyncio
import functools
import hashlib
import logging
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor

logging.basicConfig(level=logging.INFO, format="   log %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("invoice-api")


def render_pdf(invoice: str, rounds: int = 60_000, *, dpi: int = 150) -> str:
    """CPU-bound: hashes in a loop, holding the GIL the whole time."""
    if not invoice:
        raise ValueError("invoice number is empty")
    digest = invoice.encode()
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return f"{invoice}@{dpi}dpi:{digest.hex()[:8]}"


class LegacyPaymentsClient:
    """A sync SDK that runs each call on its own thread pool and returns a Future."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="payments-sdk")
        self.gate = threading.Event()

    def charge_async(self, invoice: str, cents: int) -> Future[str]:
        return self._pool.submit(self._charge, invoice, cents)

    def _charge(self, invoice: str, cents: int) -> str:
        self.gate.wait(timeout=5)  # the gateway answers when the test says so
        return f"charged {invoice} {cents}"

    def close(self) -> None:
        self._pool.shutdown()


class Heartbeat:
    """Counts how often a 10 ms timer fires: a blocked loop stops counting."""

    def __init__(self) -> None:
        self.ticks = 0

    async def run(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self.ticks += 1


async def offload_cpu_work(pool: ProcessPoolExecutor) -> None:
    print("2. CPU-bound rendering: inline versus loop.run_in_executor(process_pool, ...)")
    loop = asyncio.get_running_loop()
    heartbeat = Heartbeat()
    beat = asyncio.create_task(heartbeat.run())
    await asyncio.sleep(0.05)
    heartbeat.ticks = 0
    render_pdf("INV-5000")  # no await: the loop cannot run anything else meanwhile
    print(f"   heartbeat ticks during an inline render: {heartbeat.ticks}")
    heartbeat.ticks = 0
    invoices = [f"INV-50{n:02}" for n in range(1, 5)]
    pdfs = await asyncio.gather(*(loop.run_in_executor(pool, render_pdf, i) for i in invoices))
    print(f"   heartbeat ticks during 4 renders in the pool: {heartbeat.ticks}")
    print(f"   results come back in argument order: {[pdf.split(':')[0] for pdf in pdfs]}")
    beat.cancel()
    try:
        loop.run_in_executor(pool, render_pdf, "INV-5005", dpi=300)  # type: ignore[call-arg]
    except TypeError as error:
        print(f"   keyword arguments: TypeError: {error}")
    hires = await loop.run_in_executor(pool, functools.partial(render_pdf, "INV-5005", dpi=300))
    print(f"   with functools.partial: {hires.split(':')[0]}")
    try:
        await loop.run_in_executor(pool, render_pdf, "")
    except ValueError as error:
        print(f"   a worker's exception arrives at the await: {error!r}")


async def submission_is_eager() -> None:
    print("3. run_in_executor() is a plain method: the job is submitted at the call")
    loop = asyncio.get_running_loop()
    audit: list[str] = []
    pending = loop.run_in_executor(None, audit.append, "INV-5100 exported")  # not awaited yet
    for _ in range(200):  # let the loop run until the thread has done it (at most 2 s)
        if audit:
            break
        await asyncio.sleep(0.01)
    print(f"   before any await of it: {audit}")
    await pending


async def legacy_sdk_bridge() -> None:
    print("4. a concurrent.futures.Future from a sync SDK")
    client = LegacyPaymentsClient()
    charge = client.charge_async("INV-5200", 4_500)
    try:
        await charge  # type: ignore[misc]
    except TypeError as error:
        print(f"   await sdk_future -> TypeError: {error}")
    try:
        await asyncio.wait_for(asyncio.wrap_future(charge), timeout=0.1)
    except TimeoutError:
        print(f"   wait_for(wrap_future(...), 0.1) timed out; SDK call running: {charge.running()}")
    client.gate.set()
    print(f"   and it still completes on its thread: {charge.result(timeout=5)!r}")
    second = asyncio.wrap_future(client.charge_async("INV-5201", 1_200))
    print(f"   await asyncio.wrap_future(...) -> {await second!r}")
    client.close()


async def cancellation_reaches_only_queued_jobs() -> None:
    print("5. cancelling the awaiting task cancels the job only while it is queued")
    gate = threading.Event()
    ran: list[str] = []

    def export(name: str) -> None:
        gate.wait(timeout=5)
        ran.append(name)

    with ThreadPoolExecutor(max_workers=1) as pool:
        first, second = pool.submit(export, "ledger"), pool.submit(export, "aging")
        tasks = [asyncio.ensure_future(asyncio.wrap_future(f)) for f in (first, second)]
        while not first.running():  # "ledger" has started; "aging" waits in the queue
            await asyncio.sleep(0.005)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        print(f"   running job cancelled: {first.cancelled()}; queued job: {second.cancelled()}")
        gate.set()
    print(f"   jobs that ran anyway: {ran}")


async def calling_back_into_the_loop() -> None:
    print("6. a worker thread that needs a coroutine: run_coroutine_threadsafe")
    loop = asyncio.get_running_loop()
    prices = {"SKU-1": 1_999, "SKU-2": 4_500}

    async def cached_price(sku: str) -> int:
        await asyncio.sleep(0.01)  # an async Redis lookup in the real service
        return prices[sku]

    def render_quote(skus: list[str]) -> int:  # sync code, running in the default executor
        total = 0
        for sku in skus:
            total += asyncio.run_coroutine_threadsafe(cached_price(sku), loop).result(timeout=2)
        return total

    total = await asyncio.to_thread(render_quote, ["SKU-1", "SKU-2", "SKU-2"])
    print(f"   quote total from a thread, prices read on the loop: {total}")


async def default_executor() -> None:
    print("1. the loop's default executor, replaced before anything has used it")
    loop = asyncio.get_running_loop()
    processes = ProcessPoolExecutor(max_workers=1)
    try:
        loop.set_default_executor(processes)
    except TypeError as error:
        print(f"   a process pool: TypeError: {error}")
    finally:
        processes.shutdown()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=4, thread_name_prefix="blocking-io"))
    name = await asyncio.to_thread(lambda: threading.current_thread().name)
    print(f"   to_thread() now runs on {name!r}; asyncio.run() shuts this pool down on exit")


async def main(pool: ProcessPoolExecutor) -> None:
    await default_executor()
    await offload_cpu_work(pool)
    await submission_is_eager()
    await legacy_sdk_bridge()
    await cancellation_reaches_only_queued_jobs()
    await calling_back_into_the_loop()


if __name__ == "__main__":
    # The process pool belongs to the program, not to the loop: asyncio.run() shuts down only
    # the default executor. Starting the workers before any thread exists keeps fork safe.
    with ProcessPoolExecutor(max_workers=2) as render_pool:
        render_pool.submit(time.sleep, 0).result()
        asyncio.run(main(render_pool))
    log.info("render pool shut down after the loop closed")
