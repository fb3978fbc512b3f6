"""Declarative models for a multi-tenant invoicing schema, and the DDL PostgreSQL receives.

Run it to see every CREATE statement SQLAlchemy sends, then three inserts that the
database itself rejects: a duplicate key, a failed CHECK and a cross-tenant reference.
"""

import datetime as dt
import enum
import os
from decimal import Decimal
from typing import Annotated, Any

import psycopg
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    insert,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)

# Reusable column recipes: Annotated carries the mapped_column() settings into every model.
BigPk = Annotated[int, mapped_column(BigInteger, Identity(), primary_key=True)]
Money = Annotated[Decimal, mapped_column(Numeric(12, 2))]
CreatedAt = Annotated[
    dt.datetime, mapped_column(DateTime(timezone=True), server_default=func.now())
]


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "pk": "pk_%(table_name)s",
            "fk": "fk_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        }
    )


class Tenant(Base):
    __tablename__ = "s5_3_tenants"

    id: Mapped[BigPk]
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[CreatedAt]


class Customer(Base):
    __tablename__ = "s5_3_customers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        UniqueConstraint("tenant_id", "id"),  # the target of the composite FK below
    )

    id: Mapped[BigPk]
    tenant_id: Mapped[int] = mapped_column(ForeignKey("s5_3_tenants.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    vat_number: Mapped[str | None] = mapped_column(String(20))


class Invoice(Base):
    __tablename__ = "s5_3_invoices"
    __table_args__ = (
        # The customer must belong to the same tenant as the invoice: (tenant_id, customer_id).
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["s5_3_customers.tenant_id", "s5_3_customers.id"]
        ),
        UniqueConstraint("tenant_id", "number"),
        CheckConstraint("total >= 0", name="total_non_negative"),
        Index(None, "tenant_id", "customer_id"),  # serves the FK above
        Index(
            "ix_s5_3_invoices_open_due",
            "tenant_id",
            "due_on",
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[BigPk]
    tenant_id: Mapped[int] = mapped_column(ForeignKey("s5_3_tenants.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigInteger)  # no ForeignKey() here to copy the type
    number: Mapped[str] = mapped_column(String(30))
    status: Mapped[InvoiceStatus] = mapped_column(
        Enum(
            InvoiceStatus,
            name="invoice_status",
            native_enum=False,
            create_constraint=True,
            length=16,
            values_callable=lambda members: [m.value for m in members],
        ),
        server_default=InvoiceStatus.DRAFT.value,
    )
    total: Mapped[Money] = mapped_column(server_default="0")
    due_on: Mapped[dt.date]
    created_at: Mapped[CreatedAt]


class InvoiceLine(Base):
    __tablename__ = "s5_3_invoice_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("s5_3_invoices.id", ondelete="CASCADE"), primary_key=True
    )
    line_no: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[int]
    unit_price: Mapped[Money]


class DdlRecorder:
    """Keep each CREATE statement exactly as it goes to the server."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().startswith("CREATE"):
            lines = statement.strip().replace("\t", "    ").splitlines()
            self.statements.append("\n".join(line.rstrip() for line in lines) + ";")


def try_invoice(conn: Connection, label: str, **values: Any) -> None:
    """Insert one invoice inside a savepoint and report how PostgreSQL answered."""
    row = {"tenant_id": 1, "customer_id": 1, "number": "INV-1", "due_on": dt.date(2025, 7, 31)}
    try:
        with conn.begin_nested():
            conn.execute(insert(Invoice).values({**row, **values}))
        print(f"{label}: accepted")
    except IntegrityError as exc:
        assert isinstance(exc.orig, psycopg.Error)
        print(f"{label}: {type(exc.orig).__name__} on {exc.orig.diag.constraint_name}")


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    recorder = DdlRecorder()
    event.listen(engine, "before_cursor_execute", recorder)
    Base.metadata.create_all(engine)
    event.remove(engine, "before_cursor_execute", recorder)
    # Tables arrive in FK dependency order; a table's indexes come from a set, so sort them.
    tables = [ddl for ddl in recorder.statements if ddl.startswith("CREATE TABLE")]
    indexes = sorted(ddl for ddl in recorder.statements if not ddl.startswith("CREATE TABLE"))
    print("\n\n".join(tables + indexes), end="\n\n")
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(Tenant),
                [{"slug": "acme", "name": "Acme"}, {"slug": "globex", "name": "Globex"}],
            )
            conn.execute(insert(Customer).values(tenant_id=1, email="ap@initech.test"))
            try_invoice(conn, "first invoice")
            try_invoice(conn, "same number, same tenant")
            try_invoice(conn, "negative total", number="INV-2", total=-5)
            try_invoice(conn, "customer of another tenant", tenant_id=2)
            status, total = conn.execute(text("SELECT status, total FROM s5_3_invoices")).one()
            print(f"server defaults filled in: status={status!r} total={total}")
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
