"""How far an exception travels through await, and what cleanup code can do to it.

A checkout service charges a card through a payment gateway client. The same failure is followed
through a chain of awaits, through a task, and through cleanup code that runs while the task is
being cancelled.
"""

import asyncio
import traceback
from types import TracebackType


class GatewayError(Exception):
    """The payment gateway answered 5xx or dropped the connection."""


class CheckoutFailed(Exception):
    """What the checkout layer reports upwards: one domain error, with the cause chained."""


def frames(error: BaseException) -> list[str]:
    """The function names in an exception's traceback, outermost first."""
    return [frame.name for frame in traceback.extract_tb(error.__traceback__)]


async def call_gateway(order_id: str) -> str:
    await asyncio.sleep(0.01)  # the HTTP request
    raise GatewayError(f"502 from gateway for {order_id}")


async def charge_card(order_id: str) -> str:
    return await call_gateway(order_id)


async def place_order(order_id: str, tenant: str) -> str:
    try:
        return await charge_card(order_id)
    except GatewayError as error:
        error.add_note(f"order={order_id} tenant={tenant}")  # context for whoever logs it
        raise CheckoutFailed(f"could not charge {order_id}") from error


async def step_1_through_a_chain_of_awaits() -> None:
    print("1. an exception crosses await like a call: same object, frames of every coroutine")
    try:
        await place_order("ORD-1001", tenant="acme")
    except CheckoutFailed as failure:
        cause = failure.__cause__
        assert cause is not None
        print(f"  caught {failure!r}; its frames: {frames(failure)}")
        print(f"  __cause__ = {cause!r}")
        print(f"  the cause's frames: {frames(cause)}")
        print(f"  the cause's notes: {getattr(cause, '__notes__', [])}")
        last_lines = traceback.format_exception_only(cause)
        print(f"  how a log shows the cause: {[line.rstrip() for line in last_lines]}")


def start_charge(order_id: str) -> "asyncio.Task[str]":
    """Starts the charge in the background; the caller collects it later."""
    return asyncio.create_task(charge_card(order_id), name=f"charge-{order_id}")


async def step_2_through_a_task() -> None:
    print("2. in a task, the error waits in the task until someone retrieves it")
    task = start_charge("ORD-1002")
    await asyncio.sleep(0.05)
    print(f"  the creator kept running; task done={task.done()}, nothing raised yet")
    try:
        await task
    except GatewayError as error:
        print(f"  await task raised {error!r}")
        print(f"  its frames: {frames(error)}")
        print("  (the awaiter, then the task's coroutines; start_charge, its creator, is gone)")
        print(f"  the task's name is the link back to who started it: {task.get_name()}")


async def release_card_hold(order_id: str, *, fails: bool) -> None:
    await asyncio.sleep(0.01)
    if fails:
        raise GatewayError(f"could not release the hold on {order_id}")


async def authorise(order_id: str, *, release_fails: bool, guarded: bool) -> str:
    try:
        await asyncio.sleep(10)  # waiting for 3-D Secure
        return "authorised"
    finally:
        if not guarded:
            await release_card_hold(order_id, fails=release_fails)
        else:
            try:
                await release_card_hold(order_id, fails=release_fails)
            except Exception as error:  # log it, and let the CancelledError carry on
                print(f"  [{order_id}] cleanup failed, logged: {error!r}")


async def cancel_and_report(order_id: str, *, release_fails: bool, guarded: bool) -> None:
    task = asyncio.create_task(
        authorise(order_id, release_fails=release_fails, guarded=guarded), name=order_id
    )
    await asyncio.sleep(0.01)
    task.cancel("customer closed the page")
    try:
        await task
        outcome = "returned"
    except asyncio.CancelledError:
        outcome = "CancelledError"
    except GatewayError as error:
        context = error.__context__
        outcome = f"{error!r}, __context__={context!r}"
    print(f"  {order_id}: cancelled()={task.cancelled()}, the canceller got {outcome}")


async def step_3_cleanup_that_raises() -> None:
    print("3. cleanup in finally runs during cancellation, and can replace the CancelledError")
    await cancel_and_report("ORD-1003", release_fails=False, guarded=False)
    await cancel_and_report("ORD-1004", release_fails=True, guarded=False)
    await cancel_and_report("ORD-1005", release_fails=True, guarded=True)


class InvoiceTransaction:
    """An async context manager that rolls back on any exit that is not a success."""

    async def __aenter__(self) -> "InvoiceTransaction":
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        verdict = "commit" if exc_type is None else f"rollback ({exc_type.__name__})"
        print(f"  __aexit__ saw {exc_type.__name__ if exc_type else None}: {verdict}")
        # returning None (falsy) lets the exception, CancelledError included, continue


async def write_invoice(seconds: float) -> None:
    async with InvoiceTransaction():
        await asyncio.sleep(seconds)


async def step_4_async_with_sees_the_cancellation() -> None:
    print("4. async with: __aexit__ receives CancelledError like any other exception")
    await write_invoice(0)
    try:
        async with asyncio.timeout(0.01):
            await write_invoice(1)
    except TimeoutError:
        print("  the deadline still surfaced as TimeoutError, because __aexit__ did not swallow")


async def main() -> None:
    await step_1_through_a_chain_of_awaits()
    await step_2_through_a_task()
    await step_3_cleanup_that_raises()
    await step_4_async_with_sees_the_cancellation()


if __name__ == "__main__":
    asyncio.run(main())
