import asyncio
import inspect
from collections.abc import AsyncGenerator, Callable, Coroutine
from datetime import date
from typing import Any

import pytest
from invoice_feed import Invoice, Page, batched, first, iter_invoices, overdue_total, retrying

TODAY = date(2025, 3, 31)


def invoice(number: str, cents: int = 1_000, due: date = TODAY, paid: bool = False) -> Invoice:
    return Invoice(number=number, total_cents=cents, due=due, paid=paid)


class BillingApi:
    """A fake paginated API that records the cursors it was asked for."""

    def __init__(self, pages: dict[str | None, Page]) -> None:
        self.pages = pages
        self.requested: list[str | None] = []

    async def fetch_page(self, cursor: str | None) -> Page:
        self.requested.append(cursor)
        await asyncio.sleep(0)  # real I/O would suspend here
        return self.pages[cursor]


def three_pages() -> BillingApi:
    return BillingApi(
        {
            None: Page([invoice("INV-1"), invoice("INV-2")], "c2"),
            "c2": Page([invoice("INV-3"), invoice("INV-4")], "c3"),
            "c3": Page([invoice("INV-5")], None),
        }
    )


async def items_of(count: int, closed: list[str]) -> AsyncGenerator[int, None]:
    """An async generator of 1..count that records when its cleanup runs."""
    try:
        for n in range(1, count + 1):
            await asyncio.sleep(0)
            yield n
    finally:
        closed.append("closed")


async def collect(source: Any) -> list[Any]:
    return [item async for item in source]


def test_iter_invoices_follows_the_cursors_until_the_last_page() -> None:
    api = three_pages()
    numbers = [inv.number for inv in asyncio.run(collect(iter_invoices(api.fetch_page)))]
    assert numbers == ["INV-1", "INV-2", "INV-3", "INV-4", "INV-5"], (
        "every invoice of every page, in page order"
    )
    assert api.requested == [None, "c2", "c3"], (
        "the first page is fetch_page(None), then each page's next_cursor; none after None"
    )


def test_iter_invoices_fetches_a_page_only_when_the_consumer_needs_it() -> None:
    api = three_pages()

    async def scenario() -> list[int]:
        feed = iter_invoices(api.fetch_page)
        seen = [len(api.requested)]  # before the first item: nothing may be fetched yet
        await anext(feed)
        await anext(feed)
        seen.append(len(api.requested))  # both invoices of page 1 consumed: still one page
        await anext(feed)
        seen.append(len(api.requested))  # the third invoice needs page 2
        await feed.aclose()
        return seen

    assert asyncio.run(scenario()) == [0, 1, 2], (
        "creating the generator fetches nothing; the next page is fetched only when the "
        "consumer asks for an invoice beyond the current page"
    )


def test_iter_invoices_passes_over_empty_pages_that_carry_a_cursor() -> None:
    api = BillingApi(
        {
            None: Page([], "c2"),
            "c2": Page([], "c3"),
            "c3": Page([invoice("INV-9")], None),
        }
    )
    numbers = [inv.number for inv in asyncio.run(collect(iter_invoices(api.fetch_page)))]
    assert numbers == ["INV-9"], "an empty page is not the end while it has a next_cursor"


def test_batched_groups_items_and_keeps_the_short_last_batch() -> None:
    closed: list[str] = []
    batches = asyncio.run(collect(batched(items_of(7, closed), 3)))
    assert batches == [[1, 2, 3], [4, 5, 6], [7]], "full batches of 3, then the 1 left over"
    assert asyncio.run(collect(batched(items_of(6, closed), 3))) == [[1, 2, 3], [4, 5, 6]], (
        "when the items divide evenly there is no trailing empty batch"
    )
    assert asyncio.run(collect(batched(items_of(0, closed), 3))) == [], (
        "an empty source yields no batches at all, not one empty list"
    )


def test_batched_refuses_a_size_below_one() -> None:
    with pytest.raises(ValueError):
        asyncio.run(collect(batched(items_of(3, []), 0)))


