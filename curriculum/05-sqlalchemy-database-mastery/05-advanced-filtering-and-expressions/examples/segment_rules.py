"""Compile saved customer-segment rules (JSON from an admin UI) into one SQLAlchemy WHERE clause."""

import json
import logging
import os
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, Numeric, String, and_, create_engine, false, not_, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement

log = logging.getLogger("s5_5.segments")
POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_5_segment_customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(2))
    lifetime_value: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    churned_on: Mapped[date | None] = mapped_column(Date)
    profile: Mapped[dict[str, Any]] = mapped_column(JSONB)


# The whitelist: rule field names -> SQL expressions and a converter for the JSON value.
FIELDS: dict[str, tuple[Any, Callable[[Any], Any]]] = {
    "email": (Customer.email, str),
    "country": (Customer.country, str),
    "lifetime_value": (Customer.lifetime_value, Decimal),  # never float: see the lesson
    "churned_on": (Customer.churned_on, date.fromisoformat),
    "profile.plan": (Customer.profile["plan"].astext, str),
    "profile.seats": (Customer.profile["seats"].as_integer(), int),
}
OPS: dict[str, Callable[[Any, Any], ColumnElement[bool]]] = {
    "==": lambda col, v: col == v,
    ">=": lambda col, v: col >= v,
    "<": lambda col, v: col < v,
    "in": lambda col, v: col.in_(v),
    "ends_with": lambda col, v: col.endswith(v, autoescape=True),
    "is_null": lambda col, v: col.is_(None),
}


def compile_rule(rule: object) -> ColumnElement[bool]:
    """Turn one rule node into SQL; raise ValueError on anything not whitelisted."""
    if not isinstance(rule, dict):  # a list, string or number where a rule object belongs
        raise ValueError(f"rule {rule!r}: expected a JSON object")
    if "all" in rule:
        return and_(true(), *(compile_rule(r) for r in rule["all"]))
    if "any" in rule:
        return or_(false(), *(compile_rule(r) for r in rule["any"]))
    if "not" in rule:
        return not_(compile_rule(rule["not"]))
    field, op = rule.get("field"), rule.get("op")
    if field not in FIELDS or op not in OPS:
        raise ValueError(f"rule {rule!r}: unknown field or operator")
    column, convert = FIELDS[field]
    value: Any = rule.get("value")
    if op == "is_null":
        return OPS[op](column, None)
    if value is None or isinstance(value, list) != (op == "in"):  # "DE" would iterate as D, E
        raise ValueError(f"rule {rule!r}: 'in' takes a JSON list, other operators one value")
    try:
        value = [convert(v) for v in value] if op == "in" else convert(value)
    except (TypeError, ValueError, ArithmeticError) as exc:  # Decimal("x") is ArithmeticError
        raise ValueError(f"rule {rule!r}: {value!r} is no valid {field}") from exc
    return OPS[op](column, value)


CUSTOMERS = [  # email, country, lifetime_value, churned_on, profile
    ("ana@shop.example", "DE", "1500.00", None, {"plan": "pro", "seats": 3}),
    ("ben@corp.example", "AT", "200.00", None, {"plan": "enterprise", "seats": 40}),
    ("cem@shop.example", "DE", "90.00", date(2024, 1, 9), {"plan": "free"}),
    ("dora@qa.example.test", "CH", "5000.00", None, {"plan": "pro", "seats": 5}),
    ("eli@corp.example", None, "2500.00", None, {"plan": "enterprise", "seats": 12}),
    ("fay@shop.example", "FR", "1200.00", None, {"plan": "pro", "seats": 2}),
]
SEGMENTS = {
    "DACH high value": """{"all": [
        {"field": "country", "op": "in", "value": ["DE", "AT", "CH"]},
        {"any": [{"field": "lifetime_value", "op": ">=", "value": "1000"},
                 {"field": "profile.plan", "op": "==", "value": "enterprise"}]},
        {"not": {"field": "email", "op": "ends_with", "value": ".test"}},
        {"field": "churned_on", "op": "is_null"}]}""",
    "not in DE": '{"not": {"field": "country", "op": "==", "value": "DE"}}',
    "empty any": '{"any": []}',
    "big teams": '{"field": "profile.seats", "op": ">=", "value": 10}',
    "tampered": '{"field": "email; DROP TABLE", "op": "==", "value": "x"}',
    "typo in value": '{"field": "lifetime_value", "op": ">=", "value": "1k"}',
    "malformed": '{"any": "country"}',
}


def main() -> None:
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            session.add_all(
                Customer(email=e, country=c, lifetime_value=Decimal(v), churned_on=d, profile=p)
                for e, c, v, d, p in CUSTOMERS
            )
            session.flush()
            for name, rules in SEGMENTS.items():
                try:
                    condition = compile_rule(json.loads(rules))
                except ValueError as exc:
                    log.error("segment %r rejected: %s", name, exc)
                    continue
                sql = str(condition.compile(engine)).replace("s5_5_segment_customers.", "")
                members = session.scalars(
                    select(Customer.id).where(condition).order_by(Customer.id)
                ).all()
                print(f"{name}: {members}\n   {' '.join(sql.split())}")
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
