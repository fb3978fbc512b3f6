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
        # TODO: the per-SKU synchronization state you need (created lazily, one per SKU).

    async def reserve(self, sku: str, qty: int) -> bool:
        """Take `qty` units of `sku` if that many are available; return whether it did.

        Raises ValueError if qty < 1. Concurrent calls for the same SKU never oversell;
        calls for different SKUs do not wait for each other.
        """
        # TODO: read the level, check it, write level - qty; make the three steps atomic
        # per SKU, and make sure an exception from the store cannot leave anything locked.
        raise NotImplementedError

    async def restock(self, sku: str, qty: int) -> int:
        """Add `qty` units, wake the orders waiting for this SKU, return the new level."""
        # TODO: ValueError if qty < 1; read + write under the SKU's lock; wake the waiters.
        raise NotImplementedError

    async def reserve_when_available(self, sku: str, qty: int, timeout: float) -> bool:
        """Like reserve(), but wait for restocks while there is not enough stock.

        Returns False, having taken nothing, if `timeout` seconds pass first. While it waits,
        other calls for the same SKU go ahead.
        """
        # TODO: ValueError if qty < 1; try to take; if there is not enough, sleep until a
        # restock wakes you, then check again; give up with False after `timeout` seconds.
        raise NotImplementedError

    def restock_from_thread(
        self, loop: asyncio.AbstractEventLoop, sku: str, qty: int, timeout: float = 5.0
    ) -> int:
        """For the scanner SDK's own thread: run restock() on `loop`, return the new level.

        Raises RuntimeError when called on the loop's own thread, where waiting for the
        result would block the loop that has to produce it.
        """
        # TODO: hand restock() to the loop from this thread and wait for its result.
        raise NotImplementedError
