"""A per-tenant order-status feed over WebSockets, from handshake to graceful shutdown.

The server (127.0.0.1, port 0) accepts subscribers on /ws/orders, answers requests sent over
the socket, and broadcasts status changes posted over plain HTTP to the tenant's subscribers.
At shutdown it closes every socket with 1001 (going away) instead of leaving clients hanging;
the last two steps show a heartbeat dropping a client that stopped reading, and what a
shutdown without that hook costs.
"""

import asyncio
import json
import logging
import sys
import time
import weakref
from collections import defaultdict

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="  log: %(name)s: %(message)s")
log = logging.getLogger("feed")

TOKENS = {"tok-acme": "acme", "tok-globex": "globex"}
ORDERS = {"ORD-1": ("acme", "packed"), "ORD-2": ("globex", "paid"), "ORD-3": ("acme", "paid")}
Subscribers = defaultdict[str, weakref.WeakSet[web.WebSocketResponse]]
SUBSCRIBERS = web.AppKey("subscribers", Subscribers)
HEARTBEAT: web.AppKey[float | None] = web.AppKey("heartbeat")


async def order_feed(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=request.app[HEARTBEAT], max_msg_size=4096)
    await ws.prepare(request)  # the 101 Switching Protocols handshake happens here
    tenant = TOKENS.get(request.query.get("token", ""))
    if tenant is None:
        await ws.close(code=4401, message=b"unknown token")  # 4000-4999: application codes
        return ws
    subscribers = request.app[SUBSCRIBERS][tenant]
    subscribers.add(ws)
    log.info("%s subscribed (%d open)", tenant, len(subscribers))
    try:
        async for msg in ws:  # the only task that calls receive() on this socket
            if msg.type is WSMsgType.TEXT:
                try:
                    order = str(json.loads(msg.data)["order"])
                except (ValueError, KeyError, TypeError):
                    await ws.send_json({"error": 'expected {"order": "..."}'})
                    continue
                order_tenant, status = ORDERS.get(order, (None, None))
                if order_tenant != tenant:
                    await ws.send_json({"order": order, "error": "not found"})
                else:
                    await ws.send_json({"order": order, "status": status})
            elif msg.type is WSMsgType.ERROR:
                log.warning("%s socket error: %s", tenant, ws.exception())
    finally:
        subscribers.discard(ws)
        log.info("%s unsubscribed (%d open)", tenant, len(subscribers))
    return ws


async def update_status(request: web.Request) -> web.Response:
    order = request.match_info["order"]
    tenant, _old = ORDERS[order]
    status = (await request.json())["status"]
    ORDERS[order] = (tenant, status)
    event = {"event": "status_changed", "order": order, "status": status}
    sockets = list(request.app[SUBSCRIBERS][tenant])
    results = await asyncio.gather(*(ws.send_json(event) for ws in sockets), return_exceptions=True)
    delivered = sum(1 for result in results if not isinstance(result, BaseException))
    return web.json_response({"delivered": delivered})


async def close_subscribers(app: web.Application) -> None:
    sockets = [ws for group in app[SUBSCRIBERS].values() for ws in group]
    log.info("shutdown: closing %d socket(s) with 1001", len(sockets))
    for ws in sockets:
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server restarting")


async def next_message(ws: aiohttp.ClientWebSocketResponse, timeout: float = 1.0) -> str:
    msg = await ws.receive(timeout=timeout)
    if msg.type is WSMsgType.TEXT:
        return str(json.loads(msg.data))
    return f"{msg.type.name} code={ws.close_code} reason={msg.extra!r}"


async def run_clients(session: aiohttp.ClientSession, root: str) -> aiohttp.ClientWebSocketResponse:
    """Walk through the feed; returns acme's socket, still open, for the shutdown step."""
    print("1. A bad token: the handshake succeeds, then the server closes with 4401")
    async with session.ws_connect(f"{root}/ws/orders?token=stolen") as ws:
        print(f"   ?       {await next_message(ws)}")

    acme = await session.ws_connect(f"{root}/ws/orders?token=tok-acme")
    globex = await session.ws_connect(f"{root}/ws/orders?token=tok-globex")

    print("2. Request and reply over the socket")
    await acme.send_json({"order": "ORD-1"})
    print(f"   acme    {await next_message(acme)}")
    await acme.send_json({"order": "ORD-2"})  # globex's order: invisible to acme
    print(f"   acme    {await next_message(acme)}")

    print("3. An HTTP POST broadcasts to the order's tenant only")
    async with session.post(f"{root}/orders/ORD-3/status", json={"status": "shipped"}) as response:
        print(f"   POST    {await response.json()}")
    print(f"   acme    {await next_message(acme)}")
    try:
        await globex.receive(timeout=0.2)
    except TimeoutError:
        print("   globex  nothing within 0.2 s (receive timeout)")

    print("4. A message over the server's max_msg_size")
    await globex.send_str(json.dumps({"order": "ORD-2", "padding": "x" * 5000}))
    print(f"   globex  {await next_message(globex)}")
    await globex.close()
    return acme


def build_app(*, heartbeat: float | None, close_on_shutdown: bool) -> web.Application:
    app = web.Application()
    subscribers: Subscribers = defaultdict(weakref.WeakSet)
    app[SUBSCRIBERS] = subscribers
    app[HEARTBEAT] = heartbeat
    app.router.add_get("/ws/orders", order_feed)
    app.router.add_post("/orders/{order}/status", update_status)
    if close_on_shutdown:
        app.on_shutdown.append(close_subscribers)
    return app


async def start(app: web.Application, shutdown_timeout: float) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def without_the_safeguards(session: aiohttp.ClientSession) -> None:
    """The same feed with a 0.2 s heartbeat, then with no heartbeat and no on_shutdown hook."""
    app = build_app(heartbeat=0.2, close_on_shutdown=False)
    runner, root = await start(app, shutdown_timeout=5)
    print("6. heartbeat=0.2 and a client that stops calling receive()")
    silent = await session.ws_connect(f"{root}/ws/orders?token=tok-acme")
    await asyncio.sleep(0.6)  # no receive(), so nobody on the client answers the server's PING
    try:
        print(f"   acme    {await next_message(silent)}")
    except aiohttp.ClientError as exc:  # the PONG it finally tries to send has nowhere to go
        print(f"   acme    {type(exc).__name__}: {exc}")
    await silent.close()
    await runner.cleanup()

    shutdown_timeout = 0.5
    runner, root = await start(build_app(heartbeat=None, close_on_shutdown=False), shutdown_timeout)
    print(f"7. Shutdown without the hook, shutdown_timeout={shutdown_timeout}")
    waiting = await session.ws_connect(f"{root}/ws/orders?token=tok-acme")
    reader = asyncio.create_task(next_message(waiting, timeout=5))
    started = time.perf_counter()
    await runner.cleanup()
    elapsed = time.perf_counter() - started
    twice = elapsed >= 2 * shutdown_timeout
    print(f"   cleanup() took {elapsed:.2f} s, at least 2 x shutdown_timeout: {twice}")
    print(f"   acme    {await reader}")
    await waiting.close()


async def main() -> None:
    app = build_app(heartbeat=10.0, close_on_shutdown=True)
    runner, root = await start(app, shutdown_timeout=5)
    async with aiohttp.ClientSession() as session:
        acme = await run_clients(session, root)
        print("5. Graceful shutdown: the server closes the socket that is still open")
        reader = asyncio.create_task(next_message(acme, timeout=5))
        await runner.cleanup()
        print(f"   acme    {await reader}")
        await acme.close()
        await without_the_safeguards(session)


if __name__ == "__main__":
    asyncio.run(main())
