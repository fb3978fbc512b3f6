"""Where an async service's time and memory go, measured on three production questions.

1. Fan-out: send 5,000 invoice e-mails with a task per invoice, with a Semaphore over those
   tasks, and with 50 workers on a bounded queue. Peak concurrency, tasks, memory and time.
2. Concurrency sizing: a billing API that serves 8 requests at a time in ~10 ms each, called
   at concurrency 1 to 128. Throughput stops growing at the server's capacity; latency does not.
3. Memory: an 8 MiB ledger export read whole with `read()` against streamed in 64 KiB chunks.
"""

import asyncio
import hashlib
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

INVOICES = 5_000
LIMIT = 50
EXPORT_BYTES = 8 * 1024 * 1024


class Mailer:
    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.sent = 0

    async def send(self, invoice_id: int) -> None:
        body = f"Invoice INV-{invoice_id:06d} is due.".encode().ljust(1024)  # 1 KiB e-mail
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.001)  # the SMTP round trip, with the body in memory
        self.in_flight -= 1
        self.sent += len(body) == 1024


async def task_per_invoice(mailer: Mailer) -> int:
    await asyncio.gather(*(mailer.send(n) for n in range(INVOICES)))
    return INVOICES


async def semaphore_over_tasks(mailer: Mailer) -> int:
    gate = asyncio.Semaphore(LIMIT)

    async def bounded(n: int) -> None:
        async with gate:
            await mailer.send(n)

    await asyncio.gather(*(bounded(n) for n in range(INVOICES)))
    return INVOICES


async def bounded_queue_workers(mailer: Mailer) -> int:
    queue: asyncio.Queue[int] = asyncio.Queue(maxsize=2 * LIMIT)

    async def worker() -> None:
        while True:
            invoice_id = await queue.get()
            try:
                await mailer.send(invoice_id)
            finally:
                queue.task_done()

    workers = [asyncio.create_task(worker()) for _ in range(LIMIT)]
    for n in range(INVOICES):
        await queue.put(n)  # waits while the queue is full: backpressure on the producer
    await queue.join()
    for task in workers:
        task.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    return LIMIT


async def part_1() -> None:
    print(f"1. {INVOICES:,} invoice e-mails")
    strategies: list[tuple[str, Callable[[Mailer], Awaitable[int]]]] = [
        ("task per invoice", task_per_invoice),
        ("semaphore over tasks", semaphore_over_tasks),
        ("50 workers, bounded queue", bounded_queue_workers),
    ]
    for label, strategy in strategies:
        started = time.perf_counter()
        await strategy(Mailer())  # timed without tracemalloc, which slows allocation down
        elapsed = time.perf_counter() - started
        mailer = Mailer()
        tracemalloc.start()
        tasks = await strategy(mailer)
        peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"   {label:<27} sent {mailer.sent:>6,}  peak concurrency {mailer.peak:>6,}  "
            f"tasks {tasks:>6,}  peak memory {peak_bytes / 2**20:6.1f} MiB  "
            f"time {elapsed:5.2f} s"
        )


async def billing_api() -> tuple[web.AppRunner, str]:
    capacity = asyncio.Semaphore(8)  # e.g. 8 database connections behind the API

    async def charge(request: web.Request) -> web.Response:
        async with capacity:
            await asyncio.sleep(0.01)
        return web.json_response({"status": "charged"})

    async def export(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        chunk = b"INV-0000001,2024-01-31,149.90\n" * 2048
        for _ in range(EXPORT_BYTES // len(chunk)):
            await response.write(chunk)
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_post("/charges", charge)
    app.router.add_get("/ledger/export", export)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def part_2(http: aiohttp.ClientSession) -> None:
    print("2. concurrency against a server that handles 8 at a time, ~10 ms each")

    async def call(gate: asyncio.Semaphore, latencies: list[float]) -> None:
        async with gate:
            started = time.perf_counter()
            async with http.post("/charges") as response:
                await response.read()
            latencies.append(time.perf_counter() - started)

    for concurrency, requests in ((1, 30), (4, 60), (8, 120), (32, 128), (128, 256)):
        latencies: list[float] = []
        gate = asyncio.Semaphore(concurrency)
        started = time.perf_counter()
        await asyncio.gather(*(call(gate, latencies) for _ in range(requests)))
        rate = requests / (time.perf_counter() - started)
        p95 = statistics.quantiles(latencies, n=20)[18] * 1000
        print(f"   concurrency {concurrency:>3}: {rate:6.0f} req/s   p95 latency {p95:6.1f} ms")


async def part_3(http: aiohttp.ClientSession) -> None:
    print(f"3. an {EXPORT_BYTES // 2**20} MiB ledger export")
    for label in ("read() whole", "iter_chunked(64 KiB)"):
        digest = hashlib.sha256()
        tracemalloc.start()
        async with http.get("/ledger/export") as response:
            if label.startswith("read"):
                digest.update(await response.read())
            else:
                async for chunk in response.content.iter_chunked(64 * 1024):
                    digest.update(chunk)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"   {label:<21} sha256 {digest.hexdigest()[:12]}  peak memory {peak / 2**20:6.2f} MiB"
        )


async def main() -> None:
    await part_1()
    runner, url = await billing_api()
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(url, connector=connector) as http:
        await part_2(http)
        await part_3(http)
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
