"""What a forgotten open transaction costs: locks on PostgreSQL, a frozen snapshot on MariaDB.

Every driver here follows PEP 249: the first statement silently opens a transaction and
nothing ends it except commit(), rollback() or close().
"""

import os
import threading
import time
from urllib.parse import unquote, urlsplit

import psycopg
import pymysql

URL = (
    "postgresql://"
    + os.environ.get(
        "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
    ).partition("://")[2]
)


def sessions(admin: psycopg.Connection) -> None:
    rows = admin.execute(
        "SELECT application_name, state, coalesce(wait_event_type, '-'),"
        " (SELECT string_agg(b.application_name, ',') FROM pg_stat_activity b"
        "   WHERE b.pid = ANY (pg_blocking_pids(a.pid)))"
        " FROM pg_stat_activity a"
        " WHERE datname = current_database() AND application_name LIKE 's5_1_%' ORDER BY 1"
    ).fetchall()
    for name, state, waiting_on, blocked_by in rows:
        print(f"  {name:<20} {state:<20} wait={waiting_on:<7} blocked_by={blocked_by or '-'}")


def postgres_lock_queue() -> None:
    admin = psycopg.connect(URL, autocommit=True, application_name="monitor")
    admin.execute("DROP TABLE IF EXISTS s5_1_accounts")
    admin.execute("CREATE TABLE s5_1_accounts (id integer PRIMARY KEY, plan text NOT NULL)")
    admin.execute("INSERT INTO s5_1_accounts VALUES (1, 'pro'), (2, 'free')")

    report = psycopg.connect(URL, application_name="s5_1_report_job")  # autocommit off
    migration = psycopg.connect(URL, autocommit=True, application_name="s5_1_migration")
    api: psycopg.Connection[tuple[object, ...]] | None = None
    waiter: threading.Thread | None = None
    try:
        count = report.execute("SELECT count(*) FROM s5_1_accounts").fetchone()
        print(
            "report job read", count, "and forgot to commit:", report.info.transaction_status.name
        )

        migration.execute("SET lock_timeout = '300ms'")
        try:
            migration.execute("ALTER TABLE s5_1_accounts ADD COLUMN region text")
        except psycopg.errors.LockNotAvailable as exc:
            print("migration with lock_timeout:", type(exc).__name__, "-", exc)

        migration.execute("SET lock_timeout = 0")  # 0 = wait forever, the server default
        outcome: list[str] = []
        waiter = threading.Thread(
            target=lambda: outcome.append(
                migration.execute("ALTER TABLE s5_1_accounts ADD COLUMN region text").statusmessage
                or ""
            ),
            daemon=True,  # if anything below fails, a thread stuck on the lock must not hang us
        )
        waiter.start()
        deadline = time.monotonic() + 5
        while not admin.execute(
            "SELECT 1 FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = 's5_1_migration'"
            " AND wait_event_type = 'Lock'"
        ).fetchone():
            if time.monotonic() > deadline:
                raise RuntimeError("the ALTER never started waiting for its lock")
            time.sleep(0.01)

        print("pg_stat_activity while the ALTER waits:")
        sessions(admin)
        api = psycopg.connect(URL, autocommit=True, application_name="s5_1_api")
        api.execute("SET statement_timeout = '300ms'")
        try:
            api.execute("SELECT plan FROM s5_1_accounts WHERE id = 1")
        except psycopg.errors.QueryCanceled as exc:
            print("plain SELECT queued behind the ALTER:", type(exc).__name__, "-", exc)

        report.commit()  # the only fix: end the transaction
        waiter.join(timeout=5)
        print("after the report job commits, migration says:", outcome)
        print(
            "API read now:", api.execute("SELECT plan FROM s5_1_accounts WHERE id = 1").fetchone()
        )
    finally:
        report.close()  # closing also ends the transaction, which releases a waiting ALTER
        if waiter is not None:
            waiter.join(timeout=5)
        migration.close()
        if api is not None:
            api.close()
        admin.execute("DROP TABLE IF EXISTS s5_1_accounts")
        admin.close()


def mariadb_snapshot() -> None:
    url = urlsplit(
        os.environ.get(
            "PYMASTERY_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/pymastery_examples"
        )
    )

    def connect() -> "pymysql.Connection[pymysql.cursors.Cursor]":
        return pymysql.connect(
            host=url.hostname,
            port=url.port or 3306,
            user=url.username,
            password=unquote(url.password or ""),
            database=url.path.lstrip("/"),
            ssl_disabled=True,
        )

    poller, producer = connect(), connect()
    try:
        with poller.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS s5_1_jobs")
            cur.execute("CREATE TABLE s5_1_jobs (id INTEGER PRIMARY KEY) ENGINE=InnoDB")
            cur.execute("SELECT @@tx_isolation")
            print("MariaDB default isolation:", cur.fetchone())

        def pending() -> object:
            with poller.cursor() as cur:
                cur.execute("SELECT count(*) FROM s5_1_jobs")
                return cur.fetchone()

        print("poller sees", pending(), "pending jobs")
        with producer.cursor() as cur:
            cur.executemany("INSERT INTO s5_1_jobs VALUES (%s)", [(1,), (2,), (3,)])
        producer.commit()
        print("producer committed 3 jobs; poller still sees", pending())
        poller.commit()  # ends the snapshot; the next read starts a fresh one
        print("after poller.commit() it sees", pending())
    finally:
        with poller.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS s5_1_jobs")  # DDL: implicitly commits first
        poller.close()
        producer.close()


if __name__ == "__main__":
    postgres_lock_queue()
    mariadb_snapshot()
