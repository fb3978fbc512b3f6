"""EXPLAIN ANALYZE for statements built with select(): same answer, very different work.

Timings and cost estimates vary by machine and run; row counts and plan shapes do not.
"""

import logging
import os
import statistics
import time
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Index, Numeric, String, create_engine, func, select, true, tuple_
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.sql import Select

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
engine = create_engine(POSTGRES_URL)
log = logging.getLogger("query_plans")
CUSTOMERS, ORDERS = 1_000, 100_000


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_4_customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


class Order(Base):
    __tablename__ = "s5_4_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int]  # no FOREIGN KEY here only to keep the bulk load fast (see 5.3)
    status: Mapped[str] = mapped_column(String(10))
    placed_on: Mapped[date]
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))


def load() -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO s5_4_customers SELECT n, 'customer-' || n FROM generate_series(1, %s) n",
            (CUSTOMERS,),
        )
        conn.exec_driver_sql(
            "INSERT INTO s5_4_orders SELECT n, 1 + (n * 7919) %% %s,"
            " CASE WHEN n %% 20 = 0 THEN 'refunded' ELSE 'paid' END,"
            " DATE '2023-01-01' + (n * 31) %% 730, (n * 37) %% 50000 / 100.0"
            " FROM generate_series(1, %s) n",
            (CUSTOMERS, ORDERS),
        )
        # Built once after the load: cheaper than maintaining them row by row during it.
        Index(
            "ix_s5_4_orders_customer_recent", Order.customer_id, Order.placed_on, Order.id
        ).create(conn)
        Index("ix_s5_4_orders_placed_on_id", Order.placed_on, Order.id).create(conn)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE s5_4_customers, s5_4_orders")  # stats + visibility


def explain(session: Session, title: str, stmt: Select[*tuple[Any, ...]]) -> None:
    """Run EXPLAIN ANALYZE on exactly the SQL and parameters SQLAlchemy would send."""
    compiled = stmt.compile(engine)
    sql = f"EXPLAIN (ANALYZE, TIMING OFF) {compiled}"
    plan = session.connection().exec_driver_sql(sql, compiled.params).scalars()
    print(f"-- {title}")
    for line in plan:
        print("   ", line)


def median_ms(session: Session, stmt: Select[*tuple[Any, ...]], runs: int = 7) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        session.execute(stmt).all()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def latest_order_per_customer() -> dict[str, Select[*tuple[Any, ...]]]:
    newest_first = (Order.placed_on.desc(), Order.id.desc())
    position = func.row_number().over(partition_by=Order.customer_id, order_by=newest_first)
    columns = (Order.customer_id, Order.id, Order.placed_on, Order.total)
    ranked = select(*columns, position.label("rn")).subquery()
    window = select(*ranked.c[:4]).where(ranked.c.rn == 1)

    distinct = (
        select(*columns)
        .ext(distinct_on(Order.customer_id))  # 2.1 spelling of DISTINCT ON (...)
        .order_by(Order.customer_id, *newest_first)
    )

    latest = (
        select(Order.id, Order.placed_on, Order.total)
        .where(Order.customer_id == Customer.id)  # LATERAL may refer to the row on its left
        .order_by(*newest_first)
        .limit(1)
        .lateral("latest")
    )
    lateral = select(Customer.id, *latest.c).join(latest, true())
    return {"row_number() = 1": window, "DISTINCT ON": distinct, "LATERAL ... LIMIT 1": lateral}


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        load()
        log.info("loaded %d customers and %d orders", CUSTOMERS, ORDERS)
        with Session(engine) as session:
            # One plan per run, not a lottery: no parallel workers, no JIT compilation, and
            # the default work_mem even if the server's configuration raised it.
            session.connection().exec_driver_sql("SET max_parallel_workers_per_gather = 0")
            session.connection().exec_driver_sql("SET jit = off")
            session.connection().exec_driver_sql("SET work_mem = '4MB'")

            variants = latest_order_per_customer()
            answers = {name: sorted(session.execute(stmt).all()) for name, stmt in variants.items()}
            same = len({str(rows) for rows in answers.values()}) == 1
            rows = len(answers["DISTINCT ON"])
            print(f"latest order per customer, three ways: {rows} rows each, same={same}")
            explain(session, "row_number() = 1", variants["row_number() = 1"])
            explain(session, "LATERAL ... LIMIT 1", variants["LATERAL ... LIMIT 1"])
            for name, stmt in variants.items():
                print(f"{name:<22} median {median_ms(session, stmt):8.2f} ms")

            by_date = (Order.placed_on, Order.id)
            offset = select(*by_date, Order.total).order_by(*by_date).offset(75_000).limit(20)
            cursor = session.execute(
                select(*by_date).order_by(*by_date).offset(74_999).limit(1)
            ).first()
            assert cursor is not None
            keyset = select(*by_date, Order.total).where(tuple_(*by_date) > tuple_(*cursor))
            keyset = keyset.order_by(*by_date).limit(20)
            same = session.execute(offset).all() == session.execute(keyset).all()
            print(f"page 3,751 by OFFSET and by keyset: same={same}")
            explain(session, "OFFSET 75000 LIMIT 20", offset)
            explain(session, "WHERE (placed_on, id) > (...) LIMIT 20", keyset)
            for name, stmt in (("OFFSET", offset), ("keyset", keyset)):
                print(f"{name:<22} median {median_ms(session, stmt):8.2f} ms")

            refunded = Order.status == "refunded"
            loaded = select(Order).where(refunded)
            counted = select(func.count()).select_from(Order).where(refunded)
            in_python = len(session.scalars(loaded).all())
            in_sql = session.execute(counted).scalar_one()
            print(f"refunded orders: len() of loaded objects {in_python}, count(*) {in_sql}")
            # The identity map holds objects weakly, so each run builds 5,000 of them afresh.
            for name, stmt in (("load, then len()", loaded), ("select(func.count())", counted)):
                print(f"{name:<22} median {median_ms(session, stmt):8.2f} ms")
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
