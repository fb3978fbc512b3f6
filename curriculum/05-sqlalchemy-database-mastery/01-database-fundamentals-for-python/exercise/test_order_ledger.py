"""Behavioural tests for order_ledger.py, run against a real PostgreSQL."""

import os
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from order_ledger import (
    OrderLine,
    OrderRejected,
    create_schema,
    open_connection,
    place_order,
    tenant_totals,
)
from psycopg.pq import TransactionStatus

URL = re.sub(
    r"^postgresql\+\w+://",
    "postgresql://",
    os.environ.get(
        "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
    ),
)
DROP = "DROP TABLE IF EXISTS s5_1_ledger_lines, s5_1_ledger_orders"
Connection = psycopg.Connection[tuple[Any, ...]]

WIDGETS = [
    OrderLine("widget", 3, Decimal("19.99")),
    OrderLine("washer", 1, Decimal("0.03")),
]


@pytest.fixture
def admin() -> Iterator[Connection]:
    """A separate autocommit session: it sees only what other sessions committed."""
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '5s'")  # never hang on a lock a bug left behind
        conn.execute(DROP)
        yield conn
        conn.execute(DROP)


@pytest.fixture
def conn(admin: Connection) -> Iterator[Connection]:
    connection = psycopg.connect(URL)
    create_schema(connection)
    yield connection
    connection.close()  # closing ends any transaction the code under test left open


def stored_orders(admin: Connection, reference: str) -> int:
    row = admin.execute(
        "SELECT count(*) FROM s5_1_ledger_orders WHERE reference = %s", (reference,)
    ).fetchone()
    assert row is not None
    count: int = row[0]
    return count


def test_open_connection_labels_the_session_and_sets_the_statement_timeout(
    admin: Connection,
) -> None:
    connection = open_connection(URL, statement_timeout_ms=1500)
    try:
        name = connection.execute("SHOW application_name").fetchone()
        timeout = connection.execute("SHOW statement_timeout").fetchone()
        assert name == ("s5_1_ledger",), f"application_name should be 's5_1_ledger', got {name}"
        assert timeout == ("1500ms",), f"statement_timeout should be 1500ms, got {timeout}"
        assert connection.autocommit is False, "keep the DB-API default: autocommit off"
    finally:
        connection.close()


def test_open_connection_returns_an_idle_connection(admin: Connection) -> None:
    connection = open_connection(URL, statement_timeout_ms=1500)
    try:
        status = connection.info.transaction_status
        assert status == TransactionStatus.IDLE, (
            f"the connection came back {status.name}: a SET or SELECT during setup opened a"
            " transaction that nobody ended (commit it, or pass the settings at connect time)"
        )
    finally:
        connection.close()


def test_a_statement_running_past_the_timeout_is_cancelled_by_the_server(
    admin: Connection,
) -> None:
    connection = open_connection(URL, statement_timeout_ms=100)
    try:
        with pytest.raises(psycopg.errors.QueryCanceled):
            connection.execute("SELECT pg_sleep(2)")
    finally:
        connection.close()


def test_a_timeout_of_zero_is_refused_because_it_would_disable_the_timeout() -> None:
    with pytest.raises(ValueError):
        open_connection(URL, statement_timeout_ms=0)


def test_place_order_commits_the_order_and_its_lines(conn: Connection, admin: Connection) -> None:
    order_id = place_order(conn, "acme", "PO-1001", WIDGETS)
    assert isinstance(order_id, int), f"place_order should return the new id, got {order_id!r}"
    lines = admin.execute(
        "SELECT sku, quantity, unit_price FROM s5_1_ledger_lines WHERE order_id = %s ORDER BY sku",
        (order_id,),
    ).fetchall()
    assert lines == [("washer", 1, Decimal("0.03")), ("widget", 3, Decimal("19.99"))], (
        "another session must see every line once place_order returns: did you commit?"
    )


def test_an_order_without_lines_is_refused_before_touching_the_database(
    conn: Connection, admin: Connection
) -> None:
    with pytest.raises(ValueError):
        place_order(conn, "acme", "PO-EMPTY", [])
    assert conn.info.transaction_status == TransactionStatus.IDLE, (
        "validate the input before sending anything: a statement was sent and left open"
    )
    assert stored_orders(admin, "PO-EMPTY") == 0


