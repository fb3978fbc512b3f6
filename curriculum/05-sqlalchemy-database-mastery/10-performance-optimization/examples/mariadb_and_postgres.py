"""The same batch job on MariaDB 10.11 (PyMySQL) and PostgreSQL 15 (psycopg 3).

Bulk inserts, upserts, streaming a large result while writing, and index limits. Counts
and errors are exact; milliseconds vary by machine and run.
"""

import logging
import os
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Index,
    String,
    create_engine,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

URLS = {
    "mariadb": os.environ.get(
        "PYMASTERY_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/pymastery_examples"
    ),
    "postgres": os.environ.get(
        "PYMASTERY_POSTGRES_URL",
        "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples",
    ),
}
ROWS = 2_000
log = logging.getLogger("mariadb_and_postgres")


class Base(DeclarativeBase):
    pass


class Shipment(Base):
    __tablename__ = "s5_10_shipments"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int]
    status: Mapped[str] = mapped_column(String(10))
    email: Mapped[str] = mapped_column(String(80))
    __table_args__ = (Index("ix_s5_10_shipments_tenant_status", "tenant_id", "status"),)


class Rate(Base):
    __tablename__ = "s5_10_rates"

    sku: Mapped[str] = mapped_column(String(20), primary_key=True)
    cents: Mapped[int]


def shipments() -> list[dict[str, Any]]:
    return [
        {"tenant_id": n % 20, "status": "new", "email": f"Buyer{n}@Example.com"}
        for n in range(ROWS)
    ]


def server_insert_count(session: Session) -> int:
    """MariaDB counts statements per session; PostgreSQL needs pg_stat_statements for that."""
    row = session.execute(text("SHOW SESSION STATUS LIKE 'Com_insert'")).one()
    return int(row[1])


def bulk_insert(name: str, engine: Engine) -> None:
    for returning in (False, True):
        with Session(engine) as session:
            session.execute(delete(Shipment))
            session.commit()
            before = server_insert_count(session) if name == "mariadb" else 0
            started = time.perf_counter()
            if returning:
                session.scalars(insert(Shipment).returning(Shipment.id), shipments()).all()
            else:
                session.execute(insert(Shipment), shipments())
            session.commit()
            elapsed = (time.perf_counter() - started) * 1000
            stored = session.scalar(select(func.count()).select_from(Shipment))
            if name == "mariadb":
                sent = f"{server_insert_count(session) - before} INSERT statement(s) run"
            else:
                sent = "insertmanyvalues" if returning else "pipelined executemany"
            label = "RETURNING id" if returning else "no RETURNING"
            print(f"   {label:<13} {stored} rows stored, {sent}, {elapsed:6.1f} ms")


def upsert(name: str, engine: Engine) -> None:
    incoming = [{"sku": "BOX-S", "cents": 450}, {"sku": "BOX-M", "cents": 700}]
    incoming.append({"sku": "BOX-L", "cents": 990})  # new
    with Session(engine) as session:
        session.execute(
            insert(Rate), [{"sku": "BOX-S", "cents": 450}, {"sku": "BOX-M", "cents": 650}]
        )
        if name == "postgres":
            pg = postgresql.insert(Rate).values(incoming)
            stmt: postgresql.Insert | mysql.Insert = pg.on_conflict_do_update(
                index_elements=[Rate.sku],
                set_={"cents": pg.excluded.cents},
                where=Rate.cents.is_distinct_from(pg.excluded.cents),  # skip unchanged rows
            )
        else:
            my = mysql.insert(Rate).values(incoming)
            stmt = my.on_duplicate_key_update(cents=my.inserted.cents)
        options = {"preserve_rowcount": True}  # INSERT rowcount is kept only when asked (2.0.28+)
        result = session.connection().execute(stmt, execution_options=options)
        session.commit()
        rates = session.execute(select(Rate.sku, Rate.cents).order_by(Rate.sku)).all()
    print(f"   rowcount {result.rowcount} for 1 unchanged, 1 changed, 1 new -> {rates}")


