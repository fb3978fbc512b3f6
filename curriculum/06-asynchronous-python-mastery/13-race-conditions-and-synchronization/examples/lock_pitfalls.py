"""Two ways a correct lock still hurts: held across a slow await, and taken in two orders.

A tenant wallet records payments: a read-modify-write of the balance that must be atomic, plus
an audit-log write that is slow and does not need the lock. Then two transfers take the same
two account locks in opposite orders. Timings vary with the machine and are printed for
information; the counts and the deadlock are fixed by construction.
"""

import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log %(name)s: %(message)s")
log = logging.getLogger("wallet")

SAVE_S = 0.005  # the balance write
AUDIT_S = 0.05  # the audit-log write: ten times slower, and nothing depends on it


class Wallet:
    def __init__(self, balance_cents: int) -> None:
        self.balance_cents = balance_cents
        self.lock = asyncio.Lock()
        self.audits_in_flight = 0
        self.peak_audits = 0

    async def _save(self, balance: int) -> None:
        await asyncio.sleep(SAVE_S)
        self.balance_cents = balance

    async def _audit(self, invoice: str, amount: int) -> None:
        self.audits_in_flight += 1
        self.peak_audits = max(self.peak_audits, self.audits_in_flight)
        await asyncio.sleep(AUDIT_S)
        self.audits_in_flight -= 1

    async def pay_wide(self, invoice: str, amount: int) -> None:
        async with self.lock:  # everything inside, including the slow audit write
            balance = self.balance_cents
            await self._audit(invoice, amount)
            await self._save(balance - amount)

    async def pay_narrow(self, invoice: str, amount: int) -> None:
        async with self.lock:  # only the read-modify-write that must be atomic
            balance = self.balance_cents
            await self._save(balance - amount)
        await self._audit(invoice, amount)


async def lock_scope(pay: Callable[[Wallet, str, int], Awaitable[None]]) -> tuple[Wallet, float]:
    wallet = Wallet(balance_cents=100_000)
    started = time.perf_counter()
    await asyncio.gather(*(pay(wallet, f"INV-{n}", 1_000) for n in range(8)))
    return wallet, time.perf_counter() - started


async def transfer(locks: dict[str, asyncio.Lock], src: str, dst: str, *, ordered: bool) -> str:
    first, second = sorted((src, dst)) if ordered else (src, dst)
    async with locks[first]:
        await asyncio.sleep(0)  # any await here (a read, a log call) lets the other transfer in
        async with locks[second]:
            return f"{src}->{dst} done"


async def transfers(ordered: bool) -> None:
    locks = {"acct-A": asyncio.Lock(), "acct-B": asyncio.Lock()}
    jobs = {
        "transfer-1": asyncio.create_task(transfer(locks, "acct-A", "acct-B", ordered=ordered)),
        "transfer-2": asyncio.create_task(transfer(locks, "acct-B", "acct-A", ordered=ordered)),
    }
    _, pending = await asyncio.wait(jobs.values(), timeout=0.5)
    if pending:
        states = ", ".join(
            f"{name} {'locked' if lock.locked() else 'free'}" for name, lock in locks.items()
        )
        log.error("%d transfers stuck after 0.5 s; %s", len(pending), states)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        free = all(not lock.locked() for lock in locks.values())
        print(f"   cancelled both; async with released every lock: {free}")
    else:
        print(f"   {[task.result() for task in jobs.values()]}")


async def main() -> None:
    print("1. eight payments on one wallet; audit write 50 ms, balance write 5 ms")
    wallet, wide = await lock_scope(Wallet.pay_wide)
    print(
        f"   audit inside the lock:  peak audits in flight {wallet.peak_audits}, "
        f"balance {wallet.balance_cents}, took {wide:.2f} s"
    )
    wallet, narrow = await lock_scope(Wallet.pay_narrow)
    print(
        f"   audit after the lock:   peak audits in flight {wallet.peak_audits}, "
        f"balance {wallet.balance_cents}, took {narrow:.2f} s"
    )
    print("2. A->B and B->A, each taking its source account's lock first")
    await transfers(ordered=False)
    print("3. the same transfers, both taking the locks in sorted order")
    await transfers(ordered=True)


if __name__ == "__main__":
    asyncio.run(main())
