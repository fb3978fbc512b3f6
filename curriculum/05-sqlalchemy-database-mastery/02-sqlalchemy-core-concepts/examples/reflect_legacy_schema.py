"""Reflect tables another team owns: read their structure from PostgreSQL, query and map them.

The warehouse tables are created with raw DDL, as a legacy application would have done;
this program only learns about them through reflection.
"""

import logging
import os
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session
from sqlalchemy.schema import CheckConstraint, Column, DefaultClause, MetaData, Table

DATABASE_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
log = logging.getLogger("warehouse")
LEGACY_DDL = """
DROP TABLE IF EXISTS s5_2_wh_moves, s5_2_wh_products CASCADE;
CREATE TABLE s5_2_wh_products (
    sku varchar(32) PRIMARY KEY,
    title text NOT NULL,
    unit_price numeric(10, 2) NOT NULL CHECK (unit_price >= 0),
    discontinued boolean NOT NULL DEFAULT false);
CREATE TABLE s5_2_wh_moves (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku varchar(32) NOT NULL REFERENCES s5_2_wh_products ON DELETE RESTRICT,
    quantity integer NOT NULL,
    moved_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ix_wh_moves_sku_moved_at ON s5_2_wh_moves (sku, moved_at);
INSERT INTO s5_2_wh_products VALUES ('KB-01', 'Keyboard', 49.00, false),
                                    ('MS-02', 'Mouse', 19.50, false);
INSERT INTO s5_2_wh_moves (sku, quantity) VALUES ('KB-01', 40), ('KB-01', -12), ('MS-02', 25);
"""


class Base(DeclarativeBase):
    pass


def server_default(col: Column[Any]) -> str:
    if col.identity is not None:
        return f"identity (always={col.identity.always})"
    return str(col.server_default.arg) if isinstance(col.server_default, DefaultClause) else "-"


def count_queries(engine: Engine, work: Callable[[], object]) -> tuple[int, float]:
    """Run work(); return how many statements it sent and how long it took, in ms."""
    sent: list[str] = []
    listener = lambda *args: sent.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    started = time.perf_counter()
    work()
    elapsed = (time.perf_counter() - started) * 1000
    event.remove(engine, "before_cursor_execute", listener)
    return len(sent), elapsed


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    engine = create_engine(DATABASE_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql(LEGACY_DDL)

    metadata = MetaData()
    names = ["s5_2_wh_products", "s5_2_wh_moves"]
    queries, _ = count_queries(engine, lambda: metadata.reflect(engine, only=names))
    log.info("reflected %d tables with %d catalog queries", len(metadata.tables), queries)
    for table in metadata.sorted_tables:  # parents before children, from the foreign keys
        log.info("%s  pk=%s", table.name, [c.name for c in table.primary_key])
        for col in table.columns:
            pg_type = col.type.compile(dialect=engine.dialect)
            log.info(
                "  %-12s %-24s null=%-5s %s", col.name, pg_type, col.nullable, server_default(col)
            )
        for fk in table.foreign_keys:
            log.info("  FK %s -> %s ON DELETE %s", fk.parent.name, fk.target_fullname, fk.ondelete)
        for index in table.indexes:
            log.info("  index %s %s", index.name, [c.name for c in index.columns])
        for check in (c for c in table.constraints if isinstance(c, CheckConstraint)):
            log.info("  CHECK %s: %s", check.name, check.sqltext)

    products, moves = metadata.tables["s5_2_wh_products"], metadata.tables["s5_2_wh_moves"]
    on_hand = (
        select(products.c.sku, func.sum(moves.c.quantity).label("on_hand"))
        .join(moves, moves.c.sku == products.c.sku)
        .group_by(products.c.sku)
        .order_by(products.c.sku)
    )
    with engine.connect() as conn:
        log.info("Core on reflected tables: %s", conn.execute(on_hand).all())

    class Product(Base):  # an ORM class on a reflected Table, typed where we care
        __table__ = products
        sku: Mapped[str]
        unit_price: Mapped[Decimal]

    with Session(engine) as session:
        cheapest = session.scalars(select(Product).order_by(Product.unit_price)).first()
        assert cheapest is not None
        log.info("ORM on a reflected table: %s at %s", cheapest.sku, cheapest.unit_price)

    bulk = [f"s5_2_wh_archive_{n:02d}" for n in range(20)]
    ddl = ";".join(f"DROP TABLE IF EXISTS {t}; CREATE TABLE {t} (id int PRIMARY KEY)" for t in bulk)
    with engine.begin() as conn:
        conn.exec_driver_sql(ddl)
    together = count_queries(engine, lambda: MetaData().reflect(engine, only=bulk))
    one_by_one = MetaData()
    separate = count_queries(
        engine, lambda: [Table(t, one_by_one, autoload_with=engine) for t in bulk]
    )
    for label, (n, ms) in [("MetaData.reflect", together), ("Table(autoload_with)", separate)]:
        print(f"20 tables via {label}: {n} queries, {ms:.0f} ms")

    with engine.begin() as conn:
        conn.exec_driver_sql(
            ";".join(f"DROP TABLE {t}" for t in [*bulk, "s5_2_wh_moves", "s5_2_wh_products"])
        )
    engine.dispose()


if __name__ == "__main__":
    main()
