"""Semaphores and Events as coordination tools: per-tenant limits, counted signals, gates.

Section 6.6 showed a Semaphore capping fan-out and a BoundedSemaphore catching an extra
release(). This file is about what the two primitives mean: a Semaphore counts, an Event is a
flag. Jobs "work" by yielding to the loop a fixed number of times, so every order printed is
decided by the loop's FIFO ready queue and is the same on every run.
"""

import asyncio
import logging
import sys

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log %(name)s: %(message)s")
log = logging.getLogger("exports")


async def work(turns: int) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


async def tenant_limits(per_tenant: bool) -> list[str]:
    """Six exports from acme, then two from globex; a global limit of 3, optionally 2 per tenant."""
    global_slots = asyncio.Semaphore(3)
    tenant_slots = {"acme": asyncio.Semaphore(2), "globex": asyncio.Semaphore(2)}
    started: list[str] = []

    async def export(tenant: str, n: int) -> None:
        if per_tenant:
            # Tenant permit first, global permit second: a job never holds a global slot
            # while it queues behind its own tenant's limit.
            async with tenant_slots[tenant], global_slots:
                started.append(f"{tenant}-{n}")
                await work(3)
        else:
            async with global_slots:
                started.append(f"{tenant}-{n}")
                await work(3)

    jobs = [export("acme", n) for n in range(1, 7)] + [export("globex", n) for n in (1, 2)]
    await asyncio.gather(*jobs)
    return started


async def cancelled_waiter_keeps_no_permit() -> None:
    slots = asyncio.BoundedSemaphore(2)
    finish = asyncio.Event()

    async def hold() -> None:
        async with slots:
            await finish.wait()

    holders = [asyncio.create_task(hold()) for _ in range(2)]
    await asyncio.sleep(0)
    print(f"   two exports hold both slots: {slots!r}")
    try:
        async with asyncio.timeout(0.05), slots:
            log.info("third export got a slot")
    except TimeoutError:
        log.info("third export gave up after 0.05 s waiting for a slot")
    finish.set()
    await asyncio.gather(*holders)
    print(f"   after the holders finished:  {slots!r}")


async def event_coalesces_signals() -> None:
    arrived = asyncio.Event()
    inbox: list[str] = []
    batches: list[list[str]] = []

    async def reconciler(expected: int) -> None:
        seen = 0
        while seen < expected:
            await arrived.wait()
            arrived.clear()  # clear BEFORE taking the batch, or a set() in between is lost
            batch, inbox[:] = inbox[:], []
            batches.append(batch)
            seen += len(batch)

    task = asyncio.create_task(reconciler(expected=3))
    await asyncio.sleep(0)
    for payment in ("PAY-7001", "PAY-7002", "PAY-7003"):
        inbox.append(payment)
        arrived.set()
    await task
    print(f"   Event: 3 set() calls, {len(batches)} wake-up, batches {batches}")

    pending = asyncio.Semaphore(0)
    wakeups = 0

    async def counter(expected: int) -> None:
        nonlocal wakeups
        for _ in range(expected):
            await pending.acquire()
            wakeups += 1

    task = asyncio.create_task(counter(expected=3))
    await asyncio.sleep(0)
    for _ in range(3):
        pending.release()
    await task
    print(f"   Semaphore(0): 3 release() calls, {wakeups} wake-ups")


async def readiness_gate() -> None:
    ready = asyncio.Event()
    served: list[str] = []

    async def handle(request: str) -> None:
        await ready.wait()
        served.append(request)

    early = [asyncio.create_task(handle(f"GET /prices/{n}")) for n in (1, 2, 3)]
    await work(2)
    print(f"   before warm-up: served {len(served)}, waiting {sum(not t.done() for t in early)}")
    ready.set()  # the cache is warm: every waiter is woken, later arrivals never wait
    await asyncio.gather(*early)
    await handle("GET /prices/4")
    print(f"   after set(): served {served}")


async def pulse_is_not_a_queue() -> None:
    reload = asyncio.Event()
    woken: list[str] = []

    async def worker(name: str) -> None:
        await reload.wait()
        woken.append(name)

    tasks = [asyncio.create_task(worker(f"worker-{n}")) for n in (1, 2)]
    await asyncio.sleep(0)
    reload.set()
    reload.clear()  # a "pulse": set and cleared before any waiter has run
    late = asyncio.create_task(worker("worker-3"))  # arrives after the pulse
    await asyncio.gather(*tasks)
    try:
        async with asyncio.timeout(0.05):
            await late
    except TimeoutError:
        woken.append("worker-3 missed it")
    print(f"   is_set()={reload.is_set()} after the pulse; {woken}")


async def main() -> None:
    print("1. one global Semaphore(3): start order of 8 exports (acme queued first)")
    print("   " + " ".join(await tenant_limits(per_tenant=False)))
    print("   with Semaphore(2) per tenant in front of the global Semaphore(3):")
    print("   " + " ".join(await tenant_limits(per_tenant=True)))
    print("2. a task cancelled while waiting takes no permit with it")
    await cancelled_waiter_keeps_no_permit()
    print("3. an Event is a flag, a Semaphore is a counter")
    await event_coalesces_signals()
    print("4. an Event as a readiness gate")
    await readiness_gate()
    print("5. set() then clear() wakes whoever is waiting now, and nobody later")
    await pulse_is_not_a_queue()


if __name__ == "__main__":
    asyncio.run(main())
