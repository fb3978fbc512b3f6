"""What a missing index on a foreign key column costs when parent rows are deleted."""

import os
import statistics
import time

from sqlalchemy import ForeignKey, Index, create_engine, delete, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.schema import AddConstraint, DropConstraint

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
CUSTOMERS, INVOICES_PER_CUSTOMER, DELETES = 2_000, 100, 20


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_3_perf_customers"
    id: Mapped[int] = mapped_column(primary_key=True)


class Invoice(Base):
    __tablename__ = "s5_3_perf_invoices"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Deliberately no index=True: PostgreSQL does not index referencing columns by itself.
    customer_id: Mapped[int] = mapped_column(
        ForeignKey(
            "s5_3_perf_customers.id", ondelete="CASCADE", name="fk_s5_3_perf_invoices_customer"
        )
    )


def unindexed_foreign_keys(engine: Engine, table: str) -> list[list[str]]:
    """FK column lists of `table` that are not the leading columns of any index or the PK."""
    insp = inspect(engine)
    covered: list[list[str | None]] = [ix["column_names"] for ix in insp.get_indexes(table)]
    covered.append(list(insp.get_pk_constraint(table)["constrained_columns"]))
    missing = []
    for fk in insp.get_foreign_keys(table):
        columns = fk["constrained_columns"]
        if not any(index_cols[: len(columns)] == columns for index_cols in covered):
            missing.append(columns)
    return missing


def time_deletes(engine: Engine, first_id: int) -> float:
    """Delete DELETES customers one statement at a time; return the median in milliseconds."""
    timings = []
    with engine.begin() as conn:
        for customer_id in range(first_id, first_id + DELETES):
            started = time.perf_counter()
            conn.execute(delete(Customer).where(Customer.id == customer_id))
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def plan(engine: Engine) -> str:
    with engine.connect() as conn:
        rows = conn.execute(
            text("EXPLAIN (COSTS OFF) SELECT id FROM s5_3_perf_invoices WHERE customer_id = 1500")
        )
        return "\n".join(f"   {line}" for (line,) in rows)


def load_invoices(conn: Connection, first: int, last: int) -> float:
    """Insert INVOICES_PER_CUSTOMER invoices for customers first..last; return seconds taken."""
    started = time.perf_counter()
    conn.execute(
        text(
            "INSERT INTO s5_3_perf_invoices (customer_id) "
            "SELECT c FROM generate_series(CAST(:first AS int), CAST(:last AS int)) AS c, "
            "generate_series(1, CAST(:k AS int))"
        ),
        {"first": first, "last": last, "k": INVOICES_PER_CUSTOMER},
    )
    return time.perf_counter() - started


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    fk = next(iter(Base.metadata.tables[Invoice.__tablename__].foreign_key_constraints))
    try:
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO s5_3_perf_customers (id) SELECT generate_series(1, :n)"),
                {"n": CUSTOMERS},
            )
            checked = load_invoices(conn, 1, 200)  # 20,000 rows, one FK check per row
            conn.execute(DropConstraint(fk))
            unchecked = load_invoices(conn, 201, CUSTOMERS)  # 180,000 rows, no FK
            started = time.perf_counter()
            conn.execute(AddConstraint(fk))  # validates every row in one pass
            validate = time.perf_counter() - started
            conn.execute(text("ANALYZE s5_3_perf_customers, s5_3_perf_invoices"))
        print(f"{CUSTOMERS:,} customers, {CUSTOMERS * INVOICES_PER_CUSTOMER:,} invoices")
        print(f"bulk load with the FK in place: {checked / 20_000 * 1e6:.1f} us/row")
        print(f"bulk load without it:           {unchecked / 180_000 * 1e6:.1f} us/row")
        print(f"ADD CONSTRAINT afterwards:      {validate * 1000:.0f} ms for all rows")

        print("unindexed foreign keys:", unindexed_foreign_keys(engine, Invoice.__tablename__))
        print("plan for 'invoices of customer 1500':")
        print(plan(engine))
        without = time_deletes(engine, first_id=1)

        Index("ix_s5_3_perf_invoices_customer_id", Invoice.customer_id).create(engine)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE s5_3_perf_invoices"))
        fks = unindexed_foreign_keys(engine, Invoice.__tablename__)
        print("after CREATE INDEX, unindexed foreign keys:", fks)
        print(plan(engine))
        with_index = time_deletes(engine, first_id=1 + DELETES)

        print(f"median DELETE of one customer, no index on customer_id: {without:.2f} ms")
        print(f"median DELETE of one customer, with the index:          {with_index:.2f} ms")
        print(f"speed-up: {without / with_index:.0f}x")
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
