"""Two ways to keep tenants apart in one PostgreSQL database.

A. Schema per tenant: one set of mapped classes whose schema is the placeholder "tenant";
   schema_translate_map swaps in the tenant's schema when each statement executes.
B. Shared tables with a tenant_id column, guarded by row-level security: the policy reads a
   transaction-local setting, and the application connects through a role RLS applies to.
"""

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Numeric,
    String,
    create_engine,
    event,
    exc,
    func,
    insert,
    make_url,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
log = logging.getLogger("saas.tenancy")
TENANTS = ("acme", "globex")
# Roles belong to the whole server, not one database: name it after the examples database.
APP_ROLE = "s5_13_app" + (make_url(POSTGRES_URL).database or "").removeprefix("pymastery_examples")


class TenantBase(DeclarativeBase):
    metadata = MetaData(schema="tenant")  # a placeholder, never a real schema


class TenantInvoice(TenantBase):
    __tablename__ = "s5_13_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))


class SharedBase(DeclarativeBase):
    pass


class SharedInvoice(SharedBase):
    __tablename__ = "s5_13_rls_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(30), index=True)
    number: Mapped[str] = mapped_column(String(20))
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))


def schema_of(tenant: str) -> str:
    return f"s5_13_tenant_{tenant}"


def tenant_engine(engine: Engine, tenant: str) -> Engine:
    """A view of the same engine (same pool) that renders 'tenant' as this tenant's schema."""
    return engine.execution_options(schema_translate_map={"tenant": schema_of(tenant)})


def schema_per_tenant(engine: Engine) -> None:
    log.info("A1. provisioning: one schema per tenant, tables created through the map")
    with engine.begin() as conn:
        for tenant in TENANTS:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema_of(tenant)} CASCADE")
            conn.exec_driver_sql(f"CREATE SCHEMA {schema_of(tenant)}")
            TenantBase.metadata.create_all(
                conn.execution_options(schema_translate_map={"tenant": schema_of(tenant)})
            )
    log.info("A2. the same mapped class writes to a different schema per tenant")
    sql: list[str] = []

    def record(conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
        sql.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    for tenant, number, total in [("acme", "A-1001", "120.00"), ("globex", "G-1001", "75.00")]:
        with Session(tenant_engine(engine, tenant)) as session:
            session.add(TenantInvoice(number=number, total=Decimal(total)))
            session.commit()
            count = session.scalar(select(func.count()).select_from(TenantInvoice))
            log.info("   %-6s sees %d invoice(s)", tenant, count)
    event.remove(engine, "before_cursor_execute", record)
    for statement in sql:
        log.info("      sent: %s", " ".join(statement.split())[:84])
    log.info("   the statement itself names only the placeholder:")
    log.info("      %s", " ".join(str(select(TenantInvoice.number)).split()))
    log.info("A3. a session without the map fails closed")
    with Session(engine) as session:
        try:
            session.scalars(select(TenantInvoice)).all()
        except exc.ProgrammingError as error:
            log.warning("   %s", str(error.orig).splitlines()[0])


@contextmanager
def tenant_session(engine: Engine, tenant: str | None) -> Iterator[Session]:
    """A session whose every transaction runs as APP_ROLE with app.tenant_id set locally."""
    session = Session(engine)

    @event.listens_for(session, "after_begin")
    def scope(session: Session, transaction: Any, connection: Connection) -> None:
        connection.exec_driver_sql(f"SET LOCAL ROLE {APP_ROLE}")
        if tenant is not None:
            connection.execute(
                text("SELECT set_config('app.tenant_id', :tenant, true)"), {"tenant": tenant}
            )

    try:
        yield session
    finally:
        session.close()


def row_level_security(engine: Engine) -> None:
    log.info("B1. shared table + policy; the policy is an extra WHERE the planner adds")
    with engine.begin() as conn:
        conn.execute(
            insert(SharedInvoice),
            [
                {"tenant_id": "acme", "number": "A-1001", "total": 120},
                {"tenant_id": "acme", "number": "A-1002", "total": 64},
                {"tenant_id": "globex", "number": "G-1001", "total": 75},
            ],
        )
        conn.exec_driver_sql("ALTER TABLE s5_13_rls_invoices ENABLE ROW LEVEL SECURITY")
        conn.exec_driver_sql(
            "CREATE POLICY tenant_isolation ON s5_13_rls_invoices"
            " USING (tenant_id = current_setting('app.tenant_id', true))"
        )
        conn.exec_driver_sql(
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON s5_13_rls_invoices TO {APP_ROLE}"
        )
        conn.exec_driver_sql(f"GRANT USAGE ON SEQUENCE s5_13_rls_invoices_id_seq TO {APP_ROLE}")
    count_all = select(func.count()).select_from(SharedInvoice)
    with Session(engine) as session:
        log.info("   table owner, a superuser here:  rows=%d", session.scalar(count_all))
    for tenant in (*TENANTS, None):
        with tenant_session(engine, tenant) as session:
            rows = session.scalar(count_all)
            log.info("   app role, app.tenant_id=%-7s rows=%d", tenant, rows)
    with tenant_session(engine, "acme") as session:
        plan = session.execute(text("EXPLAIN (COSTS OFF) SELECT * FROM s5_13_rls_invoices"))
        for (line,) in plan:
            log.info("      %s", line)
    log.info("B2. writing another tenant's row is refused by the same policy")
    with tenant_session(engine, "acme") as session:
        session.add(SharedInvoice(tenant_id="globex", number="G-9999", total=Decimal("1.00")))
        try:
            session.commit()
        except exc.ProgrammingError as error:
            log.warning("   %s", str(error.orig).splitlines()[0])


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS s5_13_rls_invoices")
        if conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": APP_ROLE}):
            conn.exec_driver_sql(f"DROP OWNED BY {APP_ROLE}")
            conn.exec_driver_sql(f"DROP ROLE {APP_ROLE}")
        conn.exec_driver_sql(f"CREATE ROLE {APP_ROLE} NOLOGIN")
    SharedBase.metadata.create_all(engine)
    try:
        schema_per_tenant(engine)
        row_level_security(engine)
    finally:
        with engine.begin() as conn:
            for tenant in TENANTS:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema_of(tenant)} CASCADE")
            conn.exec_driver_sql("DROP TABLE IF EXISTS s5_13_rls_invoices")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {APP_ROLE}")
        engine.dispose()


if __name__ == "__main__":
    main()
