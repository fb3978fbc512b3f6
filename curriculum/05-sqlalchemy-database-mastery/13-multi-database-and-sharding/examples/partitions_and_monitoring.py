"""Declarative partitioning in PostgreSQL 15, read through EXPLAIN and the statistics views.

s5_13_events is partitioned BY RANGE on occurred_at, one partition per month; s5_13_accounts
is partitioned BY LIST on region, with a DEFAULT partition. The last part reads the views a
monitoring job polls: per-table scans, per-database counters, and replication state.
"""

import itertools
import logging
import os
import sys
import time
from datetime import date

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    exc,
    func,
    select,
    text,
)

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
log = logging.getLogger("telemetry.partitions")
metadata = MetaData()

events = Table(
    "s5_13_events",
    metadata,
    Column("id", BigInteger, autoincrement=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("kind", String(20), nullable=False),
    PrimaryKeyConstraint("id", "occurred_at"),  # a unique key must include the partition key
    postgresql_partition_by="RANGE (occurred_at)",
)

accounts = Table(
    "s5_13_accounts",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("region", String(10), primary_key=True),
    postgresql_partition_by="LIST (region)",
)

ONE_DAY = "occurred_at >= '2025-02-10' AND occurred_at < '2025-02-11'"
TRUNCATED_DAY = "date_trunc('day', occurred_at) = '2025-02-10'"
MONTHS = [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)]


def create_month(conn: Connection, start: date, end: date) -> str:
    name = f"s5_13_events_{start:%Y_%m}"
    conn.exec_driver_sql(
        f"CREATE TABLE {name} PARTITION OF s5_13_events FOR VALUES FROM ('{start}') TO ('{end}')"
    )
    return name


def plan(conn: Connection, sql: str) -> None:
    for (line,) in conn.exec_driver_sql(f"EXPLAIN (COSTS OFF) {sql}"):
        if "Filter" not in line:  # the filters are long and say nothing new here
            log.info("      %s", line)


def range_partitions(conn: Connection) -> None:
    log.info("1. a primary key without the partition key is refused")
    wrong = Table(
        "s5_13_events_wrong",
        MetaData(),
        Column("id", BigInteger, primary_key=True),
        Column("occurred_at", DateTime(timezone=True)),
        postgresql_partition_by="RANGE (occurred_at)",
    )
    try:
        with conn.begin_nested():
            wrong.create(conn)
    except exc.NotSupportedError as error:
        log.warning("   %s", str(error.orig).splitlines()[0])

    log.info("2. monthly partitions; each row is stored in the partition its key falls in")
    for start, end in itertools.pairwise(MONTHS):
        create_month(conn, start, end)
    conn.execute(
        text(
            "INSERT INTO s5_13_events (occurred_at, kind)"
            " SELECT timestamptz '2025-01-01' + g * interval '2 minutes',"
            " (ARRAY['view', 'click', 'purchase'])[g % 3 + 1]"
            " FROM generate_series(0, 64799) g"
        )
    )
    conn.exec_driver_sql("ANALYZE s5_13_events")  # autovacuum never analyzes the parent
    rows = conn.execute(
        select(text("tableoid::regclass::text"), func.count())
        .select_from(events)
        .group_by(text("1"))
        .order_by(text("1"))
    )
    for name, count in rows:
        log.info("   %-22s %6d rows", name, count)
    try:
        with conn.begin_nested():
            conn.execute(events.insert().values(occurred_at="2025-04-02T10:00:00Z", kind="view"))
    except exc.IntegrityError as error:
        log.warning("   %s", str(error.orig).splitlines()[0])

    log.info("3. pruning: a range on the key touches one partition")
    plan(conn, f"SELECT count(*) FROM s5_13_events WHERE {ONE_DAY}")
    log.info("   a function around the key hides it from the pruner")
    plan(conn, f"SELECT count(*) FROM s5_13_events WHERE {TRUNCATED_DAY}")
    log.info("   a generic plan prunes when the executor starts")
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    conn.exec_driver_sql(
        "PREPARE s5_13_day(timestamptz) AS SELECT count(*) FROM s5_13_events"
        " WHERE occurred_at >= $1 AND occurred_at < $1 + interval '1 day'"
    )
    plan(conn, "EXECUTE s5_13_day('2025-02-10')")
    conn.exec_driver_sql("DEALLOCATE s5_13_day")


