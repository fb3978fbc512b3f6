"""ClientTimeout's fields, the retry aiohttp already does, and a retry policy of our own.

A local aiohttp server (127.0.0.1, port 0) plays a currency-rates and payments API with
scripted failures; a small raw asyncio server drops reused keep-alive connections. Backoff
jitter comes from a seeded random.Random, so the printed delays are the same on every run.
"""

import asyncio
import logging
import random
import socket
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="  log: %(message)s")
log = logging.getLogger("payments.client")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.05  # seconds before the 2nd attempt; doubles each time
    max_delay: float = 1.0
    budget: float = 3.0  # seconds for all attempts together


class GiveUpError(Exception):
    """Retrying cannot succeed within the budget."""


def retry_after_seconds(value: str | None) -> float | None:
    """The delta-seconds form of Retry-After; an HTTP-date is ignored here."""
    return float(value) if value is not None and value.isdigit() else None


async def request_json(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    policy: RetryPolicy,
    rng: random.Random,
    **kwargs: Any,
) -> Any:
    """Send a request, retrying transient failures with capped exponential backoff."""
    headers = kwargs.get("headers") or {}
    retryable = method in IDEMPOTENT_METHODS or "Idempotency-Key" in headers
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(policy.budget) as budget:
        for attempt in range(1, policy.attempts + 1):
            retry_after = None
            try:
                async with session.request(method, url, **kwargs) as response:
                    if response.status not in RETRY_STATUSES or not retryable:
                        response.raise_for_status()  # a 4xx other than 429: retrying won't help
                        return await response.json()
                    reason = f"HTTP {response.status}"
                    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            except (aiohttp.ClientConnectionError, TimeoutError) as error:
                if not retryable or attempt == policy.attempts:
                    path = url.rsplit("/", 1)[-1]
                    log.warning(
                        "%s %s: %s on attempt %d, not retried",
                        method,
                        path,
                        type(error).__name__,
                        attempt,
                    )
                    raise
                reason = type(error).__name__
            if attempt == policy.attempts:
                raise GiveUpError(f"{reason} after {attempt} attempts")
            ceiling = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
            delay = rng.uniform(0, ceiling)  # "full jitter": spreads out a herd of retries
            if retry_after is not None:
                remaining = (budget.when() or 0) - loop.time()
                if retry_after > remaining:
                    raise GiveUpError(f"{reason}: Retry-After {retry_after:g} s exceeds budget")
                delay = max(delay, retry_after)
            log.info("attempt %d: %s; retrying in %.3f s", attempt, reason, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


# --- the server side ----------------------------------------------------------------------
SCRIPT = web.AppKey("script", dict[str, list[int]])
HITS = web.AppKey("hits", Counter[str])
CHARGES = web.AppKey("charges", dict[str, dict[str, Any]])
RAW = Counter[str]()  # what the keep-alive-dropping raw server saw
routes = web.RouteTableDef()


@routes.get("/slow-headers")
async def slow_headers(request: web.Request) -> web.Response:
    await asyncio.sleep(0.6)
    return web.Response(text="late")


@routes.get("/trickle")
async def trickle(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    try:
        for _ in range(8):  # 8 small chunks, 0.1 s apart: slow overall, never silent for long
            await response.write(b"rate-row\n")
            await asyncio.sleep(0.1)
        await response.write_eof()
    except ConnectionResetError:
        pass  # the client gave up; nothing to send it
    return response


@routes.get("/rates/{currency}")
async def rate(request: web.Request) -> web.Response:
    currency = request.match_info["currency"]
    request.app[HITS][currency] += 1
    script = request.app[SCRIPT][currency]
    status = script.pop(0) if len(script) > 1 else script[0]
    if status == 429:
        return web.json_response({"error": "slow down"}, status=429, headers={"Retry-After": "30"})
    if status != 200:
        return web.json_response({"error": "try again"}, status=status)
    return web.json_response({"currency": currency, "rate": "1.0842"})


@routes.post("/payments")
async def create_payment(request: web.Request) -> web.Response:
    body = await request.json()
    key = request.headers.get("Idempotency-Key")
    charges = request.app[CHARGES]
    if key is not None and key in charges:
        return web.json_response({**charges[key], "replayed": True})
    charge = {"order": body["order"], "charge": f"CH-{len(charges) + 1}"}
    charges[key or f"anonymous-{len(charges)}"] = charge  # recorded before the slow part
    if sum(1 for c in charges.values() if c["order"] == body["order"]) == 1:
        await asyncio.sleep(0.5)  # the card network is slow on the first call per order
    return web.json_response(charge, status=201)


async def drop_reused_connections(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Answer the first request on a connection, then close it when the next one arrives."""
    RAW["connections"] += 1
    try:
        for served in range(2):
            head = await reader.readuntil(b"\r\n\r\n")
            RAW["requests"] += 1
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            if served == 1:
                break  # like a server whose idle keep-alive timer fired just now
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
    except asyncio.IncompleteReadError:
        pass
    finally:
        writer.close()


async def describe(session: aiohttp.ClientSession, url: str, timeout: aiohttp.ClientTimeout) -> str:
    try:
        async with session.get(url, timeout=timeout) as response:
            return f"ok, {len(await response.read())} bytes"
    except Exception as error:  # the point here is to show which exception each case raises
        flags = f"ClientError={isinstance(error, aiohttp.ClientError)}"
        return f"{type(error).__name__} ({flags}, TimeoutError={isinstance(error, TimeoutError)})"


async def main() -> None:
    app = web.Application()
    app[SCRIPT] = {"EUR": [503, 503, 200], "GBP": [429], "JPY": [400]}
    app[HITS] = Counter()
    app[CHARGES] = {}
    app.add_routes(routes)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    root = f"http://{host}:{port}"
    raw_server = await asyncio.start_server(drop_reused_connections, "127.0.0.1", 0)
    raw_port = raw_server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session:
            print("1. Defaults")
            print(f"   a session without timeout=: {session.timeout}")
            print(f"   ClientTimeout():            {aiohttp.ClientTimeout()}")

            print("2. Which limit fires, and what it raises")
            cases = [
                ("total=0.3, headers after 0.6 s", "/slow-headers", {"total": 0.3}),
                ("sock_read=0.3, headers after 0.6 s", "/slow-headers", {"sock_read": 0.3}),
                ("sock_read=0.3, 8 chunks 0.1 s apart", "/trickle", {"sock_read": 0.3}),
                ("total=0.5, 8 chunks 0.1 s apart", "/trickle", {"total": 0.5}),
            ]
            for label, path, fields in cases:
                outcome = await describe(session, root + path, aiohttp.ClientTimeout(**fields))
                print(f"   {label:<38} {outcome}")
            with socket.socket() as bound_not_listening:  # the kernel refuses connections
                bound_not_listening.bind(("127.0.0.1", 0))
                refused = f"http://127.0.0.1:{bound_not_listening.getsockname()[1]}/rates/EUR"
                outcome = await describe(session, refused, aiohttp.ClientTimeout(total=2))
            print(f"   {'nothing listening on the port':<38} {outcome}")

            print("3. The one retry aiohttp does itself: a reused connection the server dropped")
            for method in ("GET", "GET", "POST"):
                url = f"http://127.0.0.1:{raw_port}/health"
                try:
                    async with session.request(method, url) as response:
                        print(f"   {method:<4} -> {response.status}")
                except aiohttp.ServerDisconnectedError as error:
                    print(f"   {method:<4} -> {type(error).__name__}: {error}")
            print(
                f"   the server accepted {RAW['connections']} connections "
                f"and read {RAW['requests']} requests"
            )

            print("4. A retry policy: backoff with jitter, Retry-After, a total budget")
            rng = random.Random(7)
            for currency in ("EUR", "GBP", "JPY"):
                try:
                    body = await request_json(
                        session, "GET", f"{root}/rates/{currency}", policy=RetryPolicy(), rng=rng
                    )
                    print(f"   {currency}: {body['rate']} after {app[HITS][currency]} attempt(s)")
                except (GiveUpError, aiohttp.ClientResponseError) as error:
                    detail = error if isinstance(error, GiveUpError) else f"HTTP {error.status}"
                    print(
                        f"   {currency}: {type(error).__name__}: {detail} "
                        f"({app[HITS][currency]} attempt(s))"
                    )

            print("5. Retrying a POST: only with an Idempotency-Key")
            quick = aiohttp.ClientTimeout(total=0.2)
            payment = {"order": "ORD-7001", "amount_cents": 4_990}
            body = await request_json(
                session,
                "POST",
                f"{root}/payments",
                policy=RetryPolicy(),
                rng=rng,
                json=payment,
                headers={"Idempotency-Key": "ord-7001-v1"},
                timeout=quick,
            )
            print(f"   with a key:    {body}")
            try:
                await request_json(
                    session,
                    "POST",
                    f"{root}/payments",
                    policy=RetryPolicy(),
                    rng=rng,
                    json={"order": "ORD-7002"},
                    timeout=quick,
                )
            except TimeoutError:
                print("   without a key: the policy raised TimeoutError instead of retrying")
            for _ in range(2):  # what a naive "retry everything" loop would have done
                try:
                    async with session.post(
                        f"{root}/payments", json={"order": "ORD-7003"}, timeout=quick
                    ) as response:
                        await response.read()
                except TimeoutError:
                    pass
            await asyncio.sleep(0.5)  # let the slow first calls finish on the server
            per_order = Counter(charge["order"] for charge in app[CHARGES].values())
            print(f"   charges per order on the server: {dict(sorted(per_order.items()))}")
    finally:
        raw_server.close()
        await raw_server.wait_closed()
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
