"""An async generator that pages through an HTTP API, and how it ends early.

A local aiohttp server (port 0, so parallel runs never collide) serves 10 invoices in
pages of 3 behind a cursor. Section 6.7 covers aiohttp itself; here it is just real I/O.
"""

import asyncio
import logging
import sys
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

from aiohttp import ClientSession, web

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="  log: %(message)s")
log = logging.getLogger("billing.feed")
INVOICES = [
    {"number": f"INV-{1001 + n}", "total_cents": (n * 7919) % 90_000 + 1_000} for n in range(10)
]


@dataclass(frozen=True)
class Invoice:
    number: str
    total_cents: int


@dataclass
class ServerStats:
    requests: int = 0


STATS = web.AppKey("stats", ServerStats)


async def list_invoices(request: web.Request) -> web.Response:
    request.app[STATS].requests += 1
    start, limit = int(request.query["cursor"]), int(request.query["limit"])
    end = start + limit
    page = {"items": INVOICES[start:end], "next": str(end) if end < len(INVOICES) else None}
    return web.json_response(page)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def iter_invoices(
    session: ClientSession, base_url: str, page_size: int = 3
) -> AsyncGenerator[Invoice, None]:
    """Yield invoices one by one, fetching the next page only when the consumer needs it."""
    cursor: str | None = "0"
    pages = 0
    try:
        while cursor is not None:
            params = {"cursor": cursor, "limit": str(page_size)}
            async with session.get(f"{base_url}/invoices", params=params) as response:
                response.raise_for_status()
                page = await response.json()
            pages += 1  # the response is released before we yield: never yield inside it
            log.info("page %d fetched: %d invoices", pages, len(page["items"]))
            for item in page["items"]:
                yield Invoice(**item)
            cursor = page["next"]
    finally:
        log.info("feed closed after %d page(s)", pages)


async def run_client(base_url: str, stats: ServerStats) -> None:
    async with ClientSession() as session:
        print("1. Calling the async generator function")
        feed = iter_invoices(session, base_url)
        print(f"   got an {type(feed).__name__}; requests so far: {stats.requests}")
        await feed.aclose()  # never started, so nothing to clean up and no log line

        print("2. Reading the whole feed: pages arrive as the consumer asks for them")
        total = 0
        async for invoice in iter_invoices(session, base_url):
            total += invoice.total_cents
            print(f"   {invoice.number} {invoice.total_cents:>6} cents")
        print(f"   total {total} cents from {stats.requests} requests")

        print("3. Stopping at the first invoice over 500.00, with aclosing()")
        stats.requests = 0
        async with aclosing(iter_invoices(session, base_url)) as feed:
            async for invoice in feed:
                if invoice.total_cents > 50_000:
                    break
        print(f"   found {invoice.number} after {stats.requests} requests")

        print("4. The same break without aclosing(): cleanup is deferred")
        async for invoice in iter_invoices(session, base_url):
            if invoice.total_cents > 50_000:
                break
        print(f"   broke out at {invoice.number}; the generator's finally has not run yet")
        async with session.get(f"{base_url}/health") as response:
            status = (await response.json())["status"]
        print(f"   health check answered {status!r}; by now the loop has closed the feed")


async def main() -> None:
    app = web.Application()
    app[STATS] = ServerStats()
    app.router.add_get("/invoices", list_invoices)
    app.router.add_get("/health", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        await run_client(f"http://{host}:{port}", app[STATS])
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
