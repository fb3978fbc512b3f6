"""An aiohttp service: routes, typed app state, middleware, a shared client, and shutdown.

The quotes service computes sales tax by calling a rates service through one ClientSession
that lives as long as the app (cleanup_ctx). Both servers listen on 127.0.0.1, port 0. A
client then exercises the happy path and each way a request can fail.
"""

import asyncio
import itertools
import logging
import sys
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="  log: %(name)s: %(message)s")
log = logging.getLogger("quotes")


@dataclass
class Quote:
    id: int
    tenant: str
    region: str
    amount_cents: int
    tax_cents: int


@dataclass
class QuoteStore:
    quotes: dict[int, Quote] = field(default_factory=dict)

    def add(self, tenant: str, region: str, amount_cents: int, tax_cents: int) -> Quote:
        quote = Quote(len(self.quotes) + 1, tenant, region, amount_cents, tax_cents)
        self.quotes[quote.id] = quote
        return quote


STORE = web.AppKey("store", QuoteStore)
RATES_URL = web.AppKey("rates_url", str)
RATES = web.AppKey("rates", aiohttp.ClientSession)
REPORT_DONE = web.AppKey("report_done", asyncio.Event)
REQUEST_IDS = itertools.count(1)
routes = web.RouteTableDef()


@web.middleware
async def request_id(request: web.Request, handler: Handler) -> web.StreamResponse:
    request["request_id"] = request.headers.get("X-Request-Id") or f"req-{next(REQUEST_IDS)}"
    response = await handler(request)
    response.headers["X-Request-Id"] = request["request_id"]
    return response


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into a JSON problem body; log what the client cannot fix."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise  # redirects and the like pass through
        problem = {"error": error.reason, "detail": error.text, "request_id": request["request_id"]}
        return web.json_response(problem, status=error.status)
    except Exception as error:
        log.error("%s %s failed: %r", request.method, request.path, error)  # log.exception in prod
        problem = {"error": "Internal Server Error", "request_id": request["request_id"]}
        return web.json_response(problem, status=500)


async def rates_client(app: web.Application) -> AsyncIterator[None]:
    """One session for the app's whole life: created at startup, closed at cleanup."""
    connector = aiohttp.TCPConnector(limit_per_host=20)
    timeout = aiohttp.ClientTimeout(total=2, sock_connect=0.5)
    app[RATES] = aiohttp.ClientSession(app[RATES_URL], connector=connector, timeout=timeout)
    log.info("startup: rates client opened")
    yield
    await app[RATES].close()
    log.info("cleanup: rates client closed")


async def on_shutdown(app: web.Application) -> None:
    log.info("shutdown: listener closed, finishing in-flight requests")


@routes.get("/health")
async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "quotes": len(request.app[STORE].quotes)})


@routes.post("/quotes")
async def create_quote(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body is not valid JSON") from None
    tenant, region, amount = body.get("tenant"), body.get("region"), body.get("amount_cents")
    if not isinstance(amount, int) or amount <= 0 or not tenant or not region:
        raise web.HTTPUnprocessableEntity(text="tenant, region and amount_cents > 0 are required")
    try:
        async with request.app[RATES].get(f"rates/{region}") as response:
            if response.status == 404:
                raise web.HTTPUnprocessableEntity(text=f"unknown tax region {region!r}")
            response.raise_for_status()
            rate_bp = (await response.json())["rate_bp"]
    except (aiohttp.ClientError, TimeoutError) as error:
        log.warning("rates service failed for %s: %s", region, type(error).__name__)
        raise web.HTTPBadGateway(text="tax rates are unavailable, try again") from None
    quote = request.app[STORE].add(tenant, region, amount, amount * rate_bp // 10_000)
    return web.json_response(asdict(quote), status=201, headers={"Location": f"/quotes/{quote.id}"})


@routes.get(r"/quotes/{quote_id:\d+}")
async def get_quote(request: web.Request) -> web.Response:
    quote = request.app[STORE].quotes.get(int(request.match_info["quote_id"]))
    if quote is None:
        raise web.HTTPNotFound(text="no such quote")
    return web.json_response(asdict(quote))


@routes.get(r"/quotes/{quote_id:\d+}/pdf")
async def quote_pdf(request: web.Request) -> web.Response:
    templates: dict[str, str] = {}
    return web.Response(text=templates["quote.html"])  # a bug: the template was never loaded


@routes.get("/reports/monthly")
async def monthly_report(request: web.Request) -> web.Response:
    await asyncio.sleep(0.3)  # aggregating; the client gives up after 0.1 s
    log.info(
        "monthly report finished; was the client still there? %s", request.transport is not None
    )
    request.app[REPORT_DONE].set()
    return web.json_response({"quotes": len(request.app[STORE].quotes)})


async def rates(request: web.Request) -> web.Response:
    region = request.match_info["region"]
    if region == "US-NY":
        return web.json_response({"error": "maintenance"}, status=503)
    known = {"EU-DE": 1900, "EU-FR": 2000}
    if region not in known:
        return web.json_response({"error": "unknown region"}, status=404)
    return web.json_response({"region": region, "rate_bp": known[region]})


def build_app(rates_url: str) -> web.Application:
    app = web.Application(middlewares=[request_id, json_errors], client_max_size=16 * 1024)
    app[STORE] = QuoteStore()
    app[RATES_URL] = rates_url
    app[REPORT_DONE] = asyncio.Event()
    app.add_routes(routes)
    app.cleanup_ctx.append(rates_client)
    app.on_shutdown.append(on_shutdown)
    return app


async def start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def call(session: aiohttp.ClientSession, method: str, path: str, **kwargs: Any) -> None:
    async with session.request(method, path, **kwargs) as response:
        body = await response.json()
        print(f"   {method} {path:<16} {response.status} {response.headers['X-Request-Id']} {body}")


async def main() -> None:
    rates_app = web.Application()
    rates_app.router.add_get("/rates/{region}", rates)
    rates_runner, rates_url = await start(rates_app)
    app = build_app(rates_url + "/")
    runner, root = await start(app)
    try:
        async with aiohttp.ClientSession(root) as session:
            print("1. Happy path")
            await call(
                session,
                "POST",
                "/quotes",
                json={"tenant": "acme", "region": "EU-DE", "amount_cents": 25_000},
            )
            await call(session, "GET", "/quotes/1", headers={"X-Request-Id": "trace-42"})
            print("2. Errors the client caused")
            await call(
                session,
                "POST",
                "/quotes",
                data=b"{not json",
                headers={"Content-Type": "application/json"},
            )
            await call(session, "POST", "/quotes", json={"tenant": "acme", "amount_cents": -5})
            await call(
                session,
                "POST",
                "/quotes",
                json={"tenant": "acme", "region": "MARS", "amount_cents": 100},
            )
            await call(session, "GET", "/quotes/99")
            await call(session, "GET", "/quotes/abc")
            await call(session, "POST", "/quotes", json={"notes": "x" * 20_000})
            print("3. Errors the service caused")
            await call(
                session,
                "POST",
                "/quotes",
                json={"tenant": "acme", "region": "US-NY", "amount_cents": 100},
            )
            await call(session, "GET", "/quotes/1/pdf")
            print("4. The client gives up; the handler does not notice")
            try:
                async with session.get(
                    "/reports/monthly", timeout=aiohttp.ClientTimeout(total=0.1)
                ):
                    pass
            except TimeoutError:
                print("   client: TimeoutError after 0.1 s")
            await app[REPORT_DONE].wait()
            await call(session, "GET", "/health")
    finally:
        print("5. Shutdown order")
        await runner.cleanup()
        await rates_runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
