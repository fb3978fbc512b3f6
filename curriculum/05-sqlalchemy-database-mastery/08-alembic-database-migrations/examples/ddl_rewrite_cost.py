"""What common migration operations cost PostgreSQL on a 100,000-row table.

Each operation runs through Alembic's Operations object (the `op` of a migration file) in its
own transaction. Before committing, the example reads whether PostgreSQL wrote a new copy of the
table (its relfilenode changed) and the strongest lock the transaction holds on it.
"""

import os
import time
from collections.abc import Callable

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.engine import Connection

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
TABLE = "s5_8_cost_invoices"
ROWS = 100_000
LOCK_STRENGTH = [  # PostgreSQL's table lock modes, weakest first
    "AccessShareLock",
    "RowShareLock",
    "RowExclusiveLock",
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
]

STEPS: list[tuple[str, Callable[[Operations], None]]] = [
    (
        "add nullable column",
        lambda op: op.add_column(TABLE, sa.Column("paid_at", sa.DateTime(timezone=True))),
    ),
    (
        "add NOT NULL column, constant default",
        lambda op: op.add_column(
            TABLE, sa.Column("currency", sa.String(3), nullable=False, server_default="EUR")
        ),
    ),
    (
        "add NOT NULL column, volatile default",
        lambda op: op.add_column(
            TABLE,
            sa.Column(
                "public_id", sa.Uuid(), nullable=False, server_default=sa.text("gen_random_uuid()")
            ),
        ),
    ),
    (
        "varchar(50) -> varchar(200)",
        lambda op: op.alter_column(
            TABLE, "note", type_=sa.String(200), existing_type=sa.String(50)
        ),
    ),
    (
        "numeric(12,2) -> numeric(14,2)",
        lambda op: op.alter_column(
            TABLE, "amount", type_=sa.Numeric(14, 2), existing_type=sa.Numeric(12, 2)
        ),
    ),
    (
        "integer -> bigint",
        lambda op: op.alter_column(
            TABLE, "customer_id", type_=sa.BigInteger(), existing_type=sa.Integer()
        ),
    ),
    (
        "SET NOT NULL on a filled column",
        lambda op: op.alter_column(TABLE, "note", nullable=False, existing_type=sa.String(200)),
    ),
    (
        "create index",
        lambda op: op.create_index("ix_s5_8_cost_invoices_customer_id", TABLE, ["customer_id"]),
    ),
    ("drop column", lambda op: op.drop_column(TABLE, "paid_at")),
]


def file_node(connection: Connection) -> int:
    query = sa.text("SELECT relfilenode FROM pg_class WHERE oid = CAST(:t AS regclass)")
    return int(connection.execute(query, {"t": TABLE}).scalar_one())


def strongest_lock(connection: Connection) -> str:
    query = sa.text(
        "SELECT mode FROM pg_locks WHERE relation = CAST(:t AS regclass) AND pid = pg_backend_pid()"
    )
    modes: list[str] = list(connection.scalars(query, {"t": TABLE}))
    return max(modes, key=LOCK_STRENGTH.index)


def main() -> None:
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP TABLE IF EXISTS {TABLE}"))
        connection.execute(
            sa.text(
                f"CREATE TABLE {TABLE} (id integer PRIMARY KEY, customer_id integer NOT NULL, "
                "amount numeric(12, 2) NOT NULL, note varchar(50))"
            )
        )
        connection.execute(
            sa.text(
                f"INSERT INTO {TABLE} SELECT g, g % 5000, (g % 1000) / 7.0, 'order ' || g "
                "FROM generate_series(1, :rows) AS g"
            ),
            {"rows": ROWS},
        )
    print(f"{ROWS:,} rows in {TABLE}")
    print(f"{'operation':38} {'rewrite':8} {'strongest lock held':26} {'time':>10}")
    try:
        for label, operation in STEPS:
            with engine.begin() as connection:
                op = Operations(MigrationContext.configure(connection))
                before = file_node(connection)
                started = time.perf_counter()
                operation(op)
                elapsed_ms = (time.perf_counter() - started) * 1000
                rewrote = "yes" if file_node(connection) != before else "no"
                lock = strongest_lock(connection)
            print(f"{label:38} {rewrote:8} {lock:26} {elapsed_ms:7.1f} ms")
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE IF EXISTS {TABLE}"))
        engine.dispose()


if __name__ == "__main__":
    main()
