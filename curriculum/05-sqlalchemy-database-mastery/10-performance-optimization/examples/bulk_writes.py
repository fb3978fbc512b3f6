"""Seven ways to insert and six ways to update the same 1,000 invoices, on PostgreSQL 15.

Cursor calls and stored checksums are exact; milliseconds vary by machine and run.
"""

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import psycopg
from sqlalchemy import (
    Engine,
    Integer,
    Numeric,
    String,
    Update,
    bindparam,
    column,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
    values,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, Session, mapped_column

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
ROWS = 1_000
log = logging.getLogger("bulk_writes")


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "s5_10_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int]
    number: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    issued_on: Mapped[date]


mapper_events = 0


@event.listens_for(Invoice, "before_insert")
@event.listens_for(Invoice, "before_update")
def count_mapper_event(mapper: Mapper[Invoice], connection: Any, target: Invoice) -> None:
    global mapper_events
    mapper_events += 1


@dataclass
class CursorCalls:
    """What SQLAlchemy handed the driver while a block ran."""

    calls: int = 0  # cursor.execute() or cursor.executemany() calls
    styles: set[str] = field(default_factory=set)
    rows_per_call: int = 0  # rows carried by the first call
    returning: bool = False


@contextmanager
def watch(engine: Engine) -> Iterator[CursorCalls]:
    seen = CursorCalls()

    def record(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        seen.calls += 1
        style = context.execute_style.name.lower()  # EXECUTE, EXECUTEMANY, INSERTMANYVALUES
        seen.styles.add(style)
        if seen.calls == 1:
            seen.returning = " RETURNING " in sql
            if style == "executemany":  # one single-row statement, many parameter sets
                seen.rows_per_call = len(params)
            elif style == "insertmanyvalues":  # one statement with many VALUES tuples
                seen.rows_per_call = sql.count("), (") + 1
            else:
                seen.rows_per_call = 1 if sql.startswith("INSERT") else 0

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def invoice_rows() -> list[dict[str, Any]]:
    return [
        {
            "tenant_id": 1 + n % 40,
            "number": f"INV-{n:06d}",
            "status": "open",
            "amount": Decimal(n * 37 % 90_000) / 100,
            "issued_on": date(2024, 1, 1) + timedelta(days=n % 366),
        }
        for n in range(ROWS)
    ]


def per_object_flush(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with Session(engine) as session:
        for row in rows:
            session.add(Invoice(**row))
            session.flush()  # what a loop calling a "save()" helper ends up doing
        session.commit()


def add_all_one_flush(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with Session(engine) as session:
        session.add_all(Invoice(**row) for row in rows)
        session.commit()


def legacy_bulk_insert_mappings(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with Session(engine) as session:
        session.bulk_insert_mappings(Invoice, rows)  # legacy since 2.0; still works in 2.1
        session.commit()


def orm_bulk_insert(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with Session(engine) as session:
        session.execute(insert(Invoice), rows)
        session.commit()


def orm_bulk_insert_returning(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with Session(engine) as session:
        stmt = insert(Invoice).returning(Invoice.id, sort_by_parameter_order=True)
        ids = session.scalars(stmt, rows).all()
        assert len(ids) == len(rows) and ids == sorted(ids)
        session.commit()


def core_executemany(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(insert(Base.metadata.tables[Invoice.__tablename__]), rows)


def psycopg_copy(engine: Engine, rows: list[dict[str, Any]]) -> None:
    names = ("tenant_id", "number", "status", "amount", "issued_on")
    with engine.begin() as conn:
        driver_conn = conn.connection.driver_connection
        assert isinstance(driver_conn, psycopg.Connection)
        with driver_conn.cursor() as cursor:  # psycopg 3: COPY is a method of the cursor
            sql = f"COPY {Invoice.__tablename__} ({', '.join(names)}) FROM STDIN"
            with cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row([row[name] for name in names])


def dirty_objects(engine: Engine) -> None:
    with Session(engine) as session:
        for invoice in session.scalars(select(Invoice)):
            invoice.amount += 1
            invoice.status = "sent"
        session.commit()


def legacy_update(engine: Engine, changes: list[dict[str, Any]]) -> None:
    with Session(engine) as session:
        session.bulk_update_mappings(Invoice, changes)  # legacy since 2.0
        session.commit()


def orm_bulk_update_by_pk(engine: Engine, changes: list[dict[str, Any]]) -> None:
    with Session(engine) as session:
        session.execute(update(Invoice), changes)  # each dict carries the primary key
        session.commit()


def values_update(changes: list[dict[str, Any]]) -> Update:
    """UPDATE ... FROM (VALUES (...), ...): three bound parameters per row, no cache key."""
    incoming = values(
        column("id", Integer), column("amount", Numeric(12, 2)), column("status", String), name="v"
    ).data([(c["id"], c["amount"], c["status"]) for c in changes])
    return (
        update(Invoice)
        .where(Invoice.id == incoming.c.id)
        .values(amount=incoming.c.amount, status=incoming.c.status)
        .execution_options(synchronize_session=False)
    )


def unnest_update() -> Update:
    """UPDATE ... FROM unnest(:ids, :amounts, :statuses): three array parameters in all."""
    incoming = (
        func.unnest(
            bindparam("ids", type_=ARRAY(Integer)),
            bindparam("amounts", type_=ARRAY(Numeric(12, 2))),
            bindparam("statuses", type_=ARRAY(String)),
        )
        .table_valued("id", "amount", "status")
        .render_derived(name="v")
    )
    return (
        update(Invoice)
        .where(Invoice.id == incoming.c.id)
        .values(amount=incoming.c.amount, status=incoming.c.status)
        .execution_options(synchronize_session=False)
    )


def update_from_values(engine: Engine, changes: list[dict[str, Any]]) -> None:
    with Session(engine) as session:
        session.execute(values_update(changes))
        session.commit()


def update_from_unnest(engine: Engine, changes: list[dict[str, Any]]) -> None:
    arrays = {
        "ids": [c["id"] for c in changes],
        "amounts": [c["amount"] for c in changes],
        "statuses": [c["status"] for c in changes],
    }
    with Session(engine) as session:
        session.execute(unnest_update(), arrays)
        session.commit()


@contextmanager
def compile_cache_log() -> Iterator[list[str]]:
    """Collect the '[generated in ...]' / '[cached since ...]' / '[no key ...]' log tags."""
    statuses: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if message.startswith("[") and "UPDATE" not in message:
                statuses.append(message[: message.index("]") + 1])

    engine_log, handler = logging.getLogger("sqlalchemy.engine.Engine"), Collect()
    engine_log.addHandler(handler)
    engine_log.setLevel(logging.INFO)
    engine_log.propagate = False
    try:
        yield statuses
    finally:
        engine_log.setLevel(logging.WARNING)
        engine_log.removeHandler(handler)


def compile_ms(engine: Engine, stmt: Update) -> float:
    started = time.perf_counter()
    stmt.compile(engine)
    return (time.perf_counter() - started) * 1000


def set_based_update(engine: Engine) -> None:
    with Session(engine) as session:  # the change is a formula, so the database computes it
        session.execute(
            update(Invoice).values(amount=Invoice.amount + 1, status="sent"),
            execution_options={"synchronize_session": False},
        )
        session.commit()


def reset(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {Invoice.__tablename__} RESTART IDENTITY")


def checksum(engine: Engine) -> str:
    query = select(func.count(), func.sum(Invoice.amount), func.min(Invoice.status))
    with engine.connect() as conn:
        count, total, status = conn.execute(query).one()
    return f"{count} rows, sum {total}, {status}"


def timed(engine: Engine, name: str, work: Callable[[], None], stored: set[str]) -> None:
    global mapper_events
    mapper_events = 0
    with watch(engine) as seen:
        started = time.perf_counter()
        work()
        elapsed = time.perf_counter() - started
    stored.add(checksum(engine))
    style = "+".join(sorted(seen.styles)) or "(driver)"
    rows = str(seen.rows_per_call or "-")
    returning = "yes" if seen.returning else "no"
    print(
        f"{name:<38} {seen.calls:>5} {style:<24} {rows:>5} {returning:>4} {mapper_events:>6}"
        f" {elapsed * 1000:8.1f} ms {elapsed * 1_000_000 / ROWS:5.0f} us/row"
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    rows = invoice_rows()
    inserts: list[tuple[str, Callable[[Engine, list[dict[str, Any]]], None]]] = [
        ("add() + flush() per object", per_object_flush),
        ("add_all(), one flush", add_all_one_flush),
        ("Session.bulk_insert_mappings (legacy)", legacy_bulk_insert_mappings),
        ("session.execute(insert(Invoice), rows)", orm_bulk_insert),
        ("  same, .returning(Invoice.id)", orm_bulk_insert_returning),
        ("Core conn.execute(insert(table), rows)", core_executemany),
        ("psycopg 3 COPY ... FROM STDIN", psycopg_copy),
    ]
    changes = [
        {"id": n + 1, "amount": row["amount"] + 1, "status": "sent"} for n, row in enumerate(rows)
    ]
    updates: list[tuple[str, Callable[[], None]]] = [
        ("load, modify, flush (unit of work)", partial(dirty_objects, engine)),
        ("Session.bulk_update_mappings (legacy)", partial(legacy_update, engine, changes)),
        ("session.execute(update(Invoice), rows)", partial(orm_bulk_update_by_pk, engine, changes)),
        ("UPDATE ... FROM (VALUES ...)", partial(update_from_values, engine, changes)),
        ("UPDATE ... FROM unnest(arrays)", partial(update_from_unnest, engine, changes)),
        ("UPDATE ... SET amount = amount + 1", partial(set_based_update, engine)),
    ]
    header = f"{'calls':>5} {'style':<24} {'rows':>5} {'RET':>4} {'events':>6}"
    try:
        print(f"{f'INSERT {ROWS:,} invoices':<38} {header}")
        stored: set[str] = set()
        for name, insert_rows in inserts:
            reset(engine)
            timed(engine, name, partial(insert_rows, engine, rows), stored)
        print(f"every strategy stored the same data: {len(stored) == 1} ({stored.pop()})")

        print(f"\n{f'UPDATE {ROWS:,} invoices':<38} {header}")
        for name, apply in updates:
            reset(engine)
            orm_bulk_insert(engine, rows)
            timed(engine, name, apply, stored)
        print(f"every strategy stored the same data: {len(stored) == 1} ({stored.pop()})")

        print("\nSQL compilation cache, as the engine logs it, for two runs of each statement:")
        for label, apply in (("VALUES", updates[3][1]), ("unnest", updates[4][1])):
            with compile_cache_log() as statuses:
                apply()
                apply()
            print(f"  {label:<7} {' | '.join(statuses)}")
        by_values, by_arrays = values_update(changes), unnest_update()
        print(f"compile alone, VALUES with {ROWS:,} rows: {compile_ms(engine, by_values):6.1f} ms")
        print(f"compile alone, unnest(arrays):         {compile_ms(engine, by_arrays):6.1f} ms")
    except Exception:
        log.exception("benchmark failed")
        raise
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
