"""Behavioural tests for price_sync.py, run against a real PostgreSQL."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from price_sync import Base, FeedRow, Price, SyncStats, batched, sync_prices
from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import Session

URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = create_engine(URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()


@contextmanager
def statements_sent(engine: Engine) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        sent.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def stored(engine: Engine) -> dict[str, tuple[Decimal, str, int]]:
    with Session(engine) as session:
        rows = session.execute(select(Price.sku, Price.amount, Price.currency, Price.revision))
        return {sku: (amount, currency, revision) for sku, amount, currency, revision in rows}


def feed(count: int, start: int = 0, amount: str = "9.99") -> list[FeedRow]:
    return [FeedRow(f"SKU-{n:04d}", Decimal(amount), "EUR") for n in range(start, start + count)]


def test_batched_splits_lazily_and_keeps_the_remainder() -> None:
    pulled: list[int] = []

    def rows() -> Iterator[FeedRow]:
        for row in feed(5):
            pulled.append(1)
            yield row

    batches = batched(rows(), 2)
    first = next(batches)
    assert [r.sku for r in first] == ["SKU-0000", "SKU-0001"]
    assert len(pulled) == 2, "batched() must not read ahead of the batch it is building"
    assert [len(b) for b in batches] == [2, 1], "the last, shorter batch must not be lost"


def test_it_inserts_a_new_feed_and_counts_batches(engine: Engine) -> None:
    with Session(engine) as session:
        stats = sync_prices(session, feed(7), batch_size=3)
    assert stats == SyncStats(inserted=7, updated=0, unchanged=0, batches=3), (
        f"7 new SKUs in batches of 3 are 3 batches of inserts (revision 1 comes back from "
        f"RETURNING for each); got {stats}"
    )
    assert len(stored(engine)) == 7
    assert {revision for _, _, revision in stored(engine).values()} == {1}


def test_it_sends_exactly_one_statement_per_batch_and_no_select(engine: Engine) -> None:
    with Session(engine) as session:
        sync_prices(session, feed(4), batch_size=4)
        with statements_sent(engine) as sent:
            sync_prices(session, feed(7, amount="10.50"), batch_size=3)
    assert len(sent) == 3, (
        f"7 rows in batches of 3 need 3 statements, one INSERT ... ON CONFLICT each; got "
        f"{len(sent)}: reading rows first or writing row by row multiplies round trips"
    )
    assert all(sql.startswith("INSERT") for sql in sent), "let ON CONFLICT decide, not a SELECT"
    assert all("ON CONFLICT" in sql for sql in sent)


def test_unchanged_rows_are_not_rewritten(engine: Engine) -> None:
    with Session(engine) as session:
        sync_prices(session, feed(3))
        stats = sync_prices(session, feed(3))
    assert stats == SyncStats(inserted=0, updated=0, unchanged=3, batches=1), (
        "a row that already holds the same amount and currency must be skipped by the "
        "ON CONFLICT ... WHERE clause, and counted as unchanged"
    )
    assert {revision for _, _, revision in stored(engine).values()} == {1}, (
        "rewriting an identical row bumps its revision and writes a new row version for nothing"
    )


def test_a_real_change_updates_values_and_increments_revision(engine: Engine) -> None:
    with Session(engine) as session:
        sync_prices(session, feed(3))
        changed = [
            FeedRow("SKU-0000", Decimal("12.00"), "EUR"),  # new amount
            FeedRow("SKU-0001", Decimal("9.99"), "USD"),  # new currency
            FeedRow("SKU-0002", Decimal("9.99"), "EUR"),  # same
            FeedRow("SKU-0003", Decimal("1.00"), "EUR"),  # new row
        ]
        stats = sync_prices(session, changed)
    assert stats == SyncStats(inserted=1, updated=2, unchanged=1, batches=1), (
        "a new amount and a new currency are both real changes (updated=2), the identical row "
        "is unchanged and the new SKU is inserted: the WHERE clause must compare every column "
        f"the feed carries; got {stats}"
    )
    assert stored(engine) == {
        "SKU-0000": (Decimal("12.00"), "EUR", 2),
        "SKU-0001": (Decimal("9.99"), "USD", 2),
        "SKU-0002": (Decimal("9.99"), "EUR", 1),
        "SKU-0003": (Decimal("1.00"), "EUR", 1),
    }


def test_the_last_row_for_a_sku_in_a_batch_wins(engine: Engine) -> None:
    rows = [
        FeedRow("SKU-A", Decimal("1.00"), "EUR"),
        FeedRow("SKU-B", Decimal("2.00"), "EUR"),
        FeedRow("SKU-A", Decimal("3.00"), "EUR"),
    ]
    with Session(engine) as session:
        try:
            stats = sync_prices(session, rows, batch_size=10)
        except ProgrammingError as exc:
            pytest.fail(
                "PostgreSQL refuses to let one INSERT ... ON CONFLICT DO UPDATE touch a row "
                f"twice: keep only the last row per SKU within a batch ({exc.orig})"
            )
    assert stats == SyncStats(inserted=2, updated=0, unchanged=0, batches=1), (
        f"two distinct SKUs in one batch are two inserts, and the duplicate is dropped; got {stats}"
    )
    assert stored(engine)["SKU-A"] == (Decimal("3.00"), "EUR", 1)


def test_each_batch_is_committed_before_the_next_is_read(engine: Engine) -> None:
    seen_committed: list[int] = []

    def streaming_feed() -> Iterator[FeedRow]:
        for n, row in enumerate(feed(6)):
            if n == 4:  # the first row of the third batch is being requested
                with Session(engine) as other:
                    seen_committed.append(
                        other.scalar(select(func.count()).select_from(Price)) or 0
                    )
            yield row

    with Session(engine) as session:
        sync_prices(session, streaming_feed(), batch_size=2)
    assert seen_committed == [4], (
        "when the feed is asked for row 5, batches 1 and 2 (4 rows) must already be committed "
        "and visible to another connection; reading the whole feed first, or committing once "
        f"at the end, gives another count (saw {seen_committed})"
    )


def test_a_failing_batch_keeps_earlier_batches_and_raises(engine: Engine) -> None:
    rows = [*feed(4), FeedRow("SKU-BAD", Decimal("-1.00"), "EUR"), *feed(1, start=10)]
    with Session(engine) as session, pytest.raises(IntegrityError):
        sync_prices(session, rows, batch_size=2)
    assert sorted(stored(engine)) == [f"SKU-{n:04d}" for n in range(4)], (
        "batches 1 and 2 must stay committed; batch 3 (the negative amount and SKU-0010) "
        "must be rolled back as a whole and the error must reach the caller"
    )


def test_an_empty_feed_sends_nothing(engine: Engine) -> None:
    with Session(engine) as session, statements_sent(engine) as sent:
        stats = sync_prices(session, iter([]))
    assert stats == SyncStats()
    assert sent == [], "an empty feed should not reach the database at all"


@pytest.mark.parametrize("size", [0, -5])
def test_a_batch_size_below_one_is_rejected(engine: Engine, size: int) -> None:
    with Session(engine) as session, pytest.raises(ValueError, match="batch_size"):
        sync_prices(session, feed(1), batch_size=size)