def stream_and_write(name: str, engine: Engine, commit_each_batch: bool = False) -> None:
    """Stream rows with yield_per and mark each batch processed on the same session."""
    with Session(engine) as session:
        session.execute(update(Shipment).values(status="new"))
        session.commit()
        seen = 0
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                stream = session.execute(
                    select(Shipment.id).order_by(Shipment.id).execution_options(yield_per=500)
                )
                for batch in stream.partitions():
                    seen += len(batch)
                    ids = [row.id for row in batch]
                    done = update(Shipment).where(Shipment.id.in_(ids)).values(status="done")
                    session.execute(done)
                    if commit_each_batch:
                        session.commit()
                session.commit()
            outcome = "; ".join(f"{w.category.__name__}: {w.message}" for w in caught) or "ok"
        except DBAPIError as exc:
            session.rollback()
            outcome = f"{type(exc.orig).__name__}: {str(exc.orig).splitlines()[0]}"
        done_count = session.scalar(
            select(func.count()).select_from(Shipment).where(Shipment.status == "done")
        )
    how = "commit per batch" if commit_each_batch else "one commit"
    print(f"   yield_per, {how:<16} read {seen:>4}, marked done {done_count:>4} | {outcome}")


def keyset_batches(name: str, engine: Engine) -> None:
    """The portable shape: each batch is its own short query and its own transaction."""
    with Session(engine) as session:
        session.execute(update(Shipment).values(status="new"))
        session.commit()
        last_id, batches = 0, 0
        while True:
            ids = session.scalars(
                select(Shipment.id).where(Shipment.id > last_id).order_by(Shipment.id).limit(500)
            ).all()
            if not ids:
                break
            session.execute(update(Shipment).where(Shipment.id.in_(ids)).values(status="done"))
            session.commit()  # locks released, progress durable, a crash resumes here
            last_id, batches = ids[-1], batches + 1
        done_count = session.scalar(
            select(func.count()).select_from(Shipment).where(Shipment.status == "done")
        )
    print(f"   keyset batches of 500: {batches} batches, marked done {done_count}")


def mariadb_plan(conn: Connection, where: str) -> dict[str, Any]:
    sql = f"EXPLAIN SELECT id FROM s5_10_shipments WHERE {where}"
    return dict(conn.exec_driver_sql(sql).mappings().one())


def index_notes(name: str, engine: Engine) -> None:
    with engine.connect() as conn:
        if name == "postgres":
            conn.exec_driver_sql("ANALYZE s5_10_shipments")  # as MariaDB's ANALYZE TABLE below
            sql = "EXPLAIN (COSTS OFF) SELECT id FROM s5_10_shipments WHERE tenant_id = 3"
            lines = conn.exec_driver_sql(f"{sql} AND status = 'done'").scalars().all()
            print(f"   (tenant_id, status) lookup: {' / '.join(line.strip() for line in lines)}")
            return
        conn.exec_driver_sql("ANALYZE TABLE s5_10_shipments")
        plan = mariadb_plan(conn, "tenant_id = 3 AND status = 'done'")
        print(f"   (tenant_id, status) lookup: key={plan['key']}, Extra={plan['Extra']!r}")
        try:
            conn.exec_driver_sql("CREATE INDEX ix_s5_10_lower ON s5_10_shipments ((lower(email)))")
        except DBAPIError as exc:
            print(f"   expression index: {str(exc.orig)[:60]}...")
        conn.exec_driver_sql(
            "ALTER TABLE s5_10_shipments ADD COLUMN email_lower VARCHAR(80)"
            " AS (lower(email)) VIRTUAL, ADD INDEX ix_s5_10_email_lower (email_lower)"
        )
        for where in (
            "lower(email) = 'buyer42@example.com'",
            "email_lower = 'buyer42@example.com'",
        ):
            print(f"   WHERE {where:<38} key={mariadb_plan(conn, where)['key']}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    steps: list[tuple[str, Callable[[str, Engine], None]]] = [
        (f"1. bulk insert {ROWS:,} rows with session.execute(insert(...), rows)", bulk_insert),
        ("2. upsert three rates", upsert),
        ("3. stream with yield_per, write on the same session", stream_and_write),
        ("   ... and commit after each batch", partial(stream_and_write, commit_each_batch=True)),
        ("   ... or keyset batches instead", keyset_batches),
        ("4. indexes", index_notes),
    ]
    engines = {name: create_engine(url) for name, url in URLS.items()}
    try:
        for engine in engines.values():
            Base.metadata.drop_all(engine)
            Base.metadata.create_all(engine)
        for title, step in steps:
            log.info(title)
            for name, engine in engines.items():
                print(f"  {name}:")
                step(name, engine)
    finally:
        for engine in engines.values():
            Base.metadata.drop_all(engine)
            engine.dispose()


if __name__ == "__main__":
    main()
