"""What TCPConnector's limits do, measured on two local services.

Two aiohttp servers (127.0.0.1, port 0 each) play a pricing and an inventory service. Each
counts the requests it is handling at once, so the peak shows what the client's connection
pool really allowed. Timings vary with the machine and are masked in the recorded output.
"""

import asyncio
import time
from dataclasses import dataclass
from types import SimpleNamespace

import aiohttp
from aiohttp import web


@dataclass
class Load:
    name: str
    in_flight: int = 0
    peak: int = 0


@dataclass
class Peaks:
    """In-flight requests across both services, as the servers see them."""

    in_flight: int = 0
    peak: int = 0


PEAKS = Peaks()
LOAD = web.AppKey("load", Load)


async def quote(request: web.Request) -> web.Response:
    load = request.app[LOAD]
    load.in_flight += 1
    PEAKS.in_flight += 1
    load.peak = max(load.peak, load.in_flight)
    PEAKS.peak = max(PEAKS.peak, PEAKS.in_flight)
    try:
        await asyncio.sleep(float(request.query.get("delay", "0.1")))
    finally:
        load.in_flight -= 1
        PEAKS.in_flight -= 1
    return web.json_response({"service": load.name, "sku": request.match_info["sku"]})


async def export(request: web.Request) -> web.Response:
    return web.Response(body=b"sku,quantity\n" + b"SKU-0001,12\n" * 200_000)


async def start(name: str) -> tuple[web.AppRunner, str, Load]:
    app = web.Application()
    app[LOAD] = Load(name)
    app.router.add_get("/quotes/{sku}", quote)
    app.router.add_get("/export.csv", export)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}", app[LOAD]


class Opened:
    def __init__(self) -> None:
        self.count = 0
        self.config = aiohttp.TraceConfig()
        self.config.on_connection_create_end.append(self._on_create)

    async def _on_create(self, s: aiohttp.ClientSession, c: SimpleNamespace, p: object) -> None:
        self.count += 1


async def burst(session: aiohttp.ClientSession, urls: list[str]) -> float:
    """Send every URL at once and wait for all of them; returns the elapsed seconds."""

    async def one(url: str) -> None:
        async with session.get(url) as response:
            await response.read()

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for url in urls:
            group.create_task(one(url))
    return time.perf_counter() - started


async def main() -> None:
    pricing_runner, pricing, pricing_load = await start("pricing")
    inventory_runner, inventory, inventory_load = await start("inventory")
    try:
        print("1. The defaults of a session's connector")
        async with aiohttp.ClientSession() as session:
            connector = session.connector
            assert connector is not None
            print(f"   limit={connector.limit} limit_per_host={connector.limit_per_host}")

        print("2. 20 requests at once to one host")
        for label, connector in [
            ("default connector", aiohttp.TCPConnector()),
            ("limit_per_host=4", aiohttp.TCPConnector(limit_per_host=4)),
        ]:
            pricing_load.peak = 0
            async with aiohttp.ClientSession(connector=connector) as session:
                took = await burst(session, [f"{pricing}/quotes/SKU-{n}" for n in range(20)])
            print(f"   {label:<18} server peak {pricing_load.peak:>2}, {took * 1000:.0f} ms")

        print("3. limit=6, limit_per_host=4, 10 requests to each of two hosts")
        PEAKS.peak = pricing_load.peak = inventory_load.peak = 0
        urls = [f"{base}/quotes/SKU-{n}" for base in (pricing, inventory) for n in range(10)]
        connector = aiohttp.TCPConnector(limit=6, limit_per_host=4)
        async with aiohttp.ClientSession(connector=connector) as session:
            await burst(session, urls)
        busiest = max(pricing_load.peak, inventory_load.peak)
        print(f"   both hosts together peak {PEAKS.peak}, busiest single host peak {busiest}")

        print("4. A response read to the end goes back to the pool; one left unread does not")
        for label, read_all in [("read to the end", True), ("first 64 bytes only", False)]:
            opened = Opened()
            async with aiohttp.ClientSession(trace_configs=[opened.config]) as session:
                for _ in range(5):
                    async with session.get(f"{inventory}/export.csv") as response:
                        if read_all:
                            await response.read()
                        else:
                            await response.content.read(64)
            print(f"   {label:<20} 5 requests opened {opened.count} connection(s)")

        print("5. Waiting for a free connection counts against ClientTimeout.connect")
        timeout = aiohttp.ClientTimeout(total=5, connect=0.25)
        connector = aiohttp.TCPConnector(limit=2)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def slow_quote(n: int) -> str:
                try:
                    async with session.get(f"{pricing}/quotes/SKU-{n}?delay=0.5") as response:
                        await response.read()
                        return str(response.status)
                except aiohttp.ConnectionTimeoutError:
                    return "ConnectionTimeoutError"

            results = await asyncio.gather(*(slow_quote(n) for n in range(6)))
        print(f"   {results}")

        print("6. Sequential requests: one session for all, or a new session each")
        for label, shared in [("one shared session", True), ("session per request", False)]:
            opened = Opened()
            started = time.perf_counter()
            if shared:
                async with aiohttp.ClientSession(trace_configs=[opened.config]) as session:
                    for n in range(50):
                        async with session.get(f"{pricing}/quotes/SKU-{n}?delay=0") as response:
                            await response.read()
            else:
                for n in range(50):
                    async with (
                        aiohttp.ClientSession(trace_configs=[opened.config]) as session,
                        session.get(f"{pricing}/quotes/SKU-{n}?delay=0") as response,
                    ):
                        await response.read()
            per_request = (time.perf_counter() - started) / 50 * 1000
            print(
                f"   {label:<20} {opened.count:>2} connection(s), {per_request:.2f} ms per request"
            )
    finally:
        await pricing_runner.cleanup()
        await inventory_runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
