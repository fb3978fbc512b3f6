"""Where transactions begin and end, read from the SQL log: commit as you go, begin once, SAVEPOINT.

The engine log line "BEGIN (implicit)" is SQLAlchemy noting that the driver will open a
transaction with the next statement; COMMIT and ROLLBACK are the real calls.
"""

import logging
import os
import sys

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.exc import IntegrityError, InternalError

DATABASE_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
log = logging.getLogger("ledger")
sql_log = logging.getLogger("sqlalchemy.engine")

metadata = MetaData()
ledger = Table(
    "s5_2_ledger_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("reference", String(30), nullable=False, unique=True),
    Column("amount_cents", Integer, nullable=False),
)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s | %(message)s", stream=sys.stdout)
    engine = create_engine(DATABASE_URL)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    sql_log.setLevel(logging.INFO)

    log.info("1. commit as you go: engine.connect(), then commit() when you decide")
    with engine.connect() as conn:
        conn.execute(insert(ledger).values(reference="INV-1", amount_cents=12_000))
        conn.commit()
        conn.execute(insert(ledger).values(reference="INV-2", amount_cents=4_500))
    # No commit for INV-2: leaving the block rolled it back.

    log.info("2. begin once: engine.begin() commits on success, rolls back on an exception")
    try:
        with engine.begin() as conn:
            conn.execute(insert(ledger).values(reference="INV-3", amount_cents=990))
            raise RuntimeError("payment provider timed out")
    except RuntimeError as exc:
        log.warning("transfer abandoned: %s", exc)

    log.info("3. SAVEPOINT per row: one bad row does not sink the batch")
    batch = [("INV-4", 2_500), ("INV-1", 100), ("INV-5", 7_300)]  # INV-1 already exists
    with engine.begin() as conn:
        for reference, cents in batch:
            try:
                with conn.begin_nested():
                    conn.execute(insert(ledger).values(reference=reference, amount_cents=cents))
            except IntegrityError as exc:
                log.warning("skipped %s: %s", reference, exc.orig.__class__.__name__)

    sql_log.setLevel(logging.WARNING)
    log.info("4. the same batch without SAVEPOINTs: the first error poisons the transaction")
    with engine.connect() as conn:
        for reference, cents in [("INV-1", 100), ("INV-6", 800)]:
            try:
                conn.execute(insert(ledger).values(reference=reference, amount_cents=cents))
            except IntegrityError as exc:
                log.warning("skipped %s: %s", reference, exc.orig.__class__.__name__)
            except InternalError as exc:  # psycopg's InFailedSqlTransaction
                log.error("%s failed: %s", reference, str(exc.orig).strip())
        conn.rollback()

    with engine.connect() as conn:
        refs = conn.execute(select(ledger.c.reference).order_by(ledger.c.id)).scalars().all()
    log.info("committed rows: %d %s", len(refs), refs)
    metadata.drop_all(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
