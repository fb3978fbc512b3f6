"""SQL injection in a SQLAlchemy code base: f-strings in text(), what psycopg 3 lets through, bound
parameters, and the parts of a statement that cannot be parameters (sort keys, schema names, SET).
"""

import os
import re

from sqlalchemy import Connection, String, create_engine, func, insert, select, text
from sqlalchemy.exc import CompileError, DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement

DATABASE_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
OR_TRUE = "x' OR '1'='1"
STACKED = "x'; UPDATE s5_14_customers SET email = 'owned@evil.test'; --"


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_14_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int]
    name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(120))


def error(exc: DBAPIError) -> str:
    return f"{type(exc.orig).__name__}: {str(exc.orig).splitlines()[0]}"


def owned(conn: Connection) -> int:
    query = select(func.count()).where(Customer.email == "owned@evil.test")
    return int(conn.execute(query).scalar_one())


def find_unsafe(conn: Connection, tenant_id: int, email: str) -> list[str]:
    sql = f"SELECT name FROM s5_14_customers WHERE tenant_id = {tenant_id} AND email = '{email}'"
    return list(conn.execute(text(sql)).scalars())


def find_half_safe(conn: Connection, tenant_id: int, email: str) -> list[str]:
    sql = f"SELECT name FROM s5_14_customers WHERE tenant_id = :tenant AND email = '{email}'"
    return list(conn.execute(text(sql), {"tenant": tenant_id}).scalars())


def find_safe(conn: Connection, tenant_id: int, email: str) -> list[str]:
    sql = text("SELECT name FROM s5_14_customers WHERE tenant_id = :tenant AND email = :email")
    return list(conn.execute(sql, {"tenant": tenant_id, "email": email}).scalars())


SORTABLE: dict[str, ColumnElement[str]] = {
    "name": Customer.name.asc(),
    "-name": Customer.name.desc(),
    "email": Customer.email.asc(),
}
SCHEMA_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


def sort_key(requested: str) -> ColumnElement[str]:
    """Identifiers cannot be bound: map what the client may ask for to columns you chose."""
    try:
        return SORTABLE[requested]
    except KeyError:
        raise ValueError(f"unsupported sort {requested!r}; use one of {sorted(SORTABLE)}") from None


def main() -> None:
    engine = create_engine(DATABASE_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(Customer),
            [
                {"tenant_id": 1, "name": "Acme Ops", "email": "ops@acme.test"},
                {"tenant_id": 1, "name": "Acme Finance", "email": "ap@acme.test"},
                {"tenant_id": 2, "name": "Globex CFO", "email": "cfo@globex.test"},
                {"tenant_id": 2, "name": "Globex Legal", "email": "legal@globex.test"},
            ],
        )

    with engine.connect() as conn:
        print("== 1. an f-string in text(), no bound parameters at all")
        print("  normal input  ->", find_unsafe(conn, 1, "ops@acme.test"))
        print("  OR_TRUE       ->", find_unsafe(conn, 1, OR_TRUE))
        print(
            "  STACKED       ->", find_unsafe(conn, 1, STACKED), f"| rows now owned: {owned(conn)}"
        )
        conn.rollback()

        print("== 2. the same f-string next to one bound parameter")
        print("  OR_TRUE       ->", find_half_safe(conn, 1, OR_TRUE))
        try:
            find_half_safe(conn, 1, STACKED)
        except DBAPIError as exc:
            print("  STACKED       ->", error(exc))
        conn.rollback()

        print("== 3. bound parameters: the input is a value, whatever it contains")
        for payload in ("ops@acme.test", OR_TRUE, STACKED):
            print(f"  {payload[:22]:<22} -> {find_safe(conn, 1, payload)}")
        orm_style = select(Customer.name).where(Customer.tenant_id == 1, Customer.email == OR_TRUE)
        print("  ORM select()           ->", conn.execute(orm_style).all())
        print("  sent as:", " ".join(str(orm_style.compile(engine)).split()))

        print("== 4. ORDER BY from a query string")
        try:
            conn.execute(select(Customer.name).order_by(text("CAST(current_user AS int)")))
        except DBAPIError as exc:
            print("  text(sort) leaks through the error ->", error(exc))
        conn.rollback()
        try:
            conn.execute(select(Customer.name).order_by("name; DROP TABLE s5_14_customers"))
        except CompileError as exc:
            print("  a plain string is refused:", str(exc)[:68], "...")
        for requested in ("-name", "email desc"):
            try:
                rows = conn.execute(select(Customer.name).order_by(sort_key(requested)).limit(2))
                print(f"  sort={requested!r} ->", rows.scalars().all())
            except ValueError as exc:
                print(f"  sort={requested!r} -> 400 Bad Request: {exc}")

        print("== 5. schema names: check them against a strict rule, then quote them")
        quote = engine.dialect.identifier_preparer.quote
        for name in ("tenant_acme", "Tenant_Acme", "order", 'acme"; DROP SCHEMA public; --'):
            known = bool(SCHEMA_NAME.fullmatch(name))
            print(f"  {name!r:<32} quoted {quote(name):<34} allowed: {known}")
        hostile = conn.execution_options(schema_translate_map={None: 'x"; DROP SCHEMA public; --'})
        try:
            hostile.execute(select(Customer.name))
        except DBAPIError as exc:
            print("  schema_translate_map quotes it too ->", error(exc))
        conn.rollback()

        print("== 6. SET cannot take a parameter; set_config() can")
        try:
            conn.execute(text("SET LOCAL app.tenant_id = :tenant"), {"tenant": "1"})
        except DBAPIError as exc:
            print("  SET LOCAL ... = :tenant ->", error(exc))
        conn.rollback()
        set_tenant = text("SELECT set_config('app.tenant_id', :tenant, true)")
        print(
            "  set_config(..., :tenant, true) ->",
            conn.execute(set_tenant, {"tenant": OR_TRUE}).scalar(),
        )
        print(
            "  read back:", conn.execute(text("SELECT current_setting('app.tenant_id')")).scalar()
        )
        conn.rollback()

    Base.metadata.drop_all(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
