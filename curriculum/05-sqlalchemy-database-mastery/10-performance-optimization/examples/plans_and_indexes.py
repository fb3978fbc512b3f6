"""Reading EXPLAIN (ANALYZE, BUFFERS) and choosing indexes for a support-ticket queue.

Tables stay under 30,000 rows, so ANALYZE reads every row and the estimates are the same on
every run. The tickets are loaded with COPY ... FREEZE, so their pages are all-visible whatever
other sessions are doing. Buffer counts depend on what is cached and are masked when outputs
are compared.
"""

import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import psycopg
from sqlalchemy import (
    Connection,
    Engine,
    ForeignKey,
    Index,
    String,
    bindparam,
    create_engine,
    func,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import Select

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
TICKETS, EVENTS = 24_000, 28_800
log = logging.getLogger("plans_and_indexes")


class Base(DeclarativeBase):
    pass


class Ticket(Base):
    __tablename__ = "s5_10_tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int]
    status: Mapped[str] = mapped_column(String(10))  # 4 % open, 6 % pending, 90 % closed
    requester_email: Mapped[str] = mapped_column(String(80))
    product: Mapped[str] = mapped_column(String(20))  # 8 products
    component: Mapped[str] = mapped_column(String(30))  # 40 components, each in one product
    created_at: Mapped[int]  # minutes since the epoch of the tenant's account, for brevity
    subject: Mapped[str] = mapped_column(String(200))


class TicketEvent(Base):
    __tablename__ = "s5_10_ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey(Ticket.id), index=True)
    kind: Mapped[str] = mapped_column(String(10))


TicketRow = tuple[int, str, str, str, str, int, str]


def ticket_rows() -> Iterator[TicketRow]:
    """4 % open, 6 % pending; component n % 40 always belongs to product n % 40 // 5."""
    for n in range(1, TICKETS + 1):
        status = "open" if n % 25 == 0 else "pending" if n % 17 == 0 else "closed"
        email = f"Agent.{n % 5000}@Example.COM"
        product, component = f"product-{n % 40 // 5}", f"component-{n % 40}"
        yield 1 + n * 7 % 120, status, email, product, component, n * 7, "printer on fire " * 4


def create_and_load(engine: Engine) -> None:
    """Create the tables and load them in one transaction.

    COPY ... FREEZE into a table created (or truncated) in the same transaction writes the rows
    frozen and, since PostgreSQL 14, marks their pages all-visible. A plain INSERT needs a
    VACUUM for that, and VACUUM cannot set the bit while another session in this database holds
    a snapshot or transaction id older than the rows: that would change the plans below.
    """
    columns = "tenant_id, status, requester_email, product, component, created_at, subject"
    with engine.begin() as conn:
        Base.metadata.create_all(conn)
        driver_conn = conn.connection.driver_connection
        assert isinstance(driver_conn, psycopg.Connection)
        copy_sql = f"COPY {Ticket.__tablename__} ({columns}) FROM STDIN (FREEZE)"
        with driver_conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in ticket_rows():
                copy.write_row(row)
        conn.execute(
            text(
                "INSERT INTO s5_10_ticket_events (ticket_id, kind)"
                " SELECT 1 + mod(n, :tickets), 'note' FROM generate_series(1, :events) AS n"
            ),
            {"tickets": TICKETS, "events": EVENTS},
        )


def explain(conn: Connection, title: str, stmt: Select[*tuple[Any, ...]]) -> None:
    """EXPLAIN exactly the SQL and parameters SQLAlchemy sends; skip the planning summary."""
    compiled = stmt.compile(conn)
    options = "ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF"
    plan = conn.exec_driver_sql(f"EXPLAIN ({options}) {compiled}", compiled.params).scalars()
    print(f"-- {title}")
    for line in plan:
        if line.startswith("Planning:"):
            break
        print("  ", line)


def index_sizes(conn: Connection, *names: str) -> str:
    query = text("SELECT relname, pg_relation_size(oid) / 8192 FROM pg_class WHERE relname IN :n")
    sizes = conn.execute(query.bindparams(bindparam("n", expanding=True)), {"n": list(names)})
    return ", ".join(f"{name} {pages} pages" for name, pages in sorted(sizes.all()))


def all_visible(conn: Connection, table: str) -> str:
    """pg_class.relallvisible: what the planner believes; VACUUM and ANALYZE update it."""
    query = text("SELECT relallvisible, relpages FROM pg_class WHERE relname = :t")
    visible, pages = conn.execute(query, {"t": table}).one()
    return f"{visible} of {pages} pages all-visible"


def insert_cost(engine: Engine) -> float:
    """Microseconds per row to insert a copy of all 24,000 tickets server-side, then roll back."""
    copy_all = text(
        "INSERT INTO s5_10_tickets (tenant_id, status, requester_email, product, component,"
        " created_at, subject) SELECT tenant_id, status, requester_email, product, component,"
        " created_at, subject FROM s5_10_tickets"
    )
    with engine.connect() as conn:
        started = time.perf_counter()
        conn.execute(copy_all)
        elapsed = time.perf_counter() - started
        conn.rollback()
    return elapsed * 1_000_000 / TICKETS


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    create_and_load(engine)
    autocommit = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        with autocommit as conn:
            conn.exec_driver_sql("VACUUM ANALYZE s5_10_tickets, s5_10_ticket_events")
            conn.exec_driver_sql("SET max_parallel_workers_per_gather = 0")
            conn.exec_driver_sql("SET jit = off")
            log.info("loaded %d tickets and %d events", TICKETS, EVENTS)
            print(f"   tickets: {all_visible(conn, 's5_10_tickets')}")

            # 1. A misestimate and what it does to the join that follows.
            billing = (Ticket.product == "product-3", Ticket.component == "component-17")
            per_ticket = (
                select(Ticket.id, func.count(TicketEvent.id))
                .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
                .where(*billing)
                .group_by(Ticket.id)
            )
            explain(conn, "two correlated filters, estimated as if independent", per_ticket)
            conn.exec_driver_sql(
                "CREATE STATISTICS s5_10_tickets_product_component (dependencies)"
                " ON product, component FROM s5_10_tickets"
            )
            conn.exec_driver_sql("ANALYZE s5_10_tickets")
            explain(conn, "after CREATE STATISTICS ... (dependencies) and ANALYZE", per_ticket)

            # 2. One query, five indexing choices.
            queue = (
                select(Ticket.id, Ticket.created_at)
                .where(Ticket.tenant_id == 56, Ticket.status == "open")
                .order_by(Ticket.created_at)
                .limit(20)
            )
            explain(conn, "tenant queue, no index", queue)

            Index("s5_10_ix_created", Ticket.created_at).create(conn)
            explain(conn, "index on (created_at) only", queue)

            Index("s5_10_ix_queue", Ticket.tenant_id, Ticket.status, Ticket.created_at).create(conn)
            explain(conn, "composite (tenant_id, status, created_at)", queue)

            Index(
                "s5_10_ix_open_queue",
                Ticket.tenant_id,
                Ticket.created_at,
                postgresql_where=Ticket.status == "open",
                postgresql_include=["id"],
            ).create(conn)
            explain(conn, "partial (tenant_id, created_at) INCLUDE (id) WHERE open", queue)
            sizes = index_sizes(conn, "s5_10_ix_created", "s5_10_ix_queue", "s5_10_ix_open_queue")
            print(f"   index sizes: {sizes}")

            # An open transaction whose snapshot predates the UPDATE (a report, a forgotten
            # psql session) keeps VACUUM from marking the updated pages all-visible again.
            with engine.connect() as report:
                report.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                report.exec_driver_sql("SELECT count(*) FROM s5_10_tickets")  # takes the snapshot
                conn.exec_driver_sql(
                    "UPDATE s5_10_tickets SET subject = subject || '!' WHERE tenant_id = 56"
                )
                explain(conn, "same index after an UPDATE of tenant 56, before VACUUM", queue)
                conn.exec_driver_sql("VACUUM s5_10_tickets")
                print(f"   VACUUM, older snapshot open: {all_visible(conn, 's5_10_tickets')}")
                explain(conn, "same query after that VACUUM", queue)
                report.rollback()

            # 3. A function of a column needs an index on that function.
            by_email = select(Ticket.id).where(
                func.lower(Ticket.requester_email) == "agent.42@example.com"
            )
            explain(conn, "lower(email) = ..., no expression index", by_email)
            Index("s5_10_ix_email_lower", func.lower(Ticket.requester_email)).create(conn)
            conn.exec_driver_sql("ANALYZE s5_10_tickets")  # expression indexes get statistics
            explain(conn, "lower(email) = ..., with an index on lower(requester_email)", by_email)

            # 4. What the indexes cost the writer (measured last: a rolled-back insert leaves
            # dead rows behind, which would change the plans above).
            after = insert_cost(engine)
            extra = ("s5_10_ix_created", "s5_10_ix_queue", "s5_10_ix_open_queue")
            conn.exec_driver_sql(f"DROP INDEX {', '.join(extra)}, s5_10_ix_email_lower")
            conn.exec_driver_sql("VACUUM s5_10_tickets")
            before = insert_cost(engine)
        print(f"insert 24,000 more tickets, primary key only:   {before:5.1f} us/row")
        print(f"insert 24,000 more tickets, with 4 more indexes: {after:5.1f} us/row")
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