def test_a_bad_line_rolls_back_the_whole_order(conn: Connection, admin: Connection) -> None:
    lines = [OrderLine("widget", 2, Decimal("5.00")), OrderLine("gasket", 0, Decimal("1.00"))]
    with pytest.raises(OrderRejected) as caught:
        place_order(conn, "acme", "PO-1002", lines)
    assert isinstance(caught.value.__cause__, psycopg.errors.CheckViolation), (
        "raise OrderRejected from the driver's exception so the cause is kept"
    )
    assert conn.info.transaction_status == TransactionStatus.IDLE, "roll back before raising"
    assert stored_orders(admin, "PO-1002") == 0, "the order header must not survive a bad line"


def test_a_duplicate_reference_is_rejected_and_the_connection_stays_usable(
    conn: Connection,
) -> None:
    place_order(conn, "acme", "PO-1003", WIDGETS)
    with pytest.raises(OrderRejected) as caught:
        place_order(conn, "acme", "PO-1003", WIDGETS)
    assert isinstance(caught.value.__cause__, psycopg.errors.UniqueViolation)
    try:
        place_order(conn, "acme", "PO-1004", WIDGETS)
    except (OrderRejected, psycopg.Error) as exc:
        pytest.fail(
            f"a valid order after a rejected one failed with {exc!r}: roll back the failed"
            " transaction before raising, or the connection stays stuck in it"
        )


def test_the_same_reference_is_allowed_for_another_tenant(conn: Connection) -> None:
    first = place_order(conn, "acme", "PO-1005", WIDGETS)
    second = place_order(conn, "globex", "PO-1005", WIDGETS)
    assert first != second


def test_hostile_text_is_stored_verbatim_not_executed(conn: Connection, admin: Connection) -> None:
    tenant = "acme'); DROP TABLE s5_1_ledger_lines; --"
    place_order(conn, tenant, "O'Brien & Sons #1", WIDGETS)
    assert tenant_totals(conn, tenant) == {"O'Brien & Sons #1": Decimal("60.00")}, (
        "pass values as query parameters; never build SQL with f-strings or %"
    )
    assert admin.execute("SELECT to_regclass('s5_1_ledger_lines')").fetchone() == (
        "s5_1_ledger_lines",
    )


def test_tenant_totals_are_exact_decimals_per_order_sorted_by_reference(
    conn: Connection,
) -> None:
    # Steer PostgreSQL to a hash aggregate, whose rows come back in no particular order:
    # only an ORDER BY (or sorting in Python) makes the result sorted.
    conn.execute("SET enable_sort = off")
    conn.commit()
    bolts = [OrderLine("bolt", 10, Decimal("0.10"))]
    for reference in ("PO-2010", "PO-2002", "PO-2005"):
        place_order(conn, "acme", reference, bolts)
    place_order(conn, "acme", "PO-2001", WIDGETS)
    place_order(conn, "globex", "PO-2003", WIDGETS)
    totals = tenant_totals(conn, "acme")
    expected = {
        "PO-2001": Decimal("60.00"),
        "PO-2002": Decimal("1.00"),
        "PO-2005": Decimal("1.00"),
        "PO-2010": Decimal("1.00"),
    }
    assert totals == expected, (
        f"expected only acme's orders, 3 x 19.99 + 1 x 0.03 and 10 x 0.10 each; got {totals}"
    )
    assert list(totals) == sorted(expected), (
        f"order the result by reference: got {list(totals)}; without ORDER BY the database"
        " returns groups in whatever order its plan produces"
    )
    assert all(isinstance(total, Decimal) for total in totals.values()), "money stays Decimal"


def test_tenant_totals_is_empty_for_an_unknown_tenant_and_leaves_no_transaction_open(
    conn: Connection,
) -> None:
    assert tenant_totals(conn, "initech") == {}
    assert conn.info.transaction_status == TransactionStatus.IDLE, (
        "an unfinished read transaction pins locks and its snapshot: end it"
    )
