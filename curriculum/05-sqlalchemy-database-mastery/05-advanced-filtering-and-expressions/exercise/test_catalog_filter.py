"""Behavioural tests for catalog_filter.py, run against a real PostgreSQL."""

import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from catalog_filter import Base, CatalogQuery, Product, build_filter, search_products
from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
EVERY_SKU = ["CB-050", "CB-510", "CH-100", "CH-200", "HD-300", "HD-310"]


def catalogue() -> list[Product]:
    rows: list[tuple[Any, ...]] = [
        # sku, name, description, brand, category, price, discount_pct, stock, attrs
        (
            "CH-100",
            "USB-C Charger 65W",
            "Fast charger for laptops",
            "Voltix",
            "chargers",
            "49.90",
            0,
            12,
            {"color": "black", "power": {"watts": 65}},
        ),
        (
            "CH-200",
            "Wireless Charging Pad",
            "Qi wireless charger for phones",
            "Voltix",
            "chargers",
            "29.00",
            10,
            0,
            {"color": "white"},
        ),
        (
            "CB-050",
            "Braided cable 50% longer",
            "Extra long charging cable",
            None,
            "cables",
            "15.00",
            0,
            None,
            {"color": "black"},
        ),
        (
            "CB-510",
            "Cable 5000 mm",
            "Long USB-C cable",
            "Cordia",
            "cables",
            "10.05",
            50,
            3,
            {"color": "red"},
        ),
        (
            "HD-300",
            "Noise cancelling headphones",
            "Over-ear, long battery life",
            "Sonique",
            "audio",
            "199.00",
            25,
            7,
            {"color": "black", "power": {"watts": 5}},
        ),
        (
            "HD-310",
            "Earbuds CHARGER case",
            "Spare charger case for earbuds",
            "Sonique",
            "audio",
            "19.99",
            0,
            -2,
            {"color": "white"},
        ),
    ]
    return [
        Product(
            sku=s,
            name=n,
            description=d,
            brand=b,
            category=c,
            price=Decimal(p),
            discount_pct=pct,
            stock=st,
            attrs=a,
        )
        for s, n, d, b, c, p, pct, st, a in rows
    ]


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    engine = create_engine(URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all(catalogue())
        session.commit()
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def skus(session: Session, **criteria: Any) -> list[str]:
    return search_products(session, CatalogQuery(**criteria))


def test_a_query_with_no_criteria_returns_every_product(session: Session) -> None:
    found = skus(session)
    assert found == EVERY_SKU, (
        f"got {found}: with nothing set, the filter must be true for every row "
        "(and_(true(), *conditions) stays valid when the list is empty)"
    )


def test_text_matches_a_substring_of_the_name_in_any_case(session: Session) -> None:
    found = skus(session, text="charger")
    assert found == ["CH-100", "HD-310"], (
        f"got {found}: 'charger' should match 'USB-C Charger 65W' and 'Earbuds CHARGER case' "
        "(ILIKE, or icontains(), compares case-insensitively)"
    )


def test_percent_and_underscore_in_the_text_are_literal_characters(session: Session) -> None:
    percent = skus(session, text="50%")
    assert percent == ["CB-050"], (
        f"got {percent}: '50%' must match only 'Braided cable 50% longer'; an unescaped % is a "
        "wildcard and also matches 'Cable 5000 mm' (use autoescape=True)"
    )
    underscore = skus(session, text="usb_c")
    assert underscore == [], (
        f"got {underscore}: no name contains 'usb_c'; an unescaped _ matches any one character, "
        "so it matched 'USB-C'"
    )


def test_an_empty_category_list_matches_nothing(session: Session) -> None:
    assert skus(session, categories=["cables"]) == ["CB-050", "CB-510"]
    found = skus(session, categories=[])
    assert found == [], (
        f"got {found}: categories=[] means 'none of them' and must return no rows, while "
        "categories=None means 'any category'"
    )


def test_effective_price_rounds_half_up_like_postgresql(session: Session) -> None:
    cable = Product(price=Decimal("10.05"), discount_pct=50)
    assert cable.effective_price == Decimal("5.03"), (
        f"got {cable.effective_price}: 10.05 at 50% off is 5.025, which PostgreSQL's round() "
        "takes to 5.03; Decimal.quantize rounds half to even (5.02) unless told ROUND_HALF_UP"
    )
    in_sql = session.scalar(select(Product.effective_price).where(Product.sku == "CB-510"))
    assert in_sql == Decimal("5.03"), f"the SQL side returned {in_sql}; it should be 5.03"


def test_price_bounds_are_inclusive_and_use_the_discounted_price(session: Session) -> None:
    exact = skus(session, min_price=Decimal("26.10"), max_price=Decimal("26.10"))
    assert exact == ["CH-200"], (
        f"got {exact}: the pad costs 29.00 less 10% = 26.10, so 26.10..26.10 must find it; "
        "compare effective_price (not price) with >= and <="
    )
    listed = skus(session, min_price=Decimal("27.00"), max_price=Decimal("30.00"))
    assert listed == [], (
        f"got {listed}: the pad is listed at 29.00 but sells for 26.10; "
        "min_price applies to effective_price too"
    )
    below = skus(session, max_price=Decimal("5.02"))
    assert below == [], f"got {below}: the cable's effective price is 5.03, above 5.02"


def test_excluding_a_brand_keeps_products_without_a_brand(session: Session) -> None:
    found = skus(session, exclude_brand="Voltix")
    assert found == ["CB-050", "CB-510", "HD-300", "HD-310"], (
        f"got {found}: brand != 'Voltix' is NULL, not true, for the unbranded cable CB-050; "
        "use is_distinct_from() (or OR brand IS NULL)"
    )


def test_attributes_match_by_jsonb_containment_including_nested_keys(session: Session) -> None:
    assert skus(session, attributes={"color": "black"}) == ["CB-050", "CH-100", "HD-300"]
    nested = skus(session, attributes={"power": {"watts": 65}})
    assert nested == ["CH-100"], (
        f"got {nested}: a nested object must match by containment (JSONB @>), "
        "e.g. Product.attrs.contains({...})"
    )


def test_out_of_stock_includes_zero_negative_and_unknown_stock(session: Session) -> None:
    assert skus(session, in_stock=True) == ["CB-510", "CH-100", "HD-300"]
    found = skus(session, in_stock=False)
    assert found == ["CB-050", "CH-200", "HD-310"], (
        f"got {found}: stock <= 0 is NULL for the cable whose stock is unknown; "
        "add OR stock IS NULL for in_stock=False"
    )


def test_words_use_stemming_and_web_search_syntax(session: Session) -> None:
    found = skus(session, words="chargers -wireless")
    assert found == ["CH-100", "HD-310"], (
        f"got {found}: 'chargers -wireless' should find the products whose name or description "
        "mention a charger but not 'wireless' (websearch_to_tsquery('english', ...) @@ search)"
    )


def test_criteria_combine_with_and(session: Session) -> None:
    found = skus(
        session, categories=["chargers", "audio"], in_stock=True, attributes={"color": "black"}
    )
    assert found == ["CH-100", "HD-300"], f"got {found}: every criterion set must hold at once"


def test_the_filter_is_sql_and_runs_as_one_select(engine: Engine, session: Session) -> None:
    condition = build_filter(CatalogQuery(text="cable"))
    assert isinstance(condition, ColumnElement), (
        f"build_filter returned {type(condition).__name__}; it must return a SQL expression "
        "the database evaluates, never a Python bool"
    )
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        found = skus(session, text="cable", in_stock=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert found == ["CB-510"]
    assert len(statements) == 1 and "ILIKE" in statements[0], (
        f"expected one SELECT using ILIKE, saw {statements}: filter in SQL, not in Python"
    )
