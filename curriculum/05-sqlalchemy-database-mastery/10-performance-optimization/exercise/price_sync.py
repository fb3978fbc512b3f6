"""Nightly supplier price feed into PostgreSQL: batched upserts, one statement per batch.

The model and the result types are given. Write `batched()` and `sync_prices()`.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import CheckConstraint, Numeric, String
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
    # TODO: take `size` rows at a time from one iterator (itertools.islice) until it runs dry.
    raise NotImplementedError


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
    # TODO: validate batch_size.
    # TODO: build once: sqlalchemy.dialects.postgresql.insert(Price).on_conflict_do_update(...)
    #       whose WHERE skips rows that did not change, with RETURNING Price.revision.
    # TODO: for each batch: keep the last row per SKU; run the statement with the batch as a
    #       list of dicts; commit (roll back and re-raise on error), and add up the stats:
    #       revision 1 came back from an insert, a higher one from an update, and every row
    #       of the batch that came back not at all was unchanged.
    raise NotImplementedError
