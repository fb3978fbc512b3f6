"""Behavioural tests for sales_report.py, run against a real PostgreSQL."""

import os
from collections.abc import Callable, Iterator, Sized
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sales_report import (
    Base,
    Customer,
    MonthRevenue,
    Order,
    RegionLeader,
    create_schema,
    dormant_customers,
    monthly_revenue,
    region_leaders,
    repeat_buyers,
)
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session

URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)

CUSTOMERS = [
    (1, "Acme", "EU"),
    (2, "Initech", "EU"),
    (3, "Vandelay", "EU"),
    (4, "Globex", "US"),
    (5, "Hooli", "US"),
    (6, "Stark", "US"),  # never orders
]
ORDERS = [  # (id, customer, status, placed_on, total)
    (1, 1, "paid", date(2024, 1, 10), "500.00"),
    (2, 1, "paid", date(2024, 3, 2), "100.00"),
    (3, 2, "paid", date(2024, 1, 15), "600.00"),  # Acme and Initech tie at 600.00
    (4, 3, "paid", date(2023, 12, 30), "50.00"),
    (5, 3, "refunded", date(2024, 3, 20), "9000.00"),  # a refund is never revenue
    (6, 4, "paid", date(2024, 1, 3), "250.00"),
    (7, 4, "paid", date(2024, 3, 9), "250.00"),
    (8, 4, "paid", date(2024, 3, 28), "250.00"),
    (9, 5, "paid", date(2024, 1, 20), "999.99"),
]


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    engine = create_engine(URL)
    create_schema(engine)
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        session.add_all(Customer(id=i, name=n, region=r) for i, n, r in CUSTOMERS)
        session.flush()
        for id_, customer_id, status, placed_on, total in ORDERS:
            session.add(
                Order(
                    id=id_,
                    customer_id=customer_id,
                    status=status,
                    placed_on=placed_on,
                    total=Decimal(total),
                )
            )
        session.flush()  # visible to this session's queries; rolled back at the end
        yield session
        session.rollback()


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[tuple[str, int]]]:
    """(SQL, rows the server sent back) for every statement executed while the test runs."""
    seen: list[tuple[str, int]] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append((statement, cursor.rowcount))

    event.listen(engine, "after_cursor_execute", record)
    yield seen
    event.remove(engine, "after_cursor_execute", record)


def test_region_leaders_ranks_paid_revenue_inside_each_region(session: Session) -> None:
    leaders = region_leaders(session, top=2)
    assert leaders == [
        RegionLeader("EU", 1, "Acme", Decimal("600.00")),
        RegionLeader("EU", 2, "Initech", Decimal("600.00")),
        RegionLeader("US", 1, "Hooli", Decimal("999.99")),
        RegionLeader("US", 2, "Globex", Decimal("750.00")),
    ], (
        "expected the two best customers per region by summed paid revenue, sorted by region "
        f"then rank, with the tie broken by name; got {leaders}"
    )


def test_region_leaders_never_counts_a_refund_as_revenue(session: Session) -> None:
    names = [leader.name for leader in region_leaders(session, top=3) if leader.region == "EU"]
    assert names == ["Acme", "Initech", "Vandelay"], (
        "Vandelay's 9000.00 order was refunded, so only its 50.00 paid order counts: "
        f"it must rank last in EU, got {names}"
    )


def test_region_leaders_gives_distinct_ranks_on_a_tie(session: Session) -> None:
    ranks = [leader.rank for leader in region_leaders(session, top=1)]
    assert ranks == [1, 1], (
        "top=1 must return exactly one customer per region even when two tie; "
        f"rank() or dense_rank() would repeat a rank. Got ranks {ranks}"
    )


def test_region_leaders_leaves_out_customers_without_paid_orders(session: Session) -> None:
    leaders = region_leaders(session, top=5)
    us = [(leader.rank, leader.name) for leader in leaders if leader.region == "US"]
    assert us == [(1, "Hooli"), (2, "Globex")], (
        "Stark has never ordered, so it has no paid revenue and is not a leader of anything; an "
        "outer join with coalesce(sum, 0) ranks it third. Join orders with an inner join. "
        f"Got US leaders {us}"
    )


