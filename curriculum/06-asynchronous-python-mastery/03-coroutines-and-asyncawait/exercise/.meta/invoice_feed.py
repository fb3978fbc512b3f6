"""The invoice export feed: paging, batching and retrying with coroutines.

The billing API returns invoices in pages behind a cursor. The exporter reads them as one
stream, sends them on in batches, and retries the calls that fail on flaky connections.
"""

import functools
import inspect
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Coroutine
from contextlib import aclosing
from dataclasses import dataclass
from datetime import date
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


@dataclass(frozen=True)
class Invoice:
    number: str
    total_cents: int
    due: date
    paid: bool = False


@dataclass(frozen=True)
class Page:
    invoices: list[Invoice]
    next_cursor: str | None  # None on the last page


FetchPage = Callable[[str | None], Awaitable[Page]]
AsyncFunction = Callable[P, Coroutine[Any, Any, R]]


async def iter_invoices(fetch_page: FetchPage) -> AsyncGenerator[Invoice, None]:
    """Yield every invoice in order, fetching each page only when the consumer needs it.

    The first page is `await fetch_page(None)`; each later one is `await fetch_page(cursor)`
    with the previous page's `next_cursor`, until a page's `next_cursor` is None. Pages may
    be empty and still carry a cursor.
    """
    cursor: str | None = None
    while True:
        page = await fetch_page(cursor)
        for invoice in page.invoices:
            yield invoice
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def batched(source: AsyncIterable[T], size: int) -> AsyncGenerator[list[T], None]:
    """Yield lists of `size` items from `source`; the last list may be shorter, never empty.

    Raise ValueError if `size` is below 1.
    """
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    batch: list[T] = []
    async for item in source:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def first(source: AsyncGenerator[T, None], predicate: Callable[[T], bool]) -> T | None:
    """Return the first item of `source` for which `predicate` is true, or None.

    Whatever happens (a match, no match, an exception from `predicate`), `source` is closed
    before this returns, so its cleanup code runs now and not whenever the loop gets to it.
    """
    async with aclosing(source):
        async for item in source:
            if predicate(item):
                return item
    return None


async def overdue_total(source: AsyncIterable[Invoice], today: date) -> int:
    """Sum `total_cents` of the unpaid invoices whose due date is before `today`."""
    return sum([inv.total_cents async for inv in source if not inv.paid and inv.due < today])


def retrying(
    attempts: int, retry_on: tuple[type[Exception], ...]
) -> Callable[[AsyncFunction[P, R]], AsyncFunction[P, R]]:
    """Decorate a coroutine function so that failures in `retry_on` are retried.

    The function is called (and awaited) up to `attempts` times in all; after the last
    attempt its exception propagates. Other exceptions propagate at once. The decorated
    object is still a coroutine function with the original's name.
    Raise ValueError if `attempts` is below 1, and TypeError (when decorating) if the
    decorated function is not a coroutine function.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")

    def decorate(func: AsyncFunction[P, R]) -> AsyncFunction[P, R]:
        if not inspect.iscoroutinefunction(func):
            raise TypeError(f"{func!r} is not a coroutine function; use it with async def")

        @functools.wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for attempt in range(1, attempts + 1):
                try:
                    return await func(*args, **kwargs)
                except retry_on:
                    if attempt == attempts:
                        raise
            raise AssertionError("unreachable: the loop returns or raises")

        return wrapper

    return decorate
