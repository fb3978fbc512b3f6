"""Where the time goes: opening connections, and one round trip per row versus batches.

Timings vary by machine and run; the row counts do not.
"""

import os
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from urllib.parse import unquote, urlsplit

import psycopg
import psycopg2
import psycopg2.extras
import pymysql

PG_URL = (
    "postgresql://"
    + os.environ.get(
        "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
    ).partition("://")[2]
)
MY = urlsplit(
    os.environ.get("PYMASTERY_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/pymastery_examples")
)
ROWS = [(n, f"tenant-{n % 7}", Decimal(n % 500) + Decimal("0.99")) for n in range(2000)]
INSERT = "INSERT INTO s5_1_payments (id, tenant, amount) VALUES (%s, %s, %s)"
DDL = (
    "CREATE TABLE s5_1_payments (id INTEGER PRIMARY KEY, tenant VARCHAR(20), amount DECIMAL(10,2))"
)


def median_ms(
    action: Callable[[], object], *, runs: int, before: Callable[[], object] | None = None
) -> float:
    samples = []
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def mariadb(*, ssl_disabled: bool | None) -> "pymysql.Connection[pymysql.cursors.Cursor]":
    return pymysql.connect(
        host=MY.hostname,
        port=MY.port or 3306,
        user=MY.username,
        password=unquote(MY.password or ""),
        database=MY.path.lstrip("/"),
        ssl_disabled=ssl_disabled,
    )


def connect_and_close(ssl_disabled: bool | None) -> None:
    mariadb(ssl_disabled=ssl_disabled).close()


def connection_costs(pg: psycopg.Connection) -> None:
    print("-- per operation, median of 20")
    fresh = median_ms(lambda: psycopg.connect(PG_URL).close(), runs=20)
    reused = median_ms(lambda: pg.execute("SELECT 1"), runs=20)
    print(f"{'psycopg 3: connect + close':<42} {fresh:.2f} ms")
    print(f"{'psycopg 3: SELECT 1 on an open connection':<42} {reused:.2f} ms")
    for label, flag in (
        ("PyMySQL: connect, TLS 'preferred' default", None),
        ("PyMySQL: connect, ssl_disabled=True", True),
    ):
        cost = median_ms(partial(connect_and_close, flag), runs=20)
        print(f"{label:<42} {cost:.2f} ms")


def postgres_batches(pg3: psycopg.Connection) -> None:
    pg2 = psycopg2.connect(PG_URL)
    pg3.execute("DROP TABLE IF EXISTS s5_1_payments")
    pg3.execute(DDL)
    pg3.commit()

    def truncate() -> None:
        pg3.execute("TRUNCATE s5_1_payments")
        pg3.commit()

    def psycopg2_executemany() -> None:
        with pg2, pg2.cursor() as cur:  # `with pg2` commits; it does NOT close
            cur.executemany(INSERT, ROWS)

    def psycopg2_execute_values() -> None:
        with pg2, pg2.cursor() as cur:
            sql = "INSERT INTO s5_1_payments (id, tenant, amount) VALUES %s"
            psycopg2.extras.execute_values(cur, sql, ROWS, page_size=1000)

    def psycopg3_executemany() -> None:
        with pg3.transaction(), pg3.cursor() as cur:
            cur.executemany(INSERT, ROWS)  # pipeline mode: no wait between rows

    def psycopg3_copy() -> None:
        copy_sql = "COPY s5_1_payments (id, tenant, amount) FROM STDIN"
        with pg3.transaction(), pg3.cursor() as cur, cur.copy(copy_sql) as copy:
            for row in ROWS:
                copy.write_row(row)

    print(f"-- insert {len(ROWS)} rows into PostgreSQL, median of 3")
    for label, action in (
        ("psycopg2 executemany", psycopg2_executemany),
        ("psycopg2.extras.execute_values", psycopg2_execute_values),
        ("psycopg 3 executemany", psycopg3_executemany),
        ("psycopg 3 COPY", psycopg3_copy),
    ):
        cost = median_ms(action, runs=3, before=truncate)
        stored = pg3.execute("SELECT count(*), sum(amount) FROM s5_1_payments").fetchone()
        print(f"{label:<42} {cost:.2f} ms  stored={stored}")
    pg3.execute("DROP TABLE s5_1_payments")
    pg3.commit()
    pg2.close()


def mariadb_batches() -> None:
    conn = mariadb(ssl_disabled=True)
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS s5_1_payments")
    cur.execute(DDL)

    def truncate() -> None:
        cur.execute("TRUNCATE s5_1_payments")

    def row_by_row() -> None:
        for row in ROWS:
            cur.execute(INSERT, row)
        conn.commit()

    def executemany() -> None:
        cur.executemany(INSERT, ROWS)  # rewritten into multi-row INSERTs
        conn.commit()

    print(f"-- insert {len(ROWS)} rows into MariaDB, median of 3")
    for label, action in (
        ("PyMySQL execute per row", row_by_row),
        ("PyMySQL executemany", executemany),
    ):
        cost = median_ms(action, runs=3, before=truncate)
        cur.execute("SELECT count(*), sum(amount) FROM s5_1_payments")
        print(f"{label:<42} {cost:.2f} ms  stored={cur.fetchone()}")
    cur.execute("DROP TABLE s5_1_payments")
    conn.close()


if __name__ == "__main__":
    with psycopg.connect(PG_URL) as pg:
        connection_costs(pg)
        pg.rollback()
        postgres_batches(pg)
    mariadb_batches()
