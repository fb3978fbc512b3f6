"""Profile a slow endpoint, read the plan PostgreSQL used, fix it, and prove the fix.

The endpoint builds a tenant's monthly statement. Statement counts, rows and plans are exact;
milliseconds vary by machine and run.
"""

import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import (
    Connection,
    Engine,
    ForeignKey,
    Index,
    Numeric,
    String,
    and_,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
TENANTS, CUSTOMERS_PER_TENANT, INVOICES_PER_CUSTOMER = 40, 50, 15
log = logging.getLogger("profile_statement")


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_10_prof_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(60))


class Invoice(Base):
    __tablename__ = "s5_10_prof_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey(Customer.id))  # no index, as shipped
    status: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    issued_on: Mapped[date]


@dataclass(frozen=True)
class StatementLine:
    customer: str
    invoiced: Decimal
    overdue: int


# ---------------------------------------------------------------- the profiler


@dataclass
class Fingerprint:
    calls: int = 0
    rows: int = 0
    seconds: float = 0.0


@dataclass
class Profile:
    by_sql: dict[str, Fingerprint] = field(default_factory=dict)
    plans: dict[str, list[str]] = field(default_factory=dict)  # first plan per query text
    wall: float = 0.0

    @property
    def statements(self) -> int:
        return sum(f.calls for f in self.by_sql.values())

    @property
    def in_database(self) -> float:
        return sum(f.seconds for f in self.by_sql.values())


def fingerprint(sql: str) -> str:
    """One key per statement shape: whitespace folded, expanded IN lists collapsed."""
    sql = " ".join(sql.split())
    return re.sub(r"IN \((%\(\w+\)s(::\w+)?(, )?)+\)", "IN (...)", sql)


@contextmanager
def profiled(engine: Engine) -> Iterator[Profile]:
    """Time every cursor execution on `engine`; collect auto_explain notices as plans."""
    profile = Profile()

    def before(conn: Connection, cursor: Any, sql: str, params: Any, ctx: Any, many: bool) -> None:
        conn.info["query_started"] = time.perf_counter()

    def after(conn: Connection, cursor: Any, sql: str, params: Any, ctx: Any, many: bool) -> None:
        elapsed = time.perf_counter() - conn.info.pop("query_started")
        entry = profile.by_sql.setdefault(fingerprint(sql), Fingerprint())
        entry.calls += 1
        entry.seconds += elapsed
        entry.rows += max(cursor.rowcount, 0)

    def on_notice(diagnostic: psycopg.errors.Diagnostic) -> None:
        message = diagnostic.message_primary or ""
        if "plan:" in message:  # auto_explain: "duration: ... plan:", "Query Text: ...", plan
            lines = message.splitlines()[1:]
            top = next(n for n, line in enumerate(lines) if "(cost=" in line)
            query = " ".join(lines[:top]).removeprefix("Query Text: ")
            profile.plans.setdefault(query, lines[top:])

    def on_connect(dbapi_conn: Any, record: Any) -> None:
        assert isinstance(dbapi_conn, psycopg.Connection)
        dbapi_conn.add_notice_handler(on_notice)
        with dbapi_conn.cursor() as cursor:  # superuser only; see the lesson for production
            cursor.execute("LOAD 'auto_explain'")
            cursor.execute("SET auto_explain.log_min_duration = 0")
            cursor.execute("SET auto_explain.log_analyze = on")
            cursor.execute("SET auto_explain.log_timing = off")
            cursor.execute("SET auto_explain.log_level = notice")  # to the client, not the log
        dbapi_conn.commit()

    engine.dispose()  # start from fresh connections so that every one gets on_connect
    listeners: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", before),
        ("after_cursor_execute", after),
        ("connect", on_connect),
    ]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    with engine.connect():  # open and configure the pooled connection before the clock starts
        pass
    started = time.perf_counter()
    try:
        yield profile
    finally:
        profile.wall = time.perf_counter() - started
        for name, listener in listeners:
            event.remove(engine, name, listener)
        engine.dispose()


def report(title: str, profile: Profile) -> None:
    share = profile.in_database / profile.wall
    print(f"== {title}")
    print(
        f"   {profile.statements} statements, {profile.wall * 1000:.1f} ms wall,"
        f" {profile.in_database * 1000:.1f} ms in execute ({share:.0%})"
    )
    ranked = sorted(profile.by_sql.items(), key=lambda item: (-item[1].calls, item[0]))
    for sql, entry in ranked[:3]:  # most frequent first: that is where an N+1 shows
        suspect = "  <- N+1 suspect" if entry.calls > 10 else ""
        print(
            f"   {entry.calls:>4} calls {entry.rows:>5} rows"
            f" {entry.seconds * 1000:8.1f} ms  {sql[:64]}...{suspect}"
        )


