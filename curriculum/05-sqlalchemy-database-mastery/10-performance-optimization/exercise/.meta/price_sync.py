"""Nightly supplier price feed into PostgreSQL: batched upserts, one statement per batch.

The model and the result types are given. Write `batched()` and `sync_prices()`.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice

from sqlalchemy import CheckConstraint, Numeric, String, or_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Price(Base):
    __tablename__ = "s5_10_ex_prices"
    __table_args__ = (CheckConstraint("amount >= 0", name="ck_s5_10_ex_prices_amount"),)

    sku: Mapped[str] = mapped_column(String(32), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))
    revision: Mapped[int] = mapped_column(server_default="1")  # +1 on every real change


@dataclass(frozen=True)
class FeedRow:
    sku: str
    amount: Decimal
    currency: str


@dataclass
class SyncStats:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    batches: int = 0


def batched(rows: Iterable[FeedRow], size: int) -> Iterator[list[FeedRow]]:
    """Yield lists of at most `size` rows, pulling from `rows` only as each list is needed.

    `itertools.batched` does this from Python 3.12 (yielding tuples); this project runs 3.11.
    """
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def sync_prices(session: Session, feed: Iterable[FeedRow], *, batch_size: int = 500) -> SyncStats:
    """Upsert the feed into `Price`, one INSERT ... ON CONFLICT statement per batch.

    - Raises ValueError if batch_size < 1.
    - Reads `feed` lazily and commits after every batch, so memory stays flat and a failure
      in batch N leaves batches 1..N-1 committed (the feed is idempotent: re-run it).
    - Within a batch, the last row for a SKU wins.
    - A row whose amount and currency already match is not rewritten: its revision stays.
      A real change sets the new values and increments revision.
    - Sends no SELECT: the statement itself decides between insert, update and no-op.
    - Returns counts of rows inserted, updated and left unchanged, and the number of batches.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    # Built once: executed with a list of dicts, SQLAlchemy compiles it once, caches it, and
    # renders each batch as one multi-row INSERT (insertmanyvalues, up to 1,000 rows a page).
    # insert(Price).values(rows) would work too, but carries its data and compiles every batch.
    proposed = insert(Price)
    upsert = proposed.on_conflict_do_update(
        index_elements=[Price.sku],
        set_={
            "amount": proposed.excluded.amount,
            "currency": proposed.excluded.currency,
            "revision": Price.revision + 1,
        },
        where=or_(  # unchanged rows are skipped, so RETURNING leaves them out
            Price.amount.is_distinct_from(proposed.excluded.amount),
            Price.currency.is_distinct_from(proposed.excluded.currency),
        ),
    ).returning(Price.revision)
    stats = SyncStats()
    for batch in batched(feed, batch_size):
        # ON CONFLICT DO UPDATE may touch each row once per statement: keep the last per SKU.
        latest = {row.sku: row for row in batch}
        values = [
            {"sku": row.sku, "amount": row.amount, "currency": row.currency}
            for row in latest.values()
        ]
        try:
            revisions = session.scalars(upsert, values).all()
            session.commit()
        except Exception:
            session.rollback()
            raise
        inserted = sum(1 for revision in revisions if revision == 1)
        stats.inserted += inserted
        stats.updated += len(revisions) - inserted
        stats.unchanged += len(values) - len(revisions)
        stats.batches += 1
    return stats
