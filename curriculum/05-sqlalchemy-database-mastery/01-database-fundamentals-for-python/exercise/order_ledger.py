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
    # TODO: refuse a timeout <= 0 with ValueError (0 means "no timeout" to PostgreSQL).
    # TODO: connect with the application name and the statement timeout applied to the
    #       session, without leaving a transaction open.
    raise NotImplementedError


def place_order(conn: Connection, tenant: str, reference: str, lines: Sequence[OrderLine]) -> int:
    """Store one order and all of its lines atomically; return the new order id.

    - An order without lines raises ValueError before anything is sent to the server.
    - On success the transaction is committed.
    - If the database refuses any statement (a duplicate reference, a quantity of 0,
      a negative price ...), the whole order is rolled back, the connection is left
      usable, and OrderRejected is raised with the driver's exception as __cause__.
    """
    # TODO: refuse an order without lines before sending anything.
    # TODO: INSERT the order with RETURNING id, then all of its lines, as parameters.
    # TODO: on a database error roll back, then raise OrderRejected(...) from the error.
    # TODO: commit and return the id.
    raise NotImplementedError


def tenant_totals(conn: Connection, tenant: str) -> dict[str, Decimal]:
    """Return ``{reference: order total}`` for one tenant, ordered by reference.

    The database computes the totals (sum of quantity * unit_price) in a single query.
    A tenant without orders gives an empty dict. The read does not leave a
    transaction open.
    """
    # TODO: one parameterised SELECT ... JOIN ... GROUP BY ... ORDER BY reference.
    # TODO: end the read transaction before returning.
    raise NotImplementedError