def show_plan(profile: Profile, contains: str) -> None:
    for query, plan in profile.plans.items():
        if contains in query:
            print(f"   plan of the first '{contains}' statement, via auto_explain:")
            for line in plan:
                print(f"     {line}")
            return


# ---------------------------------------------------------------- the endpoint, as shipped


def statement_v1(session: Session, tenant_id: int, month: date) -> list[StatementLine]:
    customers = session.scalars(
        select(Customer).where(Customer.tenant_id == tenant_id).order_by(Customer.name)
    ).all()
    lines = []
    for customer in customers:  # two queries per customer: an N+1 no loader option can fix
        invoiced = session.scalar(
            select(func.coalesce(func.sum(Invoice.amount), 0)).where(
                Invoice.customer_id == customer.id,
                func.date_trunc("month", Invoice.issued_on) == month,
            )
        )
        overdue = session.scalar(
            select(func.count())
            .select_from(Invoice)
            .where(Invoice.customer_id == customer.id, Invoice.status == "overdue")
        )
        lines.append(StatementLine(customer.name, Decimal(invoiced or 0), overdue or 0))
    return lines


# ---------------------------------------------------------------- the endpoint, fixed


def statement_v3(session: Session, tenant_id: int, month: date) -> list[StatementLine]:
    next_month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    in_month = and_(Invoice.issued_on >= month, Invoice.issued_on < next_month)  # sargable
    stmt = (
        select(
            Customer.name,
            func.coalesce(func.sum(Invoice.amount).filter(in_month), 0),
            func.count(Invoice.id).filter(Invoice.status == "overdue"),
        )
        .outerjoin(Invoice, Invoice.customer_id == Customer.id)
        .where(Customer.tenant_id == tenant_id)
        .group_by(Customer.id)
        .order_by(Customer.name)
    )
    return [
        StatementLine(name, Decimal(total), overdue)
        for name, total, overdue in session.execute(stmt)
    ]


def load(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO s5_10_prof_customers (tenant_id, name)"
                " SELECT 1 + (n - 1) / :per_tenant, 'customer-' || lpad(n::text, 5, '0')"
                " FROM generate_series(1, :customers) AS n"
            ),
            {"per_tenant": CUSTOMERS_PER_TENANT, "customers": TENANTS * CUSTOMERS_PER_TENANT},
        )
        conn.execute(
            text(
                "INSERT INTO s5_10_prof_invoices (customer_id, status, amount, issued_on)"
                " SELECT 1 + mod(n, :customers),"
                "  CASE WHEN mod(n, 11) = 0 THEN 'overdue' ELSE 'paid' END,"
                "  mod(n * 37, 90000) / 100.0, DATE '2024-01-01' + mod(n * 13, 366)"
                " FROM generate_series(1, :invoices) AS n"
            ),
            {
                "customers": TENANTS * CUSTOMERS_PER_TENANT,
                "invoices": TENANTS * CUSTOMERS_PER_TENANT * INVOICES_PER_CUSTOMER,
            },
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE s5_10_prof_customers, s5_10_prof_invoices")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    engine = create_engine(
        POSTGRES_URL, connect_args={"options": "-c max_parallel_workers_per_gather=0 -c jit=off"}
    )
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    tenant, month = 7, date(2024, 3, 1)
    try:
        load(engine)
        log.info("%d invoices loaded", TENANTS * CUSTOMERS_PER_TENANT * INVOICES_PER_CUSTOMER)

        with profiled(engine) as v1, Session(engine) as session:
            expected = statement_v1(session, tenant, month)
        report("v1 as shipped", v1)
        show_plan(v1, "sum(")

        index = Index("ix_s5_10_prof_invoices_customer_id", Invoice.customer_id)
        with engine.begin() as conn:
            index.create(conn)
        with profiled(engine) as v2, Session(engine) as session:
            assert statement_v1(session, tenant, month) == expected
        report("v2 = v1 + an index on invoices.customer_id", v2)
        show_plan(v2, "sum(")

        with profiled(engine) as v3, Session(engine) as session:
            fixed = statement_v3(session, tenant, month)
        report("v3 one GROUP BY statement", v3)
        show_plan(v3, "FILTER")
        print(f"   same {len(fixed)} lines as v1: {fixed == expected}; first: {fixed[0]}")
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