def retention(conn: Connection) -> None:
    log.info("5. retention: deleting January against detaching it")
    january = "occurred_at < '2025-02-01'"
    started = time.perf_counter()
    with conn.begin_nested() as savepoint:
        deleted = conn.exec_driver_sql(f"DELETE FROM s5_13_events WHERE {january}").rowcount
        savepoint.rollback()
    delete_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    conn.exec_driver_sql("ALTER TABLE s5_13_events DETACH PARTITION s5_13_events_2025_01")
    conn.exec_driver_sql("DROP TABLE s5_13_events_2025_01")
    detach_ms = (time.perf_counter() - started) * 1000
    log.info("   DELETE of %d rows       %7.1f ms (rolled back)", deleted, delete_ms)
    log.info("   DETACH + DROP partition %7.1f ms", detach_ms)


def list_partitions(conn: Connection) -> None:
    log.info("6. LIST partitions with a DEFAULT: a new region lands in the default")
    for region in ("eu", "us"):
        conn.exec_driver_sql(
            f"CREATE TABLE s5_13_accounts_{region} PARTITION OF s5_13_accounts"
            f" FOR VALUES IN ('{region}')"
        )
    conn.exec_driver_sql("CREATE TABLE s5_13_accounts_default PARTITION OF s5_13_accounts DEFAULT")
    conn.execute(accounts.insert(), [{"id": 1, "region": "eu"}, {"id": 2, "region": "apac"}])
    where = conn.scalar(text("SELECT tableoid::regclass::text FROM s5_13_accounts WHERE id = 2"))
    log.info("   account 2 (apac) is stored in %s", where)
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(
                "CREATE TABLE s5_13_accounts_apac PARTITION OF s5_13_accounts"
                " FOR VALUES IN ('apac')"
            )
    except exc.DBAPIError as error:
        log.warning("   %s", str(error.orig).splitlines()[0])


def seq_scans(conn: Connection) -> dict[str, int]:
    """Per-partition seq_scan counters, after flushing this backend's pending statistics."""
    conn.exec_driver_sql("SELECT pg_stat_force_next_flush()")
    conn.commit()  # the backend flushes when it goes idle; the next transaction reads afresh
    rows = conn.execute(
        text(
            "SELECT relname, seq_scan FROM pg_stat_user_tables"
            " WHERE relname LIKE 's5_13_events_%' ORDER BY relname"
        )
    )
    counts: dict[str, int] = dict(rows.all())
    conn.commit()
    return counts


def scans_follow_pruning(engine: Engine) -> None:
    log.info("4. pg_stat_user_tables agrees: pruned partitions are never scanned")
    with engine.connect() as conn:
        before = seq_scans(conn)
        for _ in range(3):
            conn.exec_driver_sql(f"SELECT count(*) FROM s5_13_events WHERE {ONE_DAY}")
        conn.exec_driver_sql(f"SELECT count(*) FROM s5_13_events WHERE {TRUNCATED_DAY}")
        after = seq_scans(conn)
    for name, scans in after.items():
        log.info("   %-22s seq_scan +%d", name, scans - before[name])


def monitoring(engine: Engine) -> None:
    log.info("7. the database and replication views on a primary with no replicas")
    with engine.connect() as conn:
        db = conn.execute(
            text(
                "SELECT xact_commit, xact_rollback, deadlocks, conflicts, temp_files,"
                " round(100.0 * blks_hit / nullif(blks_hit + blks_read, 0), 1)"
                " FROM pg_stat_database WHERE datname = current_database()"
            )
        ).one()
        log.info("   pg_stat_database: commits=%d rollbacks=%d deadlocks=%d", *db[:3])
        log.info("   conflicts=%d temp_files=%d cache_hit=%s%%", *db[3:])
        replicas = conn.execute(
            text(
                "SELECT application_name, state, replay_lag,"
                " pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS bytes_behind"
                " FROM pg_stat_replication"
            )
        ).all()
        slots = conn.scalar(text("SELECT count(*) FROM pg_replication_slots"))
        recovery, replayed = conn.execute(
            text("SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()")
        ).one()
        log.info("   pg_stat_replication: %d rows; replication slots: %d", len(replicas), slots)
        log.info("   pg_is_in_recovery()=%s pg_last_wal_replay_lsn()=%s", recovery, replayed)
        log.info("   pg_current_wal_lsn()=%s", conn.scalar(text("SELECT pg_current_wal_lsn()")))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    engine = create_engine(POSTGRES_URL, connect_args={"options": "-c timezone=UTC"})
    metadata.drop_all(engine)
    metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            range_partitions(conn)
        scans_follow_pruning(engine)
        with engine.begin() as conn:
            retention(conn)
            list_partitions(conn)
        monitoring(engine)
    finally:
        metadata.drop_all(engine)  # dropping a partitioned table drops its partitions
        engine.dispose()


if __name__ == "__main__":
    main()