def test_first_returns_the_match_and_closes_the_source_at_once() -> None:
    closed: list[str] = []

    async def scenario() -> tuple[int | None, list[str]]:
        found = await first(items_of(100, closed), lambda n: n % 4 == 0)
        return found, list(closed)  # checked before any other await can run a finalizer

    found, closed_when_returned = asyncio.run(scenario())
    assert found == 4, "the first item for which the predicate is true"
    assert closed_when_returned == ["closed"], (
        "the source's finally block must have run by the time first() returns: use "
        "contextlib.aclosing(), or the loop closes the generator later, at its own pace"
    )


def test_first_returns_none_and_closes_the_source_when_nothing_matches() -> None:
    closed: list[str] = []

    async def scenario() -> int | None:
        return await first(items_of(5, closed), lambda n: n > 10)

    found = asyncio.run(scenario())
    assert found is None, "no match returns None rather than raising"
    assert closed == ["closed"], "an exhausted source is closed too"


def test_first_closes_the_source_when_the_predicate_raises() -> None:
    closed: list[str] = []

    def predicate(n: int) -> bool:
        if n == 2:
            raise KeyError("tenant missing from the rate table")
        return False

    async def scenario() -> list[str]:
        with pytest.raises(KeyError):
            await first(items_of(10, closed), predicate)
        return list(closed)

    assert asyncio.run(scenario()) == ["closed"], (
        "the exception propagates, and the source's cleanup has already run"
    )


def test_overdue_total_counts_only_unpaid_invoices_past_their_due_date() -> None:
    invoices = [
        invoice("INV-1", 1_000, due=date(2025, 3, 1)),
        invoice("INV-2", 2_000, due=date(2025, 3, 1), paid=True),
        invoice("INV-3", 4_000, due=TODAY),
        invoice("INV-4", 8_000, due=date(2025, 3, 30)),
    ]
    api = BillingApi({None: Page(invoices[:2], "c2"), "c2": Page(invoices[2:], None)})
    total = asyncio.run(overdue_total(iter_invoices(api.fetch_page), TODAY))
    assert total == 9_000, (
        "INV-1 and INV-4 are overdue; INV-2 is paid and INV-3 is due today, not before it"
    )


def flaky(
    failures: int, error: Exception
) -> tuple[Callable[[str], Coroutine[Any, Any, str]], list[str]]:
    calls: list[str] = []

    async def push_invoice(number: str) -> str:
        calls.append(number)
        await asyncio.sleep(0)
        if len(calls) <= failures:
            raise error
        return f"accepted {number}"

    return push_invoice, calls


def test_retrying_awaits_a_fresh_call_for_every_attempt() -> None:
    push, calls = flaky(2, ConnectionError("reset by peer"))
    wrapped = retrying(3, (ConnectionError,))(push)
    assert asyncio.run(wrapped("INV-1")) == "accepted INV-1", "the third attempt succeeds"
    assert calls == ["INV-1"] * 3, (
        "the function is called again, with the same arguments, for each attempt; a "
        "coroutine object cannot be awaited twice"
    )


def test_retrying_raises_the_last_error_after_the_last_attempt() -> None:
    push, calls = flaky(5, ConnectionError("reset by peer"))
    wrapped = retrying(2, (ConnectionError,))(push)
    with pytest.raises(ConnectionError):
        asyncio.run(wrapped("INV-1"))
    assert len(calls) == 2, "attempts=2 means two calls in all, then the error propagates"


def test_retrying_lets_other_exceptions_through_at_once() -> None:
    push, calls = flaky(5, PermissionError("invoice locked"))
    wrapped = retrying(3, (ConnectionError,))(push)
    with pytest.raises(PermissionError):
        asyncio.run(wrapped("INV-1"))
    assert len(calls) == 1, "an error outside retry_on is not retried"


def test_retrying_keeps_a_coroutine_function_with_its_name() -> None:
    push, _ = flaky(0, ConnectionError())
    wrapped = retrying(3, (ConnectionError,))(push)
    assert inspect.iscoroutinefunction(wrapped), (
        "the wrapper must be an async def, so frameworks that check iscoroutinefunction() "
        "still await it"
    )
    assert wrapped.__name__ == "push_invoice", "functools.wraps keeps the name for logs"


def test_retrying_refuses_a_plain_function() -> None:
    def export_csv(number: str) -> str:
        return number

    with pytest.raises(TypeError):
        retrying(3, (ConnectionError,))(export_csv)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        retrying(0, (ConnectionError,))
