"""Futures and their done callbacks, and how a callback-based SDK on a thread becomes awaitable.

1. Done callbacks are scheduled with call_soon, in registration order, never run inline.
2. Each callback runs in the contextvars context captured when it was added.
3. A callback that raises goes to the loop's exception handler; the others still run.
4. A result delivered from another thread must go through call_soon_threadsafe.
"""

import asyncio
import contextvars
import logging
import sys
import threading
import time
from collections.abc import Callable

logging.basicConfig(stream=sys.stdout, format="%(levelname)s %(name)s: %(message)s")
log = logging.getLogger("payments")

tenant: contextvars.ContextVar[str] = contextvars.ContextVar("tenant", default="-")


async def callbacks_are_scheduled() -> None:
    print("1. done callbacks are queued, not called")
    loop = asyncio.get_running_loop()
    invoice: asyncio.Future[str] = loop.create_future()
    try:
        invoice.result()
    except asyncio.InvalidStateError as error:
        print(f"   result() while pending: InvalidStateError: {error}")
    ran: list[str] = []
    invoice.add_done_callback(lambda fut: ran.append(f"email receipt for {fut.result()}"))
    invoice.add_done_callback(lambda fut: ran.append(f"update ledger for {fut.result()}"))
    invoice.set_result("INV-2041")
    print(f"   right after set_result(): callbacks run = {ran}")
    await asyncio.sleep(0)
    print(f"   after one loop iteration: {ran}")
    invoice.add_done_callback(lambda fut: ran.append("added after done"))
    print(f"   a callback added to a done future still waits: {len(ran)} run")
    await asyncio.sleep(0)
    print(f"   ... and runs on the next iteration: {ran[-1]!r}")
    try:
        invoice.set_result("INV-2042")
    except asyncio.InvalidStateError as error:
        print(f"   set_result() twice: InvalidStateError: {error}")
    print(f"   cancel() on a done future returns {invoice.cancel()}")


async def callbacks_keep_their_context() -> None:
    print("2. a callback runs in the context copied when it was added")
    loop = asyncio.get_running_loop()
    refund: asyncio.Future[int] = loop.create_future()
    tenant.set("acme")
    refund.add_done_callback(lambda fut: print(f"   refund of {fut.result()} for {tenant.get()}"))
    tenant.set("globex")  # changes the current context, not the copy the callback holds
    refund.set_result(4999)
    await asyncio.sleep(0)
    print(f"   the current context says {tenant.get()}")


async def a_failing_callback() -> None:
    print("3. a callback that raises does not stop the others")
    loop = asyncio.get_running_loop()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        log.error("a done callback failed: %r", context.get("exception"))

    loop.set_exception_handler(handler)
    shipment: asyncio.Future[str] = loop.create_future()
    shipment.add_done_callback(lambda fut: print(f"   label printed for {fut.result()}"))
    shipment.add_done_callback(lambda fut: {"SHIP-1": "dhl"}[fut.result()])  # a bug
    shipment.add_done_callback(lambda fut: print(f"   customer notified for {fut.result()}"))
    shipment.set_result("SHIP-88")
    await asyncio.sleep(0)
    loop.set_exception_handler(None)


class CardGateway:
    """A vendor SDK: authorize() returns at once and calls on_done on the SDK's own thread."""

    def authorize(self, amount_cents: int, on_done: Callable[[str], object]) -> None:
        def work() -> None:
            time.sleep(0.020)  # the network round trip
            on_done(f"AUTH-{amount_cents}")

        threading.Thread(target=work, name="gateway-io", daemon=True).start()


async def authorize(gateway: CardGateway, amount_cents: int, threadsafe: bool) -> str:
    loop = asyncio.get_running_loop()
    result: asyncio.Future[str] = loop.create_future()
    if threadsafe:
        gateway.authorize(
            amount_cents, lambda code: loop.call_soon_threadsafe(result.set_result, code)
        )
    else:  # the bug: touches the future from the SDK thread; nothing wakes the loop up
        gateway.authorize(amount_cents, result.set_result)
    return await result


async def bridging_a_thread_sdk() -> None:
    print("4. results from another thread: call_soon_threadsafe wakes the loop")
    loop = asyncio.get_running_loop()
    gateway = CardGateway()
    for threadsafe in (False, True):
        metrics_flush = loop.call_later(0.250, lambda: None)  # the only other thing scheduled
        started = time.perf_counter()
        code = await authorize(gateway, 1299, threadsafe)
        waited_ms = (time.perf_counter() - started) * 1000
        metrics_flush.cancel()
        way = "call_soon_threadsafe" if threadsafe else "set_result from the thread"
        quick = waited_ms < 150
        print(f"   {way}: {code} after {waited_ms:.0f} ms; resumed within 150 ms: {quick}")


async def main() -> None:
    await callbacks_are_scheduled()
    await callbacks_keep_their_context()
    await a_failing_callback()
    await bridging_a_thread_sdk()


if __name__ == "__main__":
    asyncio.run(main())
