import asyncio
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
import pytest
from aiohttp import web
from price_client import build_session, fetch_price, fetch_prices, first_price_over

T = TypeVar("T")
PRICES = {"SKU-1": 1299, "SKU-2": 4500, "SKU-3": 99}


class PricingService:
    """A local pricing service. `script` maps a SKU to what its next requests get: an HTTP
    status, or "slow" for an answer that comes after the client's deadline."""

    def __init__(self, script: dict[str, list[int | str]] | None = None, delay: float = 0.0):
        self.script = {sku: list(steps) for sku, steps in (script or {}).items()}
        self.delay = delay
        self.hits: Counter[str] = Counter()
        self.arrivals: list[float] = []
        self.in_flight = 0
        self.peak = 0
        self.feed_chunks: list[bytes] = []
        self.endless_rows_sent = 0
        self.endless_client_left = False

    async def price(self, request: web.Request) -> web.Response:
        sku = request.match_info["sku"]
        self.hits[sku] += 1
        self.arrivals.append(time.monotonic())
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            steps = self.script.get(sku, [])
            step = steps.pop(0) if steps else 200
            await asyncio.sleep(1.0 if step == "slow" else self.delay)
            if step not in (200, "slow"):
                return web.json_response({"error": "scripted failure"}, status=int(step))
            if sku not in PRICES:
                return web.json_response({"error": "unknown sku"}, status=404)
            return web.json_response({"sku": sku, "price_cents": PRICES[sku]})
        finally:
            self.in_flight -= 1

    async def feed(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        for chunk in self.feed_chunks:
            await response.write(chunk)
            await asyncio.sleep(0.01)
        await response.write_eof()
        return response

    async def endless(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        try:
            while True:
                rows = [
                    json.dumps({"sku": f"SKU-{n}", "price_cents": n}).encode() + b"\n"
                    for n in range(self.endless_rows_sent, self.endless_rows_sent + 50)
                ]
                await response.write(b"".join(rows))
                self.endless_rows_sent += 50
                await asyncio.sleep(0.005)
        except ConnectionResetError:
            self.endless_client_left = True
        return response


BASE_URL = "http://pricing.internal/v2/"  # the sidecar routes by Host; the path is ours


@asynccontextmanager
async def running(service: PricingService) -> AsyncIterator[str]:
    """Serve `service` on a Unix socket, as the sidecar would; yields the socket's path."""
    app = web.Application()
    app.router.add_get("/v2/prices/{sku}", service.price)
    app.router.add_get("/v2/feeds/changes", service.feed)
    app.router.add_get("/v2/feeds/endless", service.endless)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "pricing.sock")
        await web.UnixSite(runner, path).start()
        try:
            yield path
        finally:
            await runner.cleanup()


def with_session(
    service: PricingService,
    body: Callable[[aiohttp.ClientSession], Awaitable[T]],
    *,
    limit: int = 100,
    total: float = 2.0,
) -> T:
    """Run `body` with a plain session (not build_session) against a fresh server."""

    async def main() -> T:
        async with running(service) as path:
            connector = aiohttp.UnixConnector(path=path, limit=limit)
            timeout = aiohttp.ClientTimeout(total=total)
            async with aiohttp.ClientSession(
                BASE_URL, connector=connector, timeout=timeout
            ) as session:
                return await body(session)

    return asyncio.run(main())


def test_build_session_uses_the_socket_caps_connections_and_sets_a_total_timeout() -> None:
    async def main() -> tuple[aiohttp.BaseConnector | None, float | None]:
        session = build_session(
            BASE_URL, socket_path="/run/mesh/pricing.sock", max_connections=7, total_timeout=1.5
        )
        try:
            return session.connector, session.timeout.total
        finally:
            await session.close()

    connector, total = asyncio.run(main())
    assert isinstance(connector, aiohttp.UnixConnector), (
        f"the sidecar is a Unix socket: expected an aiohttp.UnixConnector, got {connector!r}"
    )
    assert connector.path == "/run/mesh/pricing.sock", f"wrong socket path {connector.path!r}"
    assert connector.limit == 7, (
        f"expected limit=7 for max_connections=7, got limit={connector.limit}"
    )
    assert total == 1.5, f"expected ClientTimeout(total=1.5), got total={total}"


def test_build_session_accepts_a_base_url_without_the_trailing_slash() -> None:
    async def main() -> int:
        async with running(PricingService()) as path:
            session = build_session(
                BASE_URL.rstrip("/"), socket_path=path, max_connections=2, total_timeout=2
            )
            try:
                async with session.get("prices/SKU-1") as response:
                    return response.status
            finally:
                await session.close()

    status = asyncio.run(main())
    assert status == 200, (
        "a relative URL must resolve under the base path (/v2/prices/SKU-1); aiohttp needs a "
        f"base_url ending in '/', so add it when it is missing (got HTTP {status})"
    )


def test_fetch_price_returns_the_price_in_cents() -> None:
    price = with_session(PricingService(), lambda s: fetch_price(s, "SKU-2"))
    assert price == 4500, f"SKU-2 costs 4500 cents, got {price!r}"


def test_fetch_price_returns_none_for_an_unknown_sku_without_retrying() -> None:
    service = PricingService()
    price = with_session(service, lambda s: fetch_price(s, "SKU-404"))
    assert price is None, f"a 404 means the SKU does not exist: return None, got {price!r}"
    assert service.hits["SKU-404"] == 1, (
        f"a 404 will not change on retry; expected 1 request, got {service.hits['SKU-404']}"
    )


def test_fetch_price_retries_503_and_502_until_it_succeeds() -> None:
    service = PricingService({"SKU-1": [503, 502, 200]})
    price = with_session(service, lambda s: fetch_price(s, "SKU-1", attempts=3, base_delay=0.01))
    assert price == 1299, f"the third attempt answers 200 with 1299, got {price!r}"
    assert service.hits["SKU-1"] == 3, f"expected 3 requests, got {service.hits['SKU-1']}"


def test_fetch_price_raises_the_last_error_when_attempts_run_out() -> None:
    service = PricingService({"SKU-1": [503] * 5})
    with pytest.raises(aiohttp.ClientResponseError) as caught:
        with_session(service, lambda s: fetch_price(s, "SKU-1", attempts=3, base_delay=0.01))
    assert caught.value.status == 503, f"the last error was a 503, got {caught.value.status}"
    assert service.hits["SKU-1"] == 3, (
        f"attempts=3 means 3 requests in all, got {service.hits['SKU-1']}"
    )


def test_fetch_price_does_not_retry_a_400() -> None:
    service = PricingService({"SKU-1": [400, 200]})
    try:
        price = with_session(
            service, lambda s: fetch_price(s, "SKU-1", attempts=3, base_delay=0.01)
        )
    except aiohttp.ClientResponseError as error:
        assert error.status == 400, f"expected the 400 to propagate, got {error.status}"
    else:
        pytest.fail(
            f"a 400 must raise ClientResponseError, but fetch_price returned {price!r} after "
            f"{service.hits['SKU-1']} requests: was the 400 retried? (ClientResponseError is "
            "a ClientError, so catching ClientError catches it too)"
        )
    assert service.hits["SKU-1"] == 1, "a 400 is the caller's mistake: retrying cannot fix it"


def test_fetch_price_retries_a_request_that_ran_out_of_time() -> None:
    service = PricingService({"SKU-3": ["slow", 200]})
    price = with_session(
        service, lambda s: fetch_price(s, "SKU-3", attempts=2, base_delay=0.01), total=0.3
    )
    assert price == 99, (
        "the first answer comes after the session's 0.3 s total timeout, which raises "
        f"TimeoutError (not a ClientError); retry it. Got {price!r}"
    )
    assert service.hits["SKU-3"] == 2


def test_fetch_price_doubles_the_delay_between_attempts() -> None:
    service = PricingService({"SKU-1": [503, 503, 200]})
    with_session(service, lambda s: fetch_price(s, "SKU-1", attempts=3, base_delay=0.1))
    first_gap = service.arrivals[1] - service.arrivals[0]
    second_gap = service.arrivals[2] - service.arrivals[1]
    assert first_gap >= 0.1, f"wait base_delay (0.1 s) before attempt 2; waited {first_gap:.3f} s"
    assert second_gap >= 0.2, (
        f"wait 2 * base_delay (0.2 s) before attempt 3; waited {second_gap:.3f} s"
    )


def test_fetch_prices_keeps_input_order_and_fetches_a_duplicate_once() -> None:
    service = PricingService()
    skus = ["SKU-2", "SKU-404", "SKU-1", "SKU-2"]
    prices = with_session(service, lambda s: fetch_prices(s, skus))
    assert list(prices.items()) == [("SKU-2", 4500), ("SKU-404", None), ("SKU-1", 1299)], (
        f"expected one entry per distinct SKU, in input order, got {prices!r}"
    )
    assert service.hits["SKU-2"] == 1, "SKU-2 is listed twice but should be fetched once"


def test_fetch_prices_runs_requests_concurrently_up_to_the_connection_limit() -> None:
    service = PricingService(delay=0.1)
    skus = [f"SKU-{n}" for n in range(1, 10)]
    prices = with_session(service, lambda s: fetch_prices(s, skus), limit=3)
    assert len(prices) == 9
    assert service.peak == 3, (
        f"with TCPConnector(limit=3) and 9 SKUs, 3 requests should be in flight at once; the "
        f"server saw at most {service.peak} (1 means the SKUs were fetched one after another)"
    )


def test_first_price_over_reassembles_rows_split_across_writes() -> None:
    service = PricingService()
    rows = b"".join(
        json.dumps({"sku": sku, "price_cents": price}).encode() + b"\n"
        for sku, price in [("SKU-3", 99), ("SKU-1", 1299), ("SKU-2", 4500)]
    )
    middle = rows.index(b"1299")
    service.feed_chunks = [rows[:middle], b"", rows[middle:], b"\n\n"]
    row = with_session(service, lambda s: first_price_over(s, "feeds/changes", 1000))
    assert row == {"sku": "SKU-1", "price_cents": 1299}, (
        f"SKU-1's row arrives in two pieces and must be parsed whole; got {row!r}"
    )


def test_first_price_over_returns_none_when_no_row_matches() -> None:
    service = PricingService()
    service.feed_chunks = [b'{"sku": "SKU-3", "price_cents": 99}\n', b"\n"]
    row = with_session(service, lambda s: first_price_over(s, "feeds/changes", 1000))
    assert row is None, f"no row is above 1000 cents, expected None, got {row!r}"


def test_first_price_over_stops_reading_an_endless_feed() -> None:
    service = PricingService()

    async def body(session: aiohttp.ClientSession) -> dict[str, Any] | None:
        try:
            async with asyncio.timeout(3):
                row = await first_price_over(session, "feeds/endless", 250)
        except TimeoutError:
            pytest.fail("first_price_over never returned: read the feed line by line, not whole")
        for _ in range(100):  # give the server a moment to notice the client left
            if service.endless_client_left:
                break
            await asyncio.sleep(0.01)
        return row

    row = with_session(service, body, total=10)
    assert row == {"sku": "SKU-251", "price_cents": 251}, f"expected SKU-251's row, got {row!r}"
    assert service.endless_client_left, (
        "after returning, the response must be released so the server stops streaming"
    )
