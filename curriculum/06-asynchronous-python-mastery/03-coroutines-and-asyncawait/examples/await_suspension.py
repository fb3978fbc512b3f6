"""Which awaits hand the event loop to other tasks, and what a suspended task waits on.

A heartbeat task records every turn it gets. The request handler awaits three kinds of
things: coroutines that never suspend, a Future that is still pending, and one already done.
"""

import asyncio
import types

PRICE_CACHE = {"SKU-100": 1999, "SKU-200": 2499, "SKU-300": 899}
timeline: list[str] = []


async def heartbeat(stop: asyncio.Event) -> None:
    while not stop.is_set():
        timeline.append("    heartbeat")
        await asyncio.sleep(0)  # a bare yield to the loop: "run me again next turn"


async def cached_price(sku: str) -> int:
    timeline.append(f"cached_price({sku})")
    return PRICE_CACHE[sku]  # no await that suspends: the caller never leaves the CPU


async def fetch_price(sku: str) -> int:
    loop = asyncio.get_running_loop()
    reply: asyncio.Future[int] = loop.create_future()
    loop.call_soon(reply.set_result, PRICE_CACHE[sku])  # stands in for the socket's data
    timeline.append(f"fetch_price({sku}) waits")
    price = await reply  # pending: the Task suspends here and the loop runs others
    timeline.append(f"fetch_price({sku}) resumes")
    return price


async def price_quote(skus: list[str], fetch: bool) -> int:
    total = 0
    for sku in skus:
        total += await (fetch_price(sku) if fetch else cached_price(sku))
    return total


async def part_1_and_2() -> None:
    stop = asyncio.Event()
    timeline.append("0. start the heartbeat task and yield once")
    beat = asyncio.create_task(heartbeat(stop))
    await asyncio.sleep(0)  # let the heartbeat take its first turn
    skus = ["SKU-100", "SKU-200", "SKU-300"]
    timeline.append("1. three awaits of a coroutine that never suspends")
    total = await price_quote(skus, fetch=False)
    timeline.append(f"   total {total}")
    timeline.append("2. three awaits that reach a pending Future")
    total = await price_quote(skus, fetch=True)
    timeline.append(f"   total {total}")
    stop.set()
    await beat
    print("\n".join(timeline))


# --- 3. The await chain of a suspended task ------------------------------------------------
pending_rows: dict[str, asyncio.Future[dict[str, int]]] = {}


async def fetch_row(table: str, key: str) -> dict[str, int]:
    reply: asyncio.Future[dict[str, int]] = asyncio.get_running_loop().create_future()
    pending_rows[f"{table}/{key}"] = reply
    return await reply


async def load_invoice(number: str) -> dict[str, int]:
    return await fetch_row("invoices", number)


async def handle_request(number: str) -> str:
    invoice = await load_invoice(number)
    return f"{number}: {invoice['total_cents']} cents"


def await_chain(task: asyncio.Task[str]) -> str:
    links: list[str] = []
    link: object = task.get_coro()
    while isinstance(link, types.CoroutineType):
        links.append(link.cr_code.co_name)
        link = link.cr_await
    links.append(type(link).__name__)
    return " -> ".join(links)


async def part_3() -> None:
    print("3. What a suspended task is waiting on")
    request = asyncio.create_task(handle_request("INV-7781"))
    await asyncio.sleep(0)  # the handler runs until its await chain reaches the Future
    print(f"   chain: {await_chain(request)}")
    reply = pending_rows["invoices/INV-7781"]
    print(f"   the Future: {reply!r}")
    reply.set_result({"total_cents": 12_000})  # the "driver" delivers the row
    print(f"   the Future after set_result: {reply!r}; task done yet: {request.done()}")
    print(f"   result: {await request}")


async def part_4() -> None:
    print("4. Awaiting a Future that is already done")
    stop = asyncio.Event()
    beat = asyncio.create_task(heartbeat(stop))
    await asyncio.sleep(0)
    beats_before = len(timeline)
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    done.set_result(42)
    for _ in range(3):
        await done  # returns the result at once: no suspension, no heartbeat in between
    turns = len(timeline) - beats_before
    stop.set()
    await beat
    print(f"   heartbeat turns during three awaits of a done Future: {turns}")


async def main() -> None:
    await part_1_and_2()
    await part_3()
    await part_4()


if __name__ == "__main__":
    asyncio.run(main())
