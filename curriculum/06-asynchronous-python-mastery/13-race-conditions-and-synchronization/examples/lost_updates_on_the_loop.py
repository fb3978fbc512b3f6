"""Races on one event loop: where tasks interleave, a check-then-act that oversells, asyncio.Lock.

Every schedule here is fixed by the event loop's rules, not by timing: the ready queue is FIFO,
a task runs until an await actually suspends it, and asyncio.sleep(0) suspends for exactly one
turn of the loop. The interleavings printed are therefore the same on every run, on any machine.
"""

import asyncio
import logging
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log %(name)s: %(message)s")
log = logging.getLogger("tickets")

PRICE_CENTS = 4_500


async def quote_price(event_id: str, seats: int) -> int:
    """Stand-in for the pricing service: it suspends once, as any network call does."""
    await asyncio.sleep(0)
    return PRICE_CENTS * seats


@dataclass
class TicketPool:
    event_id: str
    remaining: int
    sold: int = 0
    revenue_cents: int = 0
    trace: list[str] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def reserve_now(self, seats: int) -> bool:
        """Check and act with no await in between: nothing else can run in the gap."""
        if self.remaining < seats:
            return False
        self.remaining -= seats
        self.sold += seats
        return True

    async def reserve_racy(self, buyer: str, seats: int) -> bool:
        seen = self.remaining  # check ...
        self.trace.append(f"{buyer} read {seen}")
        if seen < seats:
            self.trace.append(f"{buyer} refused")
            return False
        await quote_price(self.event_id, seats)  # ... other tasks run here ...
        self.remaining = seen - seats  # ... and we act on what we saw before it
        self.sold += seats
        self.trace.append(f"{buyer} wrote {self.remaining}")
        return True

    async def reserve_locked(self, buyer: str, seats: int) -> bool:
        async with self.lock:  # the same code, with the check and the act inside one lock
            return await self.reserve_racy(buyer, seats)

    async def add_revenue(self, seats: int) -> None:
        # Reads self.revenue_cents BEFORE the await, adds after it: a hidden check-then-act.
        self.revenue_cents += await quote_price(self.event_id, seats)

    def audit(self, capacity: int) -> None:
        if self.sold > capacity:
            log.error("%s oversold: %d seats sold, capacity %d", self.event_id, self.sold, capacity)


class KeyedLocks:
    """One asyncio.Lock per key, created on first use and dropped when nobody holds or waits."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())  # no await: safe without a lock
        self._users[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key], self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


def buyers(n: int) -> list[str]:
    return [f"buyer-{i}" for i in range(1, n + 1)]


async def no_await_no_race() -> None:
    print("1. no await between check and act: 1,000 tasks, 600 seats")
    pool = TicketPool("opera-0412", remaining=600)

    async def buy() -> bool:
        return pool.reserve_now(1)

    results = await asyncio.gather(*(buy() for _ in range(1_000)))
    print(f"   confirmed {sum(results)}, remaining {pool.remaining}, sold {pool.sold}")


async def check_then_act_across_await() -> None:
    print("2. check, await, act: 5 buyers, 3 seats")
    pool = TicketPool("opera-0413", remaining=3)
    results = await asyncio.gather(*(pool.reserve_racy(b, 1) for b in buyers(5)))
    print("   " + " | ".join(pool.trace))
    print(f"   confirmed {sum(results)}, remaining {pool.remaining}, sold {pool.sold}")
    pool.audit(capacity=3)


async def hidden_read_in_augmented_assignment() -> None:
    print("3. `total += await f()` reads total before the await")
    pool = TicketPool("opera-0414", remaining=10)
    await asyncio.gather(*(pool.add_revenue(1) for _ in range(3)))
    print(f"   3 sales of {PRICE_CENTS} cents recorded as {pool.revenue_cents} cents")
    locked = TicketPool("opera-0414", remaining=10)

    async def add_after_await() -> None:
        price = await quote_price(locked.event_id, 1)  # await first, then update: no gap
        locked.revenue_cents += price

    await asyncio.gather(*(add_after_await() for _ in range(3)))
    print(f"   awaiting first, then adding: {locked.revenue_cents} cents")


async def same_schedule_with_a_lock() -> None:
    print("4. the same 5 buyers with asyncio.Lock around check and act")
    pool = TicketPool("opera-0415", remaining=3)
    results = await asyncio.gather(*(pool.reserve_locked(b, 1) for b in buyers(5)))
    print("   " + " | ".join(pool.trace))
    print(f"   confirmed {sum(results)}, remaining {pool.remaining}, sold {pool.sold}")
    pool.audit(capacity=3)


async def reserve_batch(per_event: bool) -> tuple[int, int, int]:
    """Three buyers for each of two events: (confirmed, peak quotes in flight, locks kept)."""
    pools = {e: TicketPool(e, remaining=2) for e in ("opera-0416", "ballet-0416")}
    global_lock = asyncio.Lock()
    keyed = KeyedLocks()
    in_quote = peak = 0

    async def reserve(event_id: str) -> bool:
        nonlocal in_quote, peak
        pool = pools[event_id]
        async with keyed.hold(event_id) if per_event else global_lock:
            if pool.remaining < 1:
                return False
            in_quote += 1
            peak = max(peak, in_quote)
            await quote_price(event_id, 1)
            in_quote -= 1
            return pool.reserve_now(1)

    results = await asyncio.gather(*(reserve(e) for _ in range(3) for e in pools))
    return sum(results), peak, len(keyed)


async def one_lock_per_event() -> None:
    print("5. one global lock against one lock per event (2 events, 3 buyers each)")
    confirmed, peak, _ = await reserve_batch(per_event=False)
    print(f"   global lock:     confirmed {confirmed}, peak quotes in flight {peak}")
    confirmed, peak, left = await reserve_batch(per_event=True)
    print(f"   per-event locks: confirmed {confirmed}, peak quotes in flight {peak}", end="")
    print(f", locks kept {left}")


async def main() -> None:
    await no_await_no_race()
    await check_then_act_across_await()
    await hidden_read_in_augmented_assignment()
    await same_schedule_with_a_lock()
    await one_lock_per_event()


if __name__ == "__main__":
    asyncio.run(main())
