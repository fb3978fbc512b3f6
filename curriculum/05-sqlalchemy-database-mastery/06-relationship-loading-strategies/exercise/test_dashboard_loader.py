"""Behavioural tests for dashboard_loader.py, run against a real PostgreSQL."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from dashboard_loader import (
    Base,
    Customer,
    DashboardRow,
    Order,
    OrderLine,
    StatementCounter,
    dashboard_rows,
    load_dashboard,
)
from sqlalchemy import Engine, create_engine, event, exc, select, text
from sqlalchemy.orm import Session

URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = create_engine(URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()


def seed(engine: Engine, manager: str, names: list[str]) -> None:
    """Each customer gets an open, a shipped and a cancelled order: 2 live orders worth 31.50."""
    with Session(engine) as session:
        for name in names:
            orders = [
                Order(
                    reference=f"{name}-open",
                    status="open",
                    lines=[
                        OrderLine(sku="BOLT", quantity=2, unit_price=Decimal("10.00")),
                        OrderLine(sku="NUT", quantity=1, unit_price=Decimal("5.50")),
                    ],
                ),
                Order(
                    reference=f"{name}-shipped",
                    status="shipped",
                    lines=[OrderLine(sku="WASHER", quantity=3, unit_price=Decimal("2.00"))],
                ),
                Order(
                    reference=f"{name}-cancelled",
                    status="cancelled",
                    lines=[OrderLine(sku="CRANE", quantity=1, unit_price=Decimal("100.00"))],
                ),
            ]
            session.add(Customer(name=name, account_manager=manager, orders=orders))
        session.commit()


@contextmanager
def statements_sent(engine: Engine) -> Iterator[list[str]]:
    """The tests' own counter, so a broken StatementCounter cannot hide a loader problem."""
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_counter_records_each_statement_sent_inside_the_block(engine: Engine) -> None:
    with engine.connect() as conn, StatementCounter(engine) as counter:
        conn.execute(text("SELECT 1"))
        conn.execute(text("SELECT 2"))
    assert counter.count == 2, f"two statements were sent in the block, counted {counter.count}"
    assert counter.statements == ["SELECT 1", "SELECT 2"], (
        "statements should hold the SQL text of each statement, in the order sent"
    )


def test_counter_stops_counting_when_the_block_ends(engine: Engine) -> None:
    with engine.connect() as conn:
        with StatementCounter(engine) as counter:
            conn.execute(text("SELECT 1"))
        conn.execute(text("SELECT 2"))
    assert counter.count == 1, (
        "a statement sent after the with block was counted: remove the listener in __exit__"
    )


def test_counter_detaches_its_listener_when_the_block_raises(engine: Engine) -> None:
    counter = StatementCounter(engine)
    with pytest.raises(ZeroDivisionError), counter:
        _ = 1 / 0
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert counter.count == 0, "the listener outlived a failing block: __exit__ must always detach"


def test_statement_count_does_not_grow_with_the_number_of_customers(engine: Engine) -> None:
    seed(engine, "dana", [f"Customer {n:02}" for n in range(30)])
    counts = []
    for limit in (3, 30):
        with Session(engine) as session, statements_sent(engine) as sent:
            customers = load_dashboard(session, "dana", limit=limit)
            dashboard_rows(customers)
        assert len(customers) == limit, f"limit={limit} should return {limit} customers"
        counts.append(len(sent))
    assert counts[0] == counts[1], (
        f"3 customers took {counts[0]} statements but 30 took {counts[1]}: something is lazy"
        " loading per customer or per order (the N+1 problem)"
    )
    assert counts[1] <= 3, f"customers, orders and lines fit in 3 statements, got {counts[1]}"


def test_only_live_orders_are_loaded_into_the_collection(engine: Engine) -> None:
    seed(engine, "dana", ["Acme"])
    with Session(engine) as session:
        [acme] = load_dashboard(session, "dana")
        references = [order.reference for order in acme.orders]
    assert references == ["Acme-open", "Acme-shipped"], (
        f"got {references}: filter the collection with Customer.orders.and_(...), not in Python"
    )


