"""Stock look-ups against a slow inventory API: one at a time, then concurrently.

A local aiohttp server plays the downstream inventory service. Every request costs it 50 ms of
waiting (a database, another hop) and almost no CPU. The client fetches the same 20 SKUs in
five ways and the server counts how many requests it is serving at the same moment. Then 200
SKUs go out at once, unbounded and behind a semaphore, to show what a wide fan-out costs the
client itself.
"""

import asyncio
import logging
import multiprocessing
import time
import zlib
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as EventType
from typing import Any

import httpx
from aiohttp import web

LATENCY = 0.050  # seconds the inventory service waits before it answers
SKUS = [f"SKU-{n:04d}" for n in range(1, 21)]

log = logging.getLogger("stock-check")


async def serve_inventory(port_out: Connection, stop: EventType) -> None:
    """The downstream API. It runs in its own process, as a real service would."""
    in_flight = peak = 0

    async def stock(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(LATENCY)  # waiting on its own database: no CPU used
            sku = request.match_info["sku"]
            return web.json_response({"sku": sku, "available": zlib.crc32(sku.encode()) % 40})
        finally:
            in_flight -= 1

    async def stats(request: web.Request) -> web.Response:
        nonlocal peak
        reported, peak = peak, 0  # read and reset: one figure per variant
        return web.json_response({"peak_in_flight": reported})

    app = web.Application()
    app.router.add_get("/stock/{sku}", stock)
    app.router.add_get("/stats", stats)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()  # port 0: the OS picks a free port
    port_out.send(runner.addresses[0][1])
    await asyncio.to_thread(stop.wait)
    await runner.cleanup()


def run_inventory(port_out: Connection, stop: EventType) -> None:
    asyncio.run(serve_inventory(port_out, stop))


Stock = dict[str, int]


def sync_sequential(base_url: str, skus: list[str]) -> Stock:
    with httpx.Client(base_url=base_url) as client:
        stock = {}
        for sku in skus:
            response = client.get(f"/stock/{sku}")
            response.raise_for_status()
            stock[sku] = response.json()["available"]
        return stock


def sync_threads(base_url: str, skus: list[str]) -> Stock:
    with httpx.Client(base_url=base_url) as client:  # httpx.Client may be shared by threads

        def fetch(sku: str) -> int:
            response = client.get(f"/stock/{sku}")
            response.raise_for_status()
            available: int = response.json()["available"]
            return available

        with ThreadPoolExecutor(max_workers=len(skus)) as pool:
            return dict(zip(skus, pool.map(fetch, skus), strict=True))


async def fetch_async(client: httpx.AsyncClient, sku: str) -> int:
    response = await client.get(f"/stock/{sku}")
    response.raise_for_status()
    available: int = response.json()["available"]
    return available


async def async_sequential(base_url: str, skus: list[str]) -> Stock:
    async with httpx.AsyncClient(base_url=base_url) as client:
        return {sku: await fetch_async(client, sku) for sku in skus}  # one await at a time


async def async_concurrent(base_url: str, skus: list[str]) -> Stock:
    async with httpx.AsyncClient(base_url=base_url) as client, asyncio.TaskGroup() as group:
        tasks = {sku: group.create_task(fetch_async(client, sku)) for sku in skus}
    return {sku: task.result() for sku, task in tasks.items()}


async def async_bounded(base_url: str, skus: list[str], limit: int = 5) -> Stock:
    gate = asyncio.Semaphore(limit)

    async def fetch(client: httpx.AsyncClient, sku: str) -> int:
        async with gate:
            return await fetch_async(client, sku)

    async with httpx.AsyncClient(base_url=base_url) as client, asyncio.TaskGroup() as group:
        tasks = {sku: group.create_task(fetch(client, sku)) for sku in skus}
    return {sku: task.result() for sku, task in tasks.items()}


def in_loop(
    variant: Callable[[str, list[str]], Coroutine[Any, Any, Stock]],
) -> Callable[[str, list[str]], Stock]:
    """Make an async variant callable from synchronous code: each call gets a fresh loop."""
    return lambda base_url, skus: asyncio.run(variant(base_url, skus))


def peak_in_flight(base_url: str) -> int:
    peak: int = httpx.get(f"{base_url}/stats").json()["peak_in_flight"]
    return peak


def compare(base_url: str) -> None:
    variants: list[tuple[str, Callable[[str, list[str]], Stock]]] = [
        ("sync, one request at a time", sync_sequential),
        ("async, but awaited one by one", in_loop(async_sequential)),
        ("sync, 20 threads", sync_threads),
        ("async, all 20 in a TaskGroup", in_loop(async_concurrent)),
        ("async, at most 5 at a time", in_loop(async_bounded)),
    ]
    print(f"{len(SKUS)} stock look-ups, {LATENCY * 1000:.0f} ms each on the server\n")
    print(f"{'variant':<31} {'peak in flight':>14} {'elapsed':>9} {'vs first':>9}")
    baseline: Stock = {}
    first = 0.0
    for label, variant in variants:
        started = time.perf_counter()
        try:
            stock = variant(base_url, SKUS)
        except (httpx.HTTPError, ExceptionGroup) as error:
            log.error("%s failed: %r", label, error)
            raise
        elapsed = time.perf_counter() - started
        first = first or elapsed
        baseline = baseline or stock
        assert stock == baseline, f"{label} returned different stock levels"
        peak = peak_in_flight(base_url)
        print(f"{label:<31} {peak:>14} {elapsed:>7.2f} s {f'x{first / elapsed:.1f}':>9}")
    print(f"every variant returned the same {len(baseline)} stock levels")


def fan_out_wide(base_url: str) -> None:
    many = [f"SKU-{n:04d}" for n in range(1, 201)]
    floor = len(many) * LATENCY
    print(f"\n{len(many)} SKUs in one TaskGroup (one at a time it takes at least {floor:.0f} s)")
    wide: list[tuple[str, Callable[[str, list[str]], Stock]]] = [
        ("unbounded", in_loop(async_concurrent)),
        ("Semaphore(100)", in_loop(partial(async_bounded, limit=100))),
    ]
    for label, variant in wide:
        started, cpu_started = time.perf_counter(), time.process_time()
        stock = variant(base_url, many)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        assert len(stock) == len(many), f"{label}: {len(stock)} answers for {len(many)} SKUs"
        peak = peak_in_flight(base_url)
        print(f"{label:<15} peak in flight {peak:>3}, {elapsed:.2f} s, client CPU {cpu:.2f} s")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    port_in, port_out = multiprocessing.Pipe(duplex=False)
    stop = multiprocessing.Event()
    server = multiprocessing.Process(target=run_inventory, args=(port_out, stop))
    server.start()
    try:
        if not port_in.poll(timeout=10):
            raise RuntimeError("the inventory service did not start")
        base_url = f"http://127.0.0.1:{port_in.recv()}"
        compare(base_url)
        fan_out_wide(base_url)
    finally:
        stop.set()
        server.join(timeout=5)


if __name__ == "__main__":
    main()
