"""One DB-API 2.0 function, run unchanged on psycopg2 (PostgreSQL) and PyMySQL (MariaDB)."""

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import ModuleType
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import psycopg2
import pymysql


class Cursor(Protocol):
    """The slice of PEP 249's cursor this module relies on."""

    @property
    def description(self) -> Sequence[Any] | None: ...
    @property
    def rowcount(self) -> int: ...
    def execute(self, operation: str, params: tuple[Any, ...] = ..., /) -> object: ...
    def executemany(self, operation: str, seq: Iterable[tuple[Any, ...]], /) -> object: ...
    def fetchone(self) -> tuple[Any, ...] | None: ...
    def fetchmany(self, size: int = ..., /) -> Sequence[tuple[Any, ...]]: ...
    def close(self) -> None: ...


class Connection(Protocol):
    def cursor(self) -> Cursor: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Driver:
    label: str
    module: ModuleType  # PEP 249 puts the exception classes on the module
    connect: Callable[[], Connection]


INSERT = "INSERT INTO s5_1_invoices (id, tenant, number, amount) VALUES (%s, %s, %s, %s)"
INVOICES = [
    (1, "acme", "INV-0001", Decimal("120.00")),
    (2, "acme", "INV-0002", Decimal("75.50")),
    (3, "globex", "INV-0003", Decimal("9.99")),
    (4, "acme", "INV-0004", Decimal("310.25")),
]


def exercise_driver(driver: Driver) -> None:
    module = driver.module
    print(
        f"== {driver.label}: apilevel={module.apilevel} threadsafety={module.threadsafety}"
        f" paramstyle={module.paramstyle}"
    )
    conn = driver.connect()
    cur = conn.cursor()
    try:
        cur.execute("DROP TABLE IF EXISTS s5_1_invoices")
        cur.execute(
            "CREATE TABLE s5_1_invoices (id INTEGER PRIMARY KEY, tenant VARCHAR(40) NOT NULL,"
            " number VARCHAR(20) NOT NULL UNIQUE, amount NUMERIC(10, 2) NOT NULL)"
        )
        cur.executemany(INSERT, INVOICES)
        print("executemany rowcount:", cur.rowcount)
        conn.commit()

        cur.execute(
            "SELECT number, amount FROM s5_1_invoices WHERE tenant = %s ORDER BY id", ("acme",)
        )
        print("columns:", [column[0] for column in cur.description or ()])
        print("fetchone:", cur.fetchone())
        print("fetchmany(5):", cur.fetchmany(5))
        print("fetchone when exhausted:", cur.fetchone())

        cur.execute(INSERT, (5, "acme", "INV-0005", Decimal("42.00")))
        try:
            cur.execute(INSERT, (6, "acme", "INV-0001", Decimal("1.00")))  # duplicate number
        except module.IntegrityError as exc:
            print("IntegrityError raised as", f"{type(exc).__module__}.{type(exc).__name__}")
        try:
            cur.execute(INSERT, (7, "acme", "INV-0007", Decimal("8.00")))
            print("next INSERT in the same transaction: accepted")
        except module.Error as exc:
            print("next INSERT in the same transaction: refused,", type(exc).__name__)
        conn.rollback()
        cur.execute("SELECT count(*) FROM s5_1_invoices")
        print("rows after rollback:", cur.fetchone())
    finally:
        conn.rollback()  # after an error PostgreSQL would refuse even the DROP below
        cur.execute("DROP TABLE IF EXISTS s5_1_invoices")
        conn.commit()
        cur.close()
        conn.close()


def postgres() -> Connection:
    url = os.environ.get(
        "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
    )
    return psycopg2.connect("postgresql://" + url.partition("://")[2])  # drop "+psycopg"


def mariadb() -> Connection:
    url = urlsplit(
        os.environ.get(
            "PYMASTERY_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/pymastery_examples"
        )
    )
    return pymysql.connect(
        host=url.hostname,
        port=url.port or 3306,
        user=url.username,
        password=unquote(url.password or ""),
        database=url.path.lstrip("/"),
        ssl_disabled=True,
    )


if __name__ == "__main__":
    exercise_driver(Driver("psycopg2 -> PostgreSQL", psycopg2, postgres))
    exercise_driver(Driver("PyMySQL -> MariaDB", pymysql, mariadb))
