"""GET, POST and error handling with one ClientSession, and what a session costs.

A local aiohttp server (127.0.0.1, port 0) plays a billing API under /api/v1/. The client
uses base_url, default headers, query parameters and a JSON body, then counts the TCP
connections it opened with a TraceConfig: one shared session against one session per call.
"""

import asyncio
import logging
import sys
from dataclasses import dataclass, field
from types import SimpleNamespace

import aiohttp
from aiohttp import web

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="  log: %(message)s")
log = logging.getLogger("billing.client")

INVOICES = {
    "INV-1001": {"number": "INV-1001", "status": "open", "total_cents": 12_500},
    "INV-1002": {"number": "INV-1002", "status": "paid", "total_cents": 4_990},
    "INV-1003": {"number": "INV-1003", "status": "open", "total_cents": 88_000},
    "INV-1004": {"number": "INV-1004", "status": "open", "total_cents": 1_200},
}


@dataclass
class ConnectionCounter:
    opened: int = 0
    reused: int = 0
    config: aiohttp.TraceConfig = field(default_factory=aiohttp.TraceConfig)

    def __post_init__(self) -> None:
        self.config.on_connection_create_end.append(self._on_create)
        self.config.on_connection_reuseconn.append(self._on_reuse)

    async def _on_create(self, s: aiohttp.ClientSession, c: SimpleNamespace, p: object) -> None:
        self.opened += 1

    async def _on_reuse(self, s: aiohttp.ClientSession, c: SimpleNamespace, p: object) -> None:
        self.reused += 1


routes = web.RouteTableDef()


@routes.get("/api/v1/invoices")
async def list_invoices(request: web.Request) -> web.Response:
    status, limit = request.query.get("status"), int(request.query.get("limit", "10"))
    found = [inv for inv in INVOICES.values() if status is None or inv["status"] == status]
    return web.json_response({"items": found[:limit], "tenant": request.headers.get("X-Tenant")})


@routes.get("/api/v1/invoices/{number}")
async def get_invoice(request: web.Request) -> web.Response:
    invoice = INVOICES.get(request.match_info["number"])
    if invoice is None:
        return web.json_response({"error": "invoice not found"}, status=404)
    return web.json_response(invoice)


@routes.post("/api/v1/invoices")
async def create_invoice(request: web.Request) -> web.Response:
    body = await request.json()
    number = f"INV-{1001 + len(INVOICES)}"
    INVOICES[number] = {"number": number, "status": "open", "total_cents": body["total_cents"]}
    seen = {"content_type": request.content_type, "tenant": request.headers.get("X-Tenant")}
    return web.json_response(
        {"number": number, "seen": seen}, status=201, headers={"Location": f"/invoices/{number}"}
    )


@routes.get("/api/v1/reports/aging")
async def aging_report(request: web.Request) -> web.Response:
    return web.Response(text="<html><body>Aging report</body></html>", content_type="text/html")


async def fetch_invoice(session: aiohttp.ClientSession, number: str) -> dict[str, object] | None:
    """One invoice by number: None for 404, an exception for any other failure."""
    async with session.get(f"invoices/{number}") as response:
        if response.status == 404:
            return None
        response.raise_for_status()
        invoice: dict[str, object] = await response.json()
        return invoice


async def run_client(root: str) -> None:
    headers = {"X-Tenant": "acme", "Accept": "application/json"}
    async with aiohttp.ClientSession(f"{root}/api/v1/", headers=headers) as session:
        print("1. GET with query parameters; the session adds its default headers")
        params: dict[str, str | int] = {"status": "open", "limit": 2}
        async with session.get("invoices", params=params) as response:
            page = await response.json()
            print(f"   {response.status} {response.method} {response.url.path_qs}")
            print(f"   {[item['number'] for item in page['items']]} for tenant {page['tenant']}")

        print("2. A 404 is a response, not an exception, until raise_for_status()")
        async with session.get("invoices/INV-9999") as response:
            print(f"   status {response.status}, ok={response.ok}, body {await response.json()}")
            try:
                response.raise_for_status()
            except aiohttp.ClientResponseError as error:
                print(f"   ClientResponseError: status={error.status} message={error.message!r}")

        print("3. POST a JSON body")
        async with session.post("invoices", json={"total_cents": 7_300}) as response:
            created = await response.json()
            print(f"   {response.status} Location={response.headers['Location']}")
            print(f"   server saw {created['seen']}")

        print("4. Five invoices concurrently through the same session")
        numbers = ["INV-1001", "INV-1003", "INV-9999", "INV-1005", "INV-1002"]
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(fetch_invoice(session, n)) for n in numbers]
        for number, task in zip(numbers, tasks, strict=True):
            invoice = task.result()
            print(f"   {number}: {'missing' if invoice is None else invoice['total_cents']}")

        print("5. A leading slash replaces the base path")
        for path in ("invoices", "/invoices"):
            async with session.get(path) as response:
                print(f"   {path!r:<12} -> {response.url.path} ({response.status})")

        print("6. json() checks the Content-Type before parsing")
        async with session.get("reports/aging") as response:
            try:
                await response.json()
            except aiohttp.ContentTypeError as error:
                log.warning("aging report is not JSON: %s", error.message)
                print(f"   text starts with {(await response.text())[:12]!r}")


async def count_connections(root: str) -> None:
    print("7. Ten sequential GETs: one shared session against a session per call")
    shared = ConnectionCounter()
    async with aiohttp.ClientSession(trace_configs=[shared.config]) as session:
        for _ in range(10):
            async with session.get(f"{root}/api/v1/invoices/INV-1001") as response:
                await response.read()
    print(f"   shared session:      opened {shared.opened:>2}, reused {shared.reused}")

    per_call = ConnectionCounter()
    for _ in range(10):
        async with (
            aiohttp.ClientSession(trace_configs=[per_call.config]) as session,
            session.get(f"{root}/api/v1/invoices/INV-1001") as response,
        ):
            await response.read()
    print(f"   session per call:    opened {per_call.opened:>2}, reused {per_call.reused}")


async def main() -> None:
    app = web.Application()
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        await run_client(f"http://{host}:{port}")
        await count_connections(f"http://{host}:{port}")
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
