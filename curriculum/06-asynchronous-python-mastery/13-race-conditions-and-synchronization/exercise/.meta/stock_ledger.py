"""Stock reservations for a warehouse service on asyncio that never oversell.

Stock levels live in a store that every call has to await (Redis or PostgreSQL in production,
a fake in the tests), so reading a level and writing the new one are two awaits apart.
"""

import asyncio
from typing import Protocol


class LevelStore(Protocol):
    """Where stock levels live. Both methods suspend, like any network call.

    read() raises KeyError for an unknown SKU; write() may raise ConnectionError.
    """

    async def read(self, sku: str) -> int: ...

    async def write(self, sku: str, level: int) -> None: ...


class StockLedger:
    def __init__(self, store: LevelStore) -> None:
        self.store = store
        # One Condition per SKU: its lock makes read-then-write atomic for that SKU only,
        # and its wait()/notify_all() let orders sleep until a restock.
        self._conditions: dict[str, asyncio.Condition] = {}

    def _condition(self, sku: str) -> asyncio.Condition:
        return self._conditions.setdefault(sku, asyncio.Condition())

    async def _take(self, sku: str, qty: int) -> bool:
        """Read, check, write. Only ever called with the SKU's condition held."""
        level = await self.store.read(sku)
        if level < qty:
            return False
        await self.store.write(sku, level - qty)
        return True

    async def reserve(self, sku: str, qty: int) -> bool:
        """Take `qty` units of `sku` if that many are available; return whether it did.

        Raises ValueError if qty < 1. Concurrent calls for the same SKU never oversell;
        calls for different SKUs do not wait for each other.
        """
        _check_quantity(qty)
        async with self._condition(sku):
            return await self._take(sku, qty)

    async def restock(self, sku: str, qty: int) -> int:
        """Add `qty` units, wake the orders waiting for this SKU, return the new level."""
        _check_quantity(qty)
        condition = self._condition(sku)
        async with condition:
            level = await self.store.read(sku) + qty
            await self.store.write(sku, level)
            condition.notify_all()
            return level

    async def reserve_when_available(self, sku: str, qty: int, timeout: float) -> bool:
        """Like reserve(), but wait for restocks while there is not enough stock.

        Returns False, having taken nothing, if `timeout` seconds pass first. While it waits,
        other calls for the same SKU go ahead.
        """
        _check_quantity(qty)
        condition = self._condition(sku)
        try:
            async with asyncio.timeout(timeout), condition:
                while not await self._take(sku, qty):
                    await condition.wait()  # releases the lock until a notify
                return True
        except TimeoutError:
            return False

    def restock_from_thread(
        self, loop: asyncio.AbstractEventLoop, sku: str, qty: int, timeout: float = 5.0
    ) -> int:
        """For the scanner SDK's own thread: run restock() on `loop`, return the new level.

        Raises RuntimeError when called on the loop's own thread, where waiting for the
        result would block the loop that has to produce it.
        """
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError(
                "restock_from_thread() was called on the event loop's thread; await restock()"
            )
        future = asyncio.run_coroutine_threadsafe(self.restock(sku, qty), loop)
        return future.result(timeout)


def _check_quantity(qty: int) -> None:
    if qty < 1:
        raise ValueError(f"quantity must be at least 1, got {qty}")
