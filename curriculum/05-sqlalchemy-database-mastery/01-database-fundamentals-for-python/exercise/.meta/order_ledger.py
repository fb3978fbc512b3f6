"""An order ledger on a bare DB-API connection (psycopg 3, PostgreSQL).

No ORM: you own the connection settings, the transaction boundaries and the parameters.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg

SCHEMA = """
CREATE TABLE IF NOT EXISTS s5_1_ledger_orders (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant    text NOT NULL,
    reference text NOT NULL,
    UNIQUE (tenant, reference)
);
CREATE TABLE IF NOT EXISTS s5_1_ledger_lines (
    order_id   bigint NOT NULL REFERENCES s5_1_ledger_orders (id),
    sku        text NOT NULL,
    quantity   integer NOT NULL CHECK (quantity > 0),
    unit_price numeric(10, 2) NOT NULL CHECK (unit_price >= 0)
);
"""

APPLICATION_NAME = "s5_1_ledger"

Connection = psycopg.Connection[tuple[Any, ...]]


@dataclass(frozen=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price: Decimal


class OrderRejected(Exception):
    """The database refused the order; nothing of it was stored."""


def create_schema(conn: Connection) -> None:
    """Create the two ledger tables if they do not exist, and commit. (Given.)"""
    conn.execute(SCHEMA)
    conn.commit()


def open_connection(url: str, *, statement_timeout_ms: int) -> Connection:
    """Open a connection for the ledger.

    - `url` is a libpq URL such as ``postgresql://postgres@127.0.0.1:5432/db``.
    - The session is labelled ``application_name = 's5_1_ledger'`` so that it can be
      found in ``pg_stat_activity``.
    - Every statement on this connection is cancelled by the server after
      `statement_timeout_ms` milliseconds.
    - Autocommit stays off (the DB-API default): callers commit explicitly.
    - The connection is returned idle: no transaction left open.
    """
    if statement_timeout_ms <= 0:
        raise ValueError("statement_timeout_ms must be positive; 0 would disable the timeout")
    return psycopg.connect(
        url,
        application_name=APPLICATION_NAME,
        options=f"-c statement_timeout={statement_timeout_ms}",
    )


def place_order(conn: Connection, tenant: str, reference: str, lines: Sequence[OrderLine]) -> int:
    """Store one order and all of its lines atomically; return the new order id.

    - An order without lines raises ValueError before anything is sent to the server.
    - On success the transaction is committed.
    - If the database refuses any statement (a duplicate reference, a quantity of 0,
      a negative price ...), the whole order is rolled back, the connection is left
      usable, and OrderRejected is raised with the driver's exception as __cause__.
    """
    if not lines:
        raise ValueError(f"order {reference!r} has no lines")
    try:
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO s5_1_ledger_orders (tenant, reference) VALUES (%s, %s) RETURNING id",
                (tenant, reference),
            )
            row = cur.fetchone()
            if row is None:
                raise RuntimeError("INSERT ... RETURNING returned no row")
            order_id: int = row[0]
            cur.executemany(
                "INSERT INTO s5_1_ledger_lines (order_id, sku, quantity, unit_price)"
                " VALUES (%s, %s, %s, %s)",
                [(order_id, line.sku, line.quantity, line.unit_price) for line in lines],
            )
    except psycopg.DatabaseError as exc:
        conn.rollback()
        raise OrderRejected(f"order {reference!r} for {tenant!r} was refused: {exc}") from exc
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
    return order_id


def tenant_totals(conn: Connection, tenant: str) -> dict[str, Decimal]:
    """Return ``{reference: order total}`` for one tenant, ordered by reference.

    The database computes the totals (sum of quantity * unit_price) in a single query.
    A tenant without orders gives an empty dict. The read does not leave a
    transaction open.
    """
    try:
        rows = conn.execute(
            "SELECT o.reference, sum(l.quantity * l.unit_price)"
            " FROM s5_1_ledger_orders AS o JOIN s5_1_ledger_lines AS l ON l.order_id = o.id"
            " WHERE o.tenant = %s GROUP BY o.reference ORDER BY o.reference",
            (tenant,),
        ).fetchall()
    finally:
        conn.rollback()  # a read-only transaction: ending it releases its snapshot and locks
    return dict(rows)
