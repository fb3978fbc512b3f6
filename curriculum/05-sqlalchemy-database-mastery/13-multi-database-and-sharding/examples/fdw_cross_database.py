"""A query that joins two PostgreSQL databases through postgres_fdw, read through EXPLAIN.

s5_13_crm holds customers; s5_13_billing holds invoices and sees the customers as a foreign
table. The ORM maps both and writes an ordinary join; the plan shows which part runs on the
remote database ("Remote SQL") and which part PostgreSQL does locally after fetching rows.
Both databases are created at start and dropped at the end.
"""

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    URL,
    Connection,
    Date,
    Engine,
    Numeric,
    Select,
    String,
    create_engine,
    func,
    make_url,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import NullPool

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
log = logging.getLogger("billing.fdw")
AnySelect = Select[*tuple[Any, ...]]


class Base(DeclarativeBase):
    pass


class Customer(Base):
    """The foreign table that IMPORT FOREIGN SCHEMA creates in billing's crm schema."""

    __tablename__ = "s5_13_customers"
    __table_args__ = ({"schema": "crm"},)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    country: Mapped[str] = mapped_column(String(2))
    signed_up: Mapped[date] = mapped_column(Date)


class Invoice(Base):
    __tablename__ = "s5_13_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int]  # no ForeignKey: a constraint cannot reference a foreign table
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))


def database_url(base: URL, role: str) -> URL:
    suffix = (base.database or "").removeprefix("pymastery_examples")  # per-worker names
    return base.set(database=f"s5_13_{role}{suffix}")


@contextmanager
def two_databases(base: URL) -> Iterator[tuple[Engine, Engine]]:
    admin = create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    urls = [database_url(base, "crm"), database_url(base, "billing")]
    with admin.connect() as conn:
        for url in urls:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    crm, billing = (create_engine(url) for url in urls)
    try:
        yield crm, billing
    finally:
        crm.dispose()
        billing.dispose()
        with admin.connect() as conn:
            for url in reversed(urls):
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        admin.dispose()


def load_crm(crm: Engine) -> None:
    with crm.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE s5_13_customers (id int PRIMARY KEY, name varchar(60) NOT NULL,"
            " country char(2) NOT NULL, signed_up date NOT NULL)"
        )
        conn.execute(
            text(
                "INSERT INTO s5_13_customers SELECT g, 'Customer ' || g,"
                " (ARRAY['DE','FR','NL','SE','PL'])[g % 5 + 1], CURRENT_DATE - g % 400"
                " FROM generate_series(1, 5000) g"
            )
        )


def link_billing(billing: Engine, crm_url: URL) -> None:
    """postgres_fdw: extension, server, user mapping, then import the remote table."""
    options = {"host": crm_url.host or "127.0.0.1", "port": str(crm_url.port or 5432)}
    options["dbname"] = crm_url.database or ""
    mapping = {"user": crm_url.username or "postgres"}
    if crm_url.password:
        mapping["password"] = crm_url.password

    def quoted(values: dict[str, str]) -> str:
        return ", ".join(f"{key} '{value}'" for key, value in values.items())

    with billing.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION postgres_fdw")
        conn.exec_driver_sql(
            "CREATE SERVER crm_server FOREIGN DATA WRAPPER postgres_fdw"
            f" OPTIONS ({quoted(options)})"
        )
        conn.exec_driver_sql(
            f"CREATE USER MAPPING FOR CURRENT_USER SERVER crm_server OPTIONS ({quoted(mapping)})"
        )
        conn.exec_driver_sql("CREATE SCHEMA crm")
        conn.exec_driver_sql(
            "IMPORT FOREIGN SCHEMA public LIMIT TO (s5_13_customers)"
            " FROM SERVER crm_server INTO crm"
        )
        Base.metadata.tables["s5_13_invoices"].create(conn)
        conn.execute(
            text(
                "INSERT INTO s5_13_invoices SELECT g, g % 5000 + 1, (g % 900) + 10.50"
                " FROM generate_series(1, 40000) g"
            )
        )
        conn.exec_driver_sql("ANALYZE s5_13_invoices")


def plan(conn: Connection, stmt: AnySelect, analyze: bool = False) -> list[str]:
    """EXPLAIN the statement as SQLAlchemy compiles it, with its bound parameters."""
    compiled = stmt.compile(dialect=conn.dialect)
    opts = (
        "ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF" if analyze else "VERBOSE, COSTS OFF"
    )
    rows = conn.exec_driver_sql(f"EXPLAIN ({opts}) {compiled.string}", compiled.params)
    lines = [row[0] for row in rows if not row[0].lstrip().startswith("Output:")]
    indent = min(len(line) - len(line.lstrip()) for line in lines)
    return [line[indent:] for line in lines]


def show(conn: Connection, title: str, stmt: AnySelect, analyze: bool = False) -> None:
    log.info("%s", title)
    for line in plan(conn, stmt, analyze):
        log.info("   %s", line)


def timed(conn: Connection, stmt: AnySelect, rounds: int = 20) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        conn.execute(stmt).all()
    return (time.perf_counter() - started) / rounds * 1000


def demo(billing: Engine) -> None:
    revenue_de = (
        select(Customer.name, func.sum(Invoice.total).label("revenue"))
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(Customer.country == "DE")
        .group_by(Customer.name)
        .order_by(func.sum(Invoice.total).desc(), Customer.name)
        .limit(3)
    )
    recent_db_clock = select(Customer.id).where(Customer.signed_up > func.current_date() - 30)
    by_country = select(Customer.country, func.count()).group_by(Customer.country)
    with billing.connect() as conn:
        cutoff = conn.execute(select(func.current_date())).scalar_one() - timedelta(days=30)
        recent_param = select(Customer.id).where(Customer.signed_up > cutoff)
        log.info("1. an ORM join between a local and a foreign table")
        for name, revenue in conn.execute(revenue_de):
            log.info("   %-14s %10s", name, revenue)
        show(conn, "   its plan: the WHERE on the remote table runs remotely", revenue_de)
        show(conn, "2. CURRENT_DATE is not shipped: every row comes over", recent_db_clock, True)
        show(conn, "3. the same cutoff as a bound parameter is shipped", recent_param, True)
        show(conn, "4. an aggregate on the foreign table alone runs remotely", by_country)
        local = timed(conn, recent_param)
        fetched = timed(conn, recent_db_clock)
        log.info("5. timing, 20 runs each")
        log.info("   filter shipped to the remote  %.2f ms", local)
        log.info("   filter applied after fetching %.2f ms", fetched)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    base = make_url(POSTGRES_URL)
    with two_databases(base) as (crm, billing):
        load_crm(crm)
        link_billing(billing, database_url(base, "crm"))
        demo(billing)


if __name__ == "__main__":
    main()
