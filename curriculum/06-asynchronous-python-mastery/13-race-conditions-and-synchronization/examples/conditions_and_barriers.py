"""asyncio.Condition for "wait until the state allows it", asyncio.Barrier (3.11+) for phases.

A tenant's credit account makes orders wait until enough credit is available; payments notify
the waiters. A nightly reindex loads three shards and swaps them in only when all three are
loaded. Work is simulated by yielding to the loop a fixed number of times, so every trace is
the same on every run.
"""

import asyncio
import logging
import sys

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log %(name)s: %(message)s")
log = logging.getLogger("reindex")


async def work(turns: int) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


class CreditAccount:
    """Orders spend credit; payments add it. One Condition guards the balance and signals it."""

    def __init__(self, tenant: str, available_cents: int, *, wake_all: bool = True) -> None:
        self.tenant = tenant
        self.available = available_cents
        self.changed = asyncio.Condition()
        self.wake_all = wake_all
        self.trace: list[str] = []

    async def spend(self, order: str, amount: int) -> None:
        def enough() -> bool:
            ok = self.available >= amount
            self.trace.append(f"{order} checks {self.available}>={amount}: {ok}")
            return ok

        async with self.changed:  # wait_for() re-checks the predicate after every wake-up
            await self.changed.wait_for(enough)
            self.available -= amount
            self.trace.append(f"{order} spends {amount}")

    async def pay_in(self, amount: int) -> None:
        async with self.changed:
            self.available += amount
            self.trace.append(f"payment +{amount}")
            if self.wake_all:
                self.changed.notify_all()
            else:
                self.changed.notify()  # wakes one waiter: the first, whatever it needs


async def credit_waits(wake_all: bool) -> None:
    account = CreditAccount("acme", available_cents=0, wake_all=wake_all)
    orders = [
        asyncio.create_task(account.spend("ORD-301", 300)),
        asyncio.create_task(account.spend("ORD-302", 50)),
    ]
    await work(2)
    await account.pay_in(100)
    await work(2)
    stuck = [t for t in orders if not t.done()]
    print("   " + " | ".join(account.trace))
    print(f"   after +100: {len(stuck)} order(s) still waiting, available {account.available}")
    for task in orders:
        task.cancel()
    await asyncio.gather(*orders, return_exceptions=True)


async def condition_rules() -> None:
    changed = asyncio.Condition()
    try:
        changed.notify_all()
    except RuntimeError as exc:
        print(f"   notify_all() without holding the lock -> RuntimeError: {exc}")
    shared_lock = asyncio.Lock()
    status = asyncio.Condition(shared_lock)  # a Condition can wrap a lock other code uses
    async with shared_lock:
        print(f"   Condition(lock) shares its lock: status.locked() = {status.locked()}")


async def load_shard(
    name: str, turns: int, barrier: asyncio.Barrier, swapped: list[str], fail: bool = False
) -> str:
    await work(turns)
    if fail:
        log.error("%s: source snapshot unreadable, aborting the barrier", name)
        await barrier.abort()
        raise OSError(f"{name}: snapshot unreadable")
    log.info("%s loaded; %d already waiting, broken=%s", name, barrier.n_waiting, barrier.broken)
    index = await barrier.wait()  # phase 1 ends: every shard is loaded
    if index == barrier.parties - 1:  # exactly one task, the last to arrive, does the swap
        swapped.append(f"swap by {name}")
    await work(1)
    await barrier.wait()  # phase 2 ends: the same barrier, reused, after the swap
    return f"{name} serving (arrived {index})"


async def reindex(fail_shard: str | None) -> None:
    barrier = asyncio.Barrier(3)
    swapped: list[str] = []
    shards = {"shard-a": 5, "shard-b": 1, "shard-c": 3}
    results = await asyncio.gather(
        *(
            load_shard(name, turns, barrier, swapped, fail=name == fail_shard)
            for name, turns in shards.items()
        ),
        return_exceptions=True,
    )
    for result in results:
        shown = result if isinstance(result, str) else f"{type(result).__name__}: {result}"
        print(f"   {shown}")
    print(f"   {swapped or 'no swap'}; broken={barrier.broken}")


async def main() -> None:
    print("1. Condition with notify_all(): each waiter re-checks its own predicate")
    await credit_waits(wake_all=True)
    print("2. the same with notify(): the one waiter woken cannot proceed, the other sleeps on")
    await credit_waits(wake_all=False)
    print("3. Condition rules")
    await condition_rules()
    print("4. Barrier(3): swap the index only when all shards are loaded")
    await reindex(fail_shard=None)
    print("5. one shard fails and aborts the barrier")
    await reindex(fail_shard="shard-c")


if __name__ == "__main__":
    asyncio.run(main())
