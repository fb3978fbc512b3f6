"""The invoice export feed: paging, batching and retrying with coroutines.

The billing API returns invoices in pages behind a cursor. The exporter reads them as one
stream, sends them on in batches, and retries the calls that fail on flaky connections.
"""

import functools  # noqa: F401  (you will need it)
import inspect  # noqa: F401
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Coroutine
from contextlib import aclosing  # noqa: F401
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
    # TODO: start with cursor None; await fetch_page(cursor); yield each invoice of the page;
    #       stop after the page whose next_cursor is None, else follow next_cursor.
    raise NotImplementedError
    yield  # unreachable: makes this an async generator until you write it


async def batched(source: AsyncIterable[T], size: int) -> AsyncGenerator[list[T], None]:
    """Yield lists of `size` items from `source`; the last list may be shorter, never empty.

    Raise ValueError if `size` is below 1.
    """
    # TODO: check size first; collect items into a list and yield it when it is full;
    #       yield the leftover items at the end if there are any.
    raise NotImplementedError
    yield  # unreachable: makes this an async generator until you write it


async def first(source: AsyncGenerator[T, None], predicate: Callable[[T], bool]) -> T | None:
    """Return the first item of `source` for which `predicate` is true, or None.

    Whatever happens (a match, no match, an exception from `predicate`), `source` is closed
    before this returns, so its cleanup code runs now and not whenever the loop gets to it.
    """
    # TODO: contextlib.aclosing() closes an async generator when its block ends, however
    #       it ends. Inside it, iterate with async for and return the first match.
    raise NotImplementedError


async def overdue_total(source: AsyncIterable[Invoice], today: date) -> int:
    """Sum `total_cents` of the unpaid invoices whose due date is before `today`."""
    # TODO: one async comprehension, with a condition, inside sum().
    raise NotImplementedError


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
    # TODO: check attempts; return a decorator that checks inspect.iscoroutinefunction(func)
    #       and returns an async def wrapper (functools.wraps) that awaits a fresh
    #       func(*args, **kwargs) on every attempt, catching only retry_on.
    raise NotImplementedError
