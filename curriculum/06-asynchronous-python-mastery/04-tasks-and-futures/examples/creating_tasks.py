"""Creating tasks, and the Future underneath every one of them.

A checkout service reserves stock for an order's lines as tasks, then charges the card through a
payment-gateway client that matches out-of-order replies to callers with one Future per request.
"""

import asyncio
import contextvars
import logging
import sys
import time

log = logging.getLogger("checkout")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def describe(future: "asyncio.Future[str]") -> str:
    """The state of a Future or Task, without raising."""
    if not future.done():
        return "pending"
    if future.cancelled():
        return "cancelled"
    error = future.exception()
    return f"failed with {error!r}" if error else f"done, result={future.result()!r}"


async def reserve_stock(sku: str, quantity: int, seconds: float) -> str:
    print(f"    {sku}: reserving {quantity} for {request_id.get()}")
    await asyncio.sleep(seconds)  # stands in for a call to the inventory service
    if quantity > 10:
        raise ValueError(f"{sku}: only 10 in stock")
    print(f"    {sku}: reserved")
    return f"{sku}x{quantity}"


async def step_1_a_task_starts_at_the_creators_next_await() -> None:
    print("1. create_task schedules; the task runs when the creator yields")
    request_id.set("req-1001")
    task = asyncio.create_task(reserve_stock("SKU-RED", 2, 0.01), name="reserve-SKU-RED")
    print(f"  created {task.get_name()}: {describe(task)}")
    print("  the creator is still running; the task has not printed anything")
    await asyncio.sleep(0)  # one trip through the loop: the task runs up to its first await
    print(f"  after one yield: {describe(task)}")
    await task
    print(f"  after await: {describe(task)}")


async def step_2_coroutines_in_sequence_versus_tasks() -> None:
    print("2. awaiting three coroutines in turn, then the same three as tasks")
    lines = [("SKU-RED", 2, 0.15), ("SKU-BLUE", 1, 0.05), ("SKU-GREEN", 5, 0.10)]
    started = time.perf_counter()
    for sku, quantity, seconds in lines:
        await reserve_stock(sku, quantity, seconds)
    print(f"  in sequence: {time.perf_counter() - started:.2f} s (the sum of the three)")
    started = time.perf_counter()
    tasks = [asyncio.create_task(reserve_stock(*line)) for line in lines]
    reserved = [await task for task in tasks]  # results keep the order of `tasks`
    print(f"  as tasks: {time.perf_counter() - started:.2f} s (the slowest one), {reserved}")


async def step_3_a_failed_task_keeps_its_exception() -> None:
    print("3. a task that raises stores the exception until someone retrieves it")
    task = asyncio.create_task(reserve_stock("SKU-GOLD", 50, 0.01), name="reserve-SKU-GOLD")
    try:
        task.result()
    except asyncio.InvalidStateError as error:
        print(f"  result() while pending: InvalidStateError({error})")
    await asyncio.wait([task])  # waits without raising the task's exception
    print(f"  {task.get_name()}: {describe(task)}")
    try:
        await task
    except ValueError as error:
        print(f"  await re-raises it in the awaiter: {error}")


async def step_4_a_task_runs_in_a_copy_of_the_context() -> None:
    print("4. create_task copies the contextvars at creation time")

    async def audit() -> None:
        print(f"  inside the task: request_id={request_id.get()}")
        request_id.set("changed-inside-task")

    request_id.set("req-2002")
    await asyncio.create_task(audit())
    print(f"  back in the creator: request_id={request_id.get()}")


class GatewayDeclined(Exception):
    """The payment gateway refused the charge."""


class PaymentGatewayClient:
    """Sends charges over one connection; replies come back in any order, tagged with an id."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._waiting: dict[str, asyncio.Future[str]] = {}

    async def charge(self, payment_id: str, amount_cents: int, reply_after: float) -> str:
        reply: asyncio.Future[str] = self._loop.create_future()
        self._waiting[payment_id] = reply
        # Stands in for writing the request to the socket: the "gateway" answers later by
        # calling on_reply() from the loop, exactly as a Protocol's data_received() would.
        verdict = "approved" if amount_cents <= 50_000 else "declined"
        self._loop.call_later(reply_after, self.on_reply, payment_id, verdict)
        try:
            return await reply
        finally:
            del self._waiting[payment_id]

    def on_reply(self, payment_id: str, verdict: str) -> None:
        """A plain callback, not a coroutine: it completes the Future a caller awaits."""
        reply = self._waiting.get(payment_id)
        if reply is None or reply.done():
            log.warning("reply for %s dropped: nobody is waiting for it", payment_id)
            return
        if verdict == "approved":
            reply.set_result(f"{payment_id} approved")
        else:
            reply.set_exception(GatewayDeclined(f"{payment_id} declined"))


async def step_5_futures_complete_from_callbacks() -> None:
    print("5. a Future is a result slot that a callback fills in")
    loop = asyncio.get_running_loop()
    slot: asyncio.Future[str] = loop.create_future()
    slot.add_done_callback(lambda done: print(f"  done callback sees {done.result()!r}"))
    slot.set_result("approved")
    print("  set_result() returned; the callback has not run yet")
    try:
        slot.set_result("approved again")
    except asyncio.InvalidStateError as error:
        print(f"  a second set_result(): InvalidStateError({error})")
    await asyncio.sleep(0)  # done callbacks are scheduled with call_soon
    spare: asyncio.Future[str] = loop.create_future()
    print(f"  Future.cancel() -> {spare.cancel()}, cancelled() at once -> {spare.cancelled()}")
    print(f"  a Task is a Future: {isinstance(asyncio.current_task(), asyncio.Future)}")

    gateway = PaymentGatewayClient()
    charges = {
        "pay-1": asyncio.create_task(gateway.charge("pay-1", 12_000, 0.15)),
        "pay-2": asyncio.create_task(gateway.charge("pay-2", 80_000, 0.05)),
        "pay-3": asyncio.create_task(gateway.charge("pay-3", 4_500, 0.10)),
    }
    late = asyncio.create_task(gateway.charge("pay-4", 9_900, 0.30))
    await asyncio.sleep(0.20)
    late.cancel()  # the shopper closed the tab; the reply will still arrive
    await asyncio.wait([late])
    for payment_id, task in charges.items():
        print(f"  {payment_id}: {describe(task)}")
    print(f"  pay-4: {describe(late)}")
    await asyncio.sleep(0.15)  # let the gateway's late reply for pay-4 arrive


async def main() -> None:
    await step_1_a_task_starts_at_the_creators_next_await()
    await step_2_coroutines_in_sequence_versus_tasks()
    await step_3_a_failed_task_keeps_its_exception()
    await step_4_a_task_runs_in_a_copy_of_the_context()
    await step_5_futures_complete_from_callbacks()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(message)s")
    asyncio.run(main())
