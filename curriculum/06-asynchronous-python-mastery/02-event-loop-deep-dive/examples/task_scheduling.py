"""How the loop schedules tasks: every step of a task is one callback in the ready queue.

1. create_task() runs nothing; it queues the task's first step.
2. Tasks that yield take turns in FIFO order, one step each per iteration.
3. `await` yields to the loop only when something actually suspends.
4. A task waiting on a future is woken by a done callback on that future.
5. A timer cannot fire while a callback is still running.
"""

import asyncio
import contextlib
import time
from typing import Any

PRICES = {"SKU-1": 1299, "SKU-2": 4550}


def ready_queue() -> Any:
    return vars(asyncio.get_running_loop())["_ready"]  # private: for teaching only


async def charge(invoice: str, log: list[str]) -> None:
    log.append(f"charge({invoice}) started")


async def first_step_is_queued() -> None:
    print("1. create_task() queues the first step")
    log: list[str] = []
    before = len(ready_queue())
    task = asyncio.create_task(charge("INV-7", log))
    print(f"   ready queue: {before} -> {len(ready_queue())}; started yet: {bool(log)}")
    await asyncio.sleep(0)  # the creating coroutine yields; the task's first step runs
    print(f"   after one yield: {log[0]}; done: {task.done()}")


async def worker(name: str, order: list[str]) -> None:
    for step in range(1, 4):
        order.append(f"{name}{step}")
        await asyncio.sleep(0)  # a bare yield: go to the back of the ready queue


async def round_robin() -> None:
    print("2. tasks that yield take turns, first in, first out")
    order: list[str] = []
    async with asyncio.TaskGroup() as group:
        for name in ("A", "B", "C"):
            group.create_task(worker(name, order))
    print(f"   steps ran in this order: {' '.join(order)}")


async def cached_price(sku: str) -> int:
    return PRICES[sku]  # no await inside: calling and awaiting this never suspends


async def reprice(items: int, yield_every: int | None) -> int:
    total = 0
    for index in range(items):
        total += await cached_price("SKU-1" if index % 2 else "SKU-2")
        if yield_every and index % yield_every == yield_every - 1:
            await asyncio.sleep(0)
    return total


async def heartbeat(ticks: list[int]) -> None:
    while True:
        ticks[0] += 1
        await asyncio.sleep(0)


async def await_is_not_a_yield() -> None:
    print("3. 'await' yields only when something suspends")
    for yield_every in (None, 1_000):
        ticks = [0]
        beat = asyncio.create_task(heartbeat(ticks))
        await asyncio.sleep(0)  # let the heartbeat start: ticks == 1
        start = ticks[0]
        total = await reprice(50_000, yield_every)
        ran = ticks[0] - start
        beat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beat
        label = "never yields" if yield_every is None else f"yields every {yield_every}"
        print(f"   50,000 awaits, {label}: total={total}, heartbeat ran {ran} times meanwhile")


async def waiting_on_a_future() -> None:
    print("4. a task waiting on a future is woken by the future's done callback")
    loop = asyncio.get_running_loop()
    approval: asyncio.Future[str] = loop.create_future()
    log: list[str] = []

    async def ship_order() -> None:
        reviewer = await approval  # the task suspends here until the future is done
        log.append(f"order shipped, approved by {reviewer}")

    task = asyncio.create_task(ship_order())
    await asyncio.sleep(0)
    print(f"   the future while the task waits: {approval!r}")
    approval.set_result("risk-service")
    print(f"   right after set_result(): shipped={bool(log)}, task done={task.done()}")
    await task
    print(f"   once the loop ran the wake-up: {log[0]}")


async def timers_wait_for_callbacks() -> None:
    print("5. a timer cannot fire while a callback runs")
    loop = asyncio.get_running_loop()
    fired = loop.create_future()
    due = loop.time() + 0.010
    loop.call_at(due, lambda: fired.set_result(loop.time()))
    time.sleep(0.100)  # a synchronous call: 100 ms in which the loop runs nothing else
    late_ms = (await fired - due) * 1000
    print(f"   timer due in 10 ms fired {late_ms:.1f} ms late; at least 85 ms: {late_ms >= 85}")


async def main() -> None:
    await first_step_is_queued()
    await round_robin()
    await await_is_not_a_yield()
    await waiting_on_a_future()
    await timers_wait_for_callbacks()


if __name__ == "__main__":
    asyncio.run(main())