def test_loading_the_dashboard_leaves_nothing_for_the_next_commit_to_write(engine: Engine) -> None:
    seed(engine, "dana", ["Acme"])
    with Session(engine) as session:
        load_dashboard(session, "dana")
        changed = list(session.dirty)
    assert changed == [], (
        f"load_dashboard left {len(changed)} modified object(s) in the session. Assigning a"
        " filtered list to customer.orders is a change: the next commit() would set the cancelled"
        " orders' customer_id to NULL. Filter in the query, with loader criteria, instead"
    )


def test_cancelled_orders_stay_out_when_the_session_already_holds_them(engine: Engine) -> None:
    seed(engine, "dana", ["Acme"])
    with Session(engine) as session:
        acme = session.scalars(select(Customer)).one()
        assert len(acme.orders) == 3  # a lazy load put all three orders in the identity map
        [acme] = load_dashboard(session, "dana")
        references = [order.reference for order in acme.orders]
    assert "Acme-cancelled" not in references, (
        "the already-loaded collection was kept as it was; loader criteria only apply when the"
        " collection is loaded again, which populate_existing=True forces"
    )


def test_customers_are_filtered_by_manager_ordered_by_name_and_limited(engine: Engine) -> None:
    seed(engine, "dana", ["Umbrella", "Acme", "Initech", "Globex"])
    seed(engine, "lee", ["Aardvark Ltd"])
    with Session(engine) as session:
        names = [customer.name for customer in load_dashboard(session, "dana", limit=3)]
    assert names == ["Acme", "Globex", "Initech"], (
        f"got {names}: expected dana's customers only, sorted by name, the first 3 (the limit"
        " counts customers, not joined rows)"
    )


def test_orders_and_lines_can_be_read_after_the_session_closes(engine: Engine) -> None:
    seed(engine, "dana", ["Acme"])
    with Session(engine) as session:
        [acme] = load_dashboard(session, "dana")
    skus = [line.sku for order in acme.orders for line in order.lines]
    assert skus == ["BOLT", "NUT", "WASHER"], f"got {skus} from the detached objects"


def test_relationships_that_were_not_requested_raise_instead_of_loading(engine: Engine) -> None:
    seed(engine, "dana", ["Acme"])
    with Session(engine) as session:
        [acme] = load_dashboard(session, "dana")
        order = acme.orders[0]
        error: exc.InvalidRequestError | None = None
        with statements_sent(engine) as sent:
            try:
                _ = order.customer
            except exc.InvalidRequestError as raised:
                error = raised
    assert sent == [], "Order.customer was lazy loaded with SQL: add raiseload('*') to the query"
    assert error is not None and "lazy='raise'" in str(error), (
        "reading Order.customer, which the dashboard never asked for, returned a value (the"
        " customer was in the identity map, so no SQL was needed). raiseload('*') in the query's"
        " options makes every relationship it does not name raise InvalidRequestError instead"
    )


def test_rows_sum_the_live_orders_without_sending_sql(engine: Engine) -> None:
    seed(engine, "dana", ["Globex", "Acme"])
    with Session(engine) as session:
        customers = load_dashboard(session, "dana")
        with statements_sent(engine) as sent:
            rows = dashboard_rows(customers)
    assert rows == [
        DashboardRow("Acme", 2, Decimal("31.50")),
        DashboardRow("Globex", 2, Decimal("31.50")),
    ], f"got {rows}: 2*10.00 + 1*5.50 (open) + 3*2.00 (shipped); the cancelled 100.00 is out"
    assert sent == [], f"dashboard_rows sent {len(sent)} statements; it must use loaded data only"


def test_a_customer_with_only_cancelled_orders_gets_a_zero_row(engine: Engine) -> None:
    with Session(engine) as session:
        order = Order(reference="X-1", status="cancelled", lines=[])
        session.add(Customer(name="Hooli", account_manager="dana", orders=[order]))
        session.commit()
    with Session(engine) as session:
        rows = dashboard_rows(load_dashboard(session, "dana"))
    assert rows == [DashboardRow("Hooli", 0, Decimal("0.00"))], (
        f"got {rows}: a customer with no live orders still gets a row, with zero value"
    )
    assert str(rows[0].order_value) == "0.00", "start the sum at Decimal('0.00') to keep cents"