def test_region_leaders_rejects_a_top_below_one(session: Session) -> None:
    with pytest.raises(ValueError):
        region_leaders(session, top=0)


def test_monthly_revenue_adds_a_running_total_for_the_year(session: Session) -> None:
    months = monthly_revenue(session, 2024)
    assert months == [
        MonthRevenue(1, Decimal("2349.99"), Decimal("2349.99")),
        MonthRevenue(3, Decimal("600.00"), Decimal("2949.99")),
    ], (
        "expected paid revenue for January and March 2024 only (February had no orders, "
        f"December 2023 is another year, the refund is not revenue); got {months}"
    )


def test_monthly_revenue_returns_the_month_as_an_int(session: Session) -> None:
    months = monthly_revenue(session, 2024)
    kinds = {type(month.month).__name__ for month in months}
    assert kinds == {"int"}, (
        "since PostgreSQL 14 extract() returns numeric, which arrives as Decimal; "
        f"cast it to Integer in SQL. Got month types {kinds}"
    )


def test_monthly_revenue_of_a_year_without_orders_is_empty(session: Session) -> None:
    assert monthly_revenue(session, 2022) == [], "no paid orders in 2022 means no rows"


def test_dormant_customers_include_those_who_never_ordered(session: Session) -> None:
    names = dormant_customers(session, since=date(2024, 3, 1))
    assert names == ["Hooli", "Initech", "Stark", "Vandelay"], (
        "dormant since 2024-03-01: Hooli and Initech last paid in January, Stark never "
        f"ordered, Vandelay only has a refund after the date; got {names}"
    )


def test_dormant_customers_counts_an_order_on_the_day_itself_as_activity(
    session: Session,
) -> None:
    names = dormant_customers(session, since=date(2024, 3, 28))
    assert "Globex" not in names, (
        f"Globex paid on 2024-03-28, so it is active 'on or after' that day; got {names}"
    )


def test_repeat_buyers_keeps_groups_that_reach_the_minimum(session: Session) -> None:
    buyers = repeat_buyers(session, min_orders=2)
    assert list(buyers.items()) == [("Globex", 3), ("Acme", 2)], (
        "expected customers with at least two paid orders, most orders first "
        f"(a refund is not a paid order); got {buyers}"
    )


def test_repeat_buyers_orders_equal_counts_by_name(session: Session) -> None:
    buyers = repeat_buyers(session, min_orders=1)
    assert list(buyers.items()) == [
        ("Globex", 3),
        ("Acme", 2),
        ("Hooli", 1),
        ("Initech", 1),
        ("Vandelay", 1),
    ], (
        "customers with the same number of paid orders must follow in name order: "
        "order_by(count.desc(), Customer.name), because without a tie-breaker PostgreSQL "
        f"returns equal counts in whatever order its sort leaves them; got {buyers}"
    )


def test_every_report_is_one_select_that_returns_only_the_answer(
    session: Session, statements: list[tuple[str, int]]
) -> None:
    reports: list[tuple[str, Callable[[], Sized]]] = [
        ("region_leaders", lambda: region_leaders(session, top=1)),
        ("monthly_revenue", lambda: monthly_revenue(session, 2024)),
        ("dormant_customers", lambda: dormant_customers(session, since=date(2024, 3, 1))),
        ("repeat_buyers", lambda: repeat_buyers(session, min_orders=2)),
    ]
    for name, report in reports:
        statements.clear()
        answer = report()
        sql = "\n---\n".join(statement for statement, _ in statements)
        assert len(statements) == 1, (
            f"{name} must be answered by one statement; it issued {len(statements)}:\n{sql}"
        )
        sent = statements[0][1]
        assert sent == len(answer), (
            f"{name} returned {len(answer)} results but PostgreSQL sent {sent} rows: let the "
            f"database filter, group and rank instead of doing it in Python. SQL:\n{sql}"
        )
