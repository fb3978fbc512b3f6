"""Querying a JSONB column: the SQL each accessor renders, what it matches, which index helps."""

import os
from typing import Any

from sqlalchemy import Index, Select, create_engine, event, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


class Checkout(Base):
    __tablename__ = "s5_5_checkouts"
    id: Mapped[int] = mapped_column(primary_key=True)
    attrs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    __table_args__ = (
        Index(
            "ix_s5_5_checkouts_attrs",
            attrs,
            postgresql_using="gin",
            postgresql_ops={"attrs": "jsonb_path_ops"},
        ),
    )


CHECKOUTS: list[dict[str, Any]] = [
    {
        "channel": "web",
        "items": 3,
        "shipping": {"country": "DE", "express": True},
        "tags": ["gift"],
        "coupon": None,
    },
    {"channel": "app", "items": 1, "shipping": {"country": "FR", "express": False}, "tags": []},
    {
        "channel": "web",
        "items": 12,
        "shipping": {"country": "DE", "express": False},
        "tags": ["b2b", "gift"],
        "coupon": "SPRING10",
    },
    {"channel": "pos", "items": 2, "tags": ["b2b"]},
]


def show(session: Session, label: str, stmt: Select[int]) -> None:
    where = str(stmt.compile(session.get_bind())).partition("WHERE ")[2]
    found = list(session.scalars(stmt.order_by(Checkout.id)))
    print(f"{label:<32} {found!s:<10} WHERE {where.replace('s5_5_checkouts.', '')}")


def explain_on_request(engine: Engine) -> None:
    """Prefix EXPLAIN to statements run with execution_options(explain=True)."""

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def prefix(
        conn: Connection, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> tuple[str, Any]:
        if context is not None and context.execution_options.get("explain"):
            statement = "EXPLAIN (COSTS OFF) " + statement
        return statement, params


def table_scan(session: Session, stmt: Select[int]) -> str:
    """The plan node that reads the table: which index, if any, the statement can use."""
    result = session.connection().execute(stmt.execution_options(explain=True))
    plan = [str(line) for line in result.scalars()]  # typed as the SELECT's int; really text
    return next(line.strip("-> ") for line in plan if "Scan" in line and "Heap" not in line)


def bulk_load(session: Session, rows: int) -> None:
    """Drop the GIN index, load, rebuild: nothing is left waiting in its pending list."""
    gin = next(iter(Base.metadata.tables[Checkout.__tablename__].indexes))
    gin.drop(session.connection())
    session.execute(
        text("""
        INSERT INTO s5_5_checkouts (attrs)
        SELECT jsonb_build_object(
            'channel', (ARRAY['web', 'app', 'pos'])[1 + i % 3], 'items', i % 20,
            'shipping', jsonb_build_object('country', 'C' || (i % 250)),
            'tags', CASE WHEN i % 500 = 0 THEN '["vip"]'::jsonb ELSE '[]'::jsonb END)
        FROM generate_series(1, :rows) AS i"""),
        {"rows": rows},
    )
    gin.create(session.connection())


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    explain_on_request(engine)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            session.add_all(Checkout(attrs=a) for a in CHECKOUTS)
            session.flush()
            q = select(Checkout.id)
            attrs = Checkout.attrs
            show(session, "['channel'].astext == 'web'", q.where(attrs["channel"].astext == "web"))
            show(session, "['items'].as_integer() >= 3", q.where(attrs["items"].as_integer() >= 3))
            show(
                session,
                "['shipping']['country'].astext",
                q.where(attrs["shipping"]["country"].astext == "DE"),
            )
            show(
                session,
                "[('shipping','country')].astext",
                q.where(attrs[("shipping", "country")].astext == "DE"),
            )
            show(
                session,
                "contains({'shipping': {...}})",
                q.where(attrs.contains({"shipping": {"express": True}})),
            )
            show(
                session, "contains({'tags': ['gift']})", q.where(attrs.contains({"tags": ["gift"]}))
            )
            show(session, "has_key('coupon')", q.where(attrs.has_key("coupon")))
            show(session, "['coupon'].astext.is_(None)", q.where(attrs["coupon"].astext.is_(None)))
            show(session, "['coupon'] == JSONB.NULL", q.where(attrs["coupon"] == JSONB.NULL))
            show(
                session,
                "path_exists('$.tags[*] ? ...')",
                q.where(attrs.path_exists('$.tags[*] ? (@ == "b2b")')),
            )
            show(session, "path_match('$.items > 10')", q.where(attrs.path_match("$.items > 10")))

            bulk_load(session, 60_000)
            # An expression index as a hand-written migration (or SQLAlchemy < 2.0.42) spells it:
            session.execute(
                text(
                    "CREATE INDEX ix_s5_5_country_arrow "
                    "ON s5_5_checkouts (((attrs -> 'shipping') ->> 'country'))"
                )
            )
            session.execute(text("ANALYZE s5_5_checkouts"))
            country = attrs["shipping"]["country"].astext == "C7"
            print("60,004 checkouts, plans:")
            print(
                "   @> {'tags': ['vip']}      ",
                table_scan(session, q.where(attrs.contains({"tags": ["vip"]}))),
            )
            print(
                "   has_key('coupon')         ",
                table_scan(session, q.where(attrs.has_key("coupon"))),
            )
            print("   country, index on -> ->>  ", table_scan(session, q.where(country)))
            Index("ix_s5_5_country", attrs["shipping"]["country"].astext).create(
                session.connection()
            )
            session.execute(text("ANALYZE s5_5_checkouts"))
            print("   country, index from SQLA  ", table_scan(session, q.where(country)))
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
