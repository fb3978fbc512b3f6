"""gather() and wait() side by side: result order, errors, cancellation, timeouts.

A checkout builds a quote from three downstream services, simulated with sleeps whose
lengths are far enough apart that they always finish in the same order.
"""

import asyncio

finished: list[str] = []


class InventoryDown(Exception):
    pass


async def call_service(name: str, seconds: float, *, fail: bool = False) -> str:
    await asyncio.sleep(seconds)
    if fail:
        finished.append(f"{name}!")
        raise InventoryDown(f"{name} answered 503")
    finished.append(name)
    return f"{name}:ok"


async def gather_keeps_argument_order() -> None:
    print("1. gather() returns results in argument order, whatever the finishing order")
    finished.clear()
    results = await asyncio.gather(
        call_service("shipping", 0.09),
        call_service("pricing", 0.01),
        call_service("inventory", 0.05),
    )
    print(f"   finished: {finished}")
    print(f"   results:  {results}")


async def gather_and_errors() -> None:
    print("2. the first exception propagates; the siblings keep running")
    finished.clear()
    shipping = asyncio.create_task(call_service("shipping", 0.3), name="shipping")
    try:
        await asyncio.gather(
            call_service("inventory", 0.02, fail=True), shipping, call_service("pricing", 0.01)
        )
    except InventoryDown as error:
        print(f"   caught {error!r}; finished so far: {finished}")
    print(f"   shipping still running: {not shipping.done()}")
    await shipping
    print(f"   shipping finished anyway: {finished}")

    print("   with return_exceptions=True the error is a value in the list")
    results = await asyncio.gather(
        call_service("pricing", 0.01),
        call_service("inventory", 0.02, fail=True),
        return_exceptions=True,
    )
    print(f"   results: {results}")


async def gather_dedup_and_cancel() -> None:
    print("3. the same awaitable twice runs once; cancelling gather() cancels its children")
    pricing = asyncio.create_task(call_service("pricing", 0.01))
    print(f"   {await asyncio.gather(pricing, pricing)}")
    slow = [asyncio.create_task(call_service(name, 5)) for name in ("fraud-check", "loyalty")]
    outer = asyncio.gather(*slow)
    await asyncio.sleep(0.02)
    outer.cancel()
    try:
        await outer
    except asyncio.CancelledError:
        print(f"   gather cancelled; children cancelled: {[task.cancelled() for task in slow]}")


async def wait_returns_sets() -> None:
    print("4. wait() returns (done, pending) and cancels nothing")
    tasks = {
        asyncio.create_task(call_service(name, seconds), name=name)
        for name, seconds in (("pricing", 0.01), ("inventory", 1.0), ("shipping", 1.2))
    }
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    print(f"   FIRST_COMPLETED -> done={names(done)} pending={names(pending)}")

    done, pending = await asyncio.wait(pending, timeout=0.05)
    print(f"   timeout=0.05 -> no exception, done={names(done)} pending={names(pending)}")
    for task in pending:
        task.cancel()
    await asyncio.wait(pending)
    print(f"   after cancel(): {sorted((t.get_name(), t.cancelled()) for t in pending)}")

    failing = {
        asyncio.create_task(call_service("inventory", 0.01, fail=True), name="inventory"),
        asyncio.create_task(call_service("shipping", 1.0), name="shipping"),
    }
    done, pending = await asyncio.wait(failing, return_when=asyncio.FIRST_EXCEPTION)
    print(f"   FIRST_EXCEPTION -> done={names(done)} pending={names(pending)}")
    for task in done:
        print(f"   the exception waits in the task until you ask: {task.exception()!r}")
    for task in pending:
        task.cancel()
    await asyncio.wait(pending)

    coroutine = call_service("pricing", 0.01)
    try:
        await asyncio.wait([coroutine])  # type: ignore[type-var]
    except TypeError as error:
        coroutine.close()
        print(f"   wait([coroutine]) -> TypeError: {error}")
    try:
        await asyncio.wait([])
    except ValueError as error:
        print(f"   wait([]) -> ValueError: {error}")


def names(tasks: set[asyncio.Task[str]]) -> list[str]:
    return sorted(task.get_name() for task in tasks)


async def main() -> None:
    await gather_keeps_argument_order()
    await gather_and_errors()
    await gather_dedup_and_cancel()
    await wait_returns_sets()


if __name__ == "__main__":
    asyncio.run(main())
