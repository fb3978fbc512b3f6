"""TaskGroup against gather when one call in a fan-out fails.

A checkout quote calls pricing, inventory and shipping concurrently. Inventory fails fast. The
same failure is run through asyncio.TaskGroup, plain gather, and gather(return_exceptions=True),
and then two validation errors that happen at the same moment.
"""

import asyncio


class ServiceUnavailable(Exception):
    """A downstream service answered 503 or refused the connection."""


def alive_except_me() -> list[str]:
    """Names of the tasks that are still running, apart from the caller."""
    me = asyncio.current_task()
    return sorted(task.get_name() for task in asyncio.all_tasks() if task is not me)


async def call_service(name: str, seconds: float, fails: bool = False) -> str:
    try:
        await asyncio.sleep(seconds)  # stands in for the HTTP call
        if fails:
            raise ServiceUnavailable(f"{name}: 503")
        print(f"    {name}: answered")
        return f"{name}-ok"
    except asyncio.CancelledError:
        print(f"    {name}: cancelled, connection released")
        raise


async def quote_with_taskgroup() -> None:
    print("1. TaskGroup: the first failure cancels the siblings, then raises an ExceptionGroup")
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(call_service("pricing", 0.3), name="pricing")
            group.create_task(call_service("inventory", 0.05, fails=True), name="inventory")
            group.create_task(call_service("shipping", 0.2), name="shipping")
    except* ServiceUnavailable as failures:
        print(f"  caught {failures!r}")
    print(f"  still running after the block: {alive_except_me()}")
    me = asyncio.current_task()
    assert me is not None
    # 3.11 and 3.12 leave the group's cancel() of this task counted here; 3.13 prints 0.
    print(f"  this task's cancelling() is now {me.cancelling()}")


async def quote_with_gather() -> None:
    print("2. gather: the first failure reaches the caller; the siblings keep running")
    try:
        await asyncio.gather(
            asyncio.create_task(call_service("pricing", 0.3), name="pricing"),
            asyncio.create_task(call_service("inventory", 0.05, fails=True), name="inventory"),
            asyncio.create_task(call_service("shipping", 0.2), name="shipping"),
        )
    except ServiceUnavailable as failure:
        print(f"  caught {failure!r}")
    print(f"  still running after the call: {alive_except_me()}")
    await asyncio.sleep(0.35)  # the orphans finish; nobody reads their results
    print(f"  0.35 s later: {alive_except_me()}")


async def quote_with_return_exceptions() -> None:
    print("3. gather(return_exceptions=True): waits for every call, errors become values")
    results = await asyncio.gather(
        call_service("pricing", 0.3),
        call_service("inventory", 0.05, fails=True),
        call_service("shipping", 0.2),
        return_exceptions=True,
    )
    print(f"  results: {results}")


async def validate(field: str, value: str) -> str:
    if not value:
        raise ValueError(f"{field} is required")
    await asyncio.sleep(0.01)
    return value


async def two_errors_at_once() -> None:
    print("4. two validation errors in the same loop iteration")
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(validate("coupon", ""))
            group.create_task(validate("postcode", ""))
            group.create_task(validate("email", "ana@example.com"))
    except* ValueError as invalid:
        print(f"  TaskGroup reports all of them: {[str(e) for e in invalid.exceptions]}")
    try:
        await asyncio.gather(
            validate("coupon", ""), validate("postcode", ""), validate("email", "ana@example.com")
        )
    except ValueError as error:
        print(f"  gather reports the first only: {error}")


async def body_errors_are_grouped_too() -> None:
    print("5. an error in the async with body also comes out as an ExceptionGroup")
    try:
        async with asyncio.TaskGroup() as group:
            shipping = group.create_task(call_service("shipping", 0.2), name="shipping")
            raise KeyError("tenant-42")  # e.g. a lookup in the body fails
    except* KeyError as missing:
        print(f"  caught {missing!r}; shipping cancelled()={shipping.cancelled()}")


async def gather_when_a_child_is_cancelled() -> None:
    print("6. a child of gather cancelled by someone else: the caller sees CancelledError")
    shipping = asyncio.create_task(call_service("shipping", 0.2), name="shipping")
    pricing = asyncio.create_task(call_service("pricing", 0.05), name="pricing")
    loop = asyncio.get_running_loop()
    loop.call_later(0.01, shipping.cancel)  # e.g. an admin endpoint cancels the shipping call
    me = asyncio.current_task()
    assert me is not None
    baseline = me.cancelling()  # compare with a baseline, as asyncio.timeout() does
    try:
        await asyncio.gather(shipping, pricing)
    except asyncio.CancelledError:
        if me.cancelling() > baseline:
            raise  # someone is cancelling this task: let it through
        print(f"  CancelledError, yet cancelling() is still {baseline}: it was a child's")
    await asyncio.sleep(0.1)
    print(f"  pricing, which gather did not cancel: {pricing.result()}")


async def main() -> None:
    await quote_with_taskgroup()
    await quote_with_gather()
    await quote_with_return_exceptions()
    await two_errors_at_once()
    await body_errors_are_grouped_too()
    await gather_when_a_child_is_cancelled()


if __name__ == "__main__":
    asyncio.run(main())
