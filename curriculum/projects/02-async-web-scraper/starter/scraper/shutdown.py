"""Graceful shutdown: interrupt what is waiting, let what is working finish.

A crawler task is always in one of two states. Either it is *waiting* (for a URL to fetch, for
its turn at a host's gate, or out a backoff) and holds nothing that could be lost, or it is
*working*: between sending a request and handing the result to the writer. A shutdown
request cancels every waiting task at once and lets the working ones finish, so that every
response the scraper received is stored, and no request starts after the signal.

Tasks mark their waits with `await shutdown.waiting(...)`; everything else is work.
"""

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class Shutdown:
    def __init__(self) -> None:
        self.requested = False
        self.event = asyncio.Event()
        self._waiting: set[asyncio.Task[object]] = set()

    async def waiting(self, awaitable: Coroutine[Any, Any, T]) -> T:
        """Await something that may be abandoned on shutdown.

        Cancelled when shutdown is requested during the wait; raises CancelledError at once
        if it was requested before, so that no task starts waiting for new work.
        """
        # TODO: if already requested, close() the coroutine (or Python warns that it was
        # never awaited) and raise asyncio.CancelledError. Otherwise remember the current
        # task in _waiting for the length of the await (try/finally).
        raise NotImplementedError("TODO: Shutdown.waiting")

    def request(self) -> None:
        """Stop starting work and cancel every task that is only waiting (idempotent)."""
        raise NotImplementedError("TODO: Shutdown.request")
