"""LIKE/ILIKE semantics, then full-text search with a generated tsvector and GIN indexes."""

import logging
import os
import statistics
import time

from sqlalchemy import Computed, Index, Select, String, Text, create_engine, func, select, text
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

log = logging.getLogger("s5_5.search")
POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
GENERATED = 40_000  # filler tickets for the plan and timing part
TRGM_LOCK_KEY = 5_505_001  # advisory-lock key shared by the scripts that install pg_trgm


class Base(DeclarativeBase):
    pass


class Ticket(Base):
    __tablename__ = "s5_5_tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    # PostgreSQL recomputes this on every INSERT/UPDATE. The two-argument to_tsvector is
    # IMMUTABLE (the one-argument form depends on a setting and cannot be stored or indexed).
    search: Mapped[str] = mapped_column(
        TSVECTOR, Computed("to_tsvector('english', subject || ' ' || body)", persisted=True)
    )
    __table_args__ = (
        Index("ix_s5_5_tickets_search", search, postgresql_using="gin"),
        Index(
            "ix_s5_5_tickets_subject_trgm",
            subject,
            postgresql_using="gin",
            postgresql_ops={"subject": "gin_trgm_ops"},
        ),  # needs the pg_trgm extension
    )


TICKETS = [
    ("50% refund requested", "Charged twice, please refund half of order 1001."),
    ("5000 points missing", "My loyalty points were not refunded after the return."),
    ("REFUND delayed", "The refunds team has not answered in a week."),
    ("Refund_policy question", "Does the refund policy cover opened items?"),
    ("Café order missing", "The delivery from the café never arrived."),
]


def ids(session: Session, stmt: Select[int]) -> list[int]:
    return list(session.scalars(stmt.order_by(Ticket.id)))


def load_filler(session: Session) -> None:
    """Backfill: drop the GIN indexes, load, rebuild (no entries left in GIN's pending list)."""
    conn = session.connection()
    indexes = Base.metadata.tables[Ticket.__tablename__].indexes
    for index in indexes:
        index.drop(conn)
    conn.execute(
        text("""
        INSERT INTO s5_5_tickets (subject, body)
        SELECT (ARRAY['Parcel damaged', 'Password reset', 'Invoice address', 'Card declined'])
                   [1 + i % 4] || CASE WHEN i % 1000 = 0 THEN ' - chargeback' ELSE '' END,
               (ARRAY['My parcel arrived damaged.', 'The reset email never came.',
                      'The invoice address is wrong.', 'My card was declined.'])[1 + i % 4]
        FROM generate_series(1, :n) AS i"""),
        {"n": GENERATED},
    )
    for index in indexes:
        index.create(conn)
    conn.execute(text("ANALYZE s5_5_tickets"))


def plan_and_time(session: Session, label: str, stmt: Select[int]) -> None:
    compiled = stmt.compile(session.get_bind())
    plan = session.connection().exec_driver_sql(
        "EXPLAIN (COSTS OFF) " + str(compiled), compiled.params
    )
    lines = [line.strip("-> ") for line in plan.scalars()]
    node = next(line for line in lines if "Index Scan" in line or "Seq Scan" in line)
    timings = []
    for _ in range(9):
        started = time.perf_counter()
        found = len(session.scalars(stmt).all())
        timings.append((time.perf_counter() - started) * 1000)
    print(f"{label:<34} {found:>3} rows {statistics.median(timings):7.2f} ms  {node}")


def ensure_pg_trgm(engine: Engine) -> None:
    """Install pg_trgm if it is missing, and leave it installed afterwards.

    An extension belongs to the database, not to one script: a concurrent run (this example,
    another section, a test suite) may own indexes that depend on it, so dropping it at the
    end would fail or break them. The advisory lock makes two runs that both find it missing
    install it one after the other instead of colliding on pg_extension's unique index.
    """
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TRGM_LOCK_KEY})
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except IntegrityError:  # a session that skips the lock installed it at the same moment
        log.info("pg_trgm was installed concurrently by another session")


def try_index_without_config(engine: Engine) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(
                text("CREATE INDEX ix_s5_5_bad ON s5_5_tickets USING gin (to_tsvector(body))")
            )
    except ProgrammingError as exc:
        log.error("index rejected: %s", str(exc.orig).splitlines()[0])


def main() -> None:
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    engine = create_engine(POSTGRES_URL)
    ensure_pg_trgm(engine)  # gin_trgm_ops below comes from pg_trgm
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            session.add_all(Ticket(subject=s, body=b) for s, b in TICKETS)
            session.commit()
            q = select(Ticket.id)
            subject = Ticket.subject
            print("like('Refund%')            ", ids(session, q.where(subject.like("Refund%"))))
            print("ilike('refund%')           ", ids(session, q.where(subject.ilike("refund%"))))
            print("contains('50%')            ", ids(session, q.where(subject.contains("50%"))))
            print(
                "contains('50%', autoescape)",
                ids(session, q.where(subject.contains("50%", autoescape=True))),
            )
            print(
                "icontains('refund_')       ", ids(session, q.where(subject.icontains("refund_")))
            )
            print(
                "regexp_match('^[0-9]+ ')   ",
                ids(session, q.where(subject.regexp_match("^[0-9]+ "))),
            )

            query = func.websearch_to_tsquery("english", "refunds")
            rank = func.ts_rank(Ticket.search, query)
            print(f"websearch 'refunds' -> {session.scalar(select(query))}")
            hits = session.execute(
                select(Ticket.id, rank, func.ts_headline("english", Ticket.body, query))
                .where(Ticket.search.bool_op("@@")(query))
                .order_by(rank.desc(), Ticket.id)
            )
            for ticket_id, score, snippet in hits:
                print(f"   #{ticket_id} rank={score:.4f} {snippet}")
            query = func.websearch_to_tsquery("english", '"refund policy" OR points -loyalty')
            print(
                f"websearch '\"refund policy\" OR points -loyalty' -> "
                f"{session.scalar(select(query))}"
            )
            print("   ", ids(session, q.where(Ticket.search.bool_op("@@")(query))))
            try_index_without_config(engine)

            load_filler(session)
            print(f"{GENERATED + len(TICKETS):,} tickets:")
            plan_and_time(
                session, "subject ILIKE '%chargeback%'", q.where(subject.ilike("%chargeback%"))
            )
            plan_and_time(session, "subject ILIKE '%ck%'", q.where(subject.ilike("%ck%")))
            plan_and_time(
                session,
                "search @@ 'chargebacks'",
                q.where(Ticket.search.match("chargebacks", postgresql_regconfig="english")),
            )
            plan_and_time(
                session,
                "to_tsvector(subject) @@ (no index)",
                q.where(
                    func.to_tsvector("english", Ticket.subject).bool_op("@@")(
                        func.plainto_tsquery("english", "chargebacks")
                    )
                ),
            )
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
