"""The ORM models: the tenant registry (control plane) and the invoicing tables (data plane).

No table names a schema. The registry lives in the namespace's control schema and the invoicing
tables in whichever data schema a unit of work is bound to; `schema_translate_map` fills the
schema in at execution time, so one set of classes serves every tenant.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKeyConstraint,
    Identity,
    Index,
    MetaData,
    Numeric,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


class Placement(StrEnum):
    """Where a tenant's rows live."""

    SCHEMA = "schema"  # a schema of its own, reached through a role of its own
    POOLED = "pooled"  # the shared pooled schema, separated by tenant_id and row-level security


class ControlBase(DeclarativeBase):
    """The control plane: one registry per namespace, read before any tenant scope is set."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Tenant(ControlBase):
    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    slug: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    placement: Mapped[Placement] = mapped_column(
        Enum(
            Placement,
            native_enum=False,
            create_constraint=True,
            length=10,
            name="placement",
            values_callable=lambda members: [member.value for member in members],
        )
    )
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Base(DeclarativeBase):
    """The data plane: identical tables in the pooled schema and in every tenant schema."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TenantScoped:
    """A row that belongs to exactly one tenant; the unit of work stamps and filters tenant_id."""

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True, sort_order=-2)
    tenant_id: Mapped[int] = mapped_column(BigInteger, sort_order=-1)


class User(TenantScoped, Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)

    email: Mapped[str] = mapped_column(String(320))
    full_name: Mapped[str] = mapped_column(String(200))


class Customer(TenantScoped, Base):
    __tablename__ = "customers"
    # (tenant_id, id) is unique so that invoices can reference it: a composite foreign key is
    # what stops an invoice of one tenant from pointing at another tenant's customer.
    __table_args__ = (UniqueConstraint("tenant_id", "id"),)

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))

    invoices: Mapped[list["Invoice"]] = relationship(
        back_populates="customer", order_by="Invoice.id"
    )


class Invoice(TenantScoped, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "number"),
        ForeignKeyConstraint(["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"]),
        Index("ix_invoices_tenant_id_customer_id", "tenant_id", "customer_id"),
        CheckConstraint("due_on >= issued_on", name="due_after_issue"),
    )

    customer_id: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[str] = mapped_column(String(30))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)

    customer: Mapped[Customer] = relationship(back_populates="invoices")
    lines: Mapped[list["InvoiceLine"]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.id"
    )

    @property
    def total(self) -> Decimal:
        """The sum of quantity x unit price over the lines, to the cent."""
        return sum((line.amount for line in self.lines), Decimal("0.00"))


class InvoiceLine(TenantScoped, Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            ondelete="CASCADE",
        ),
        Index("ix_invoice_lines_tenant_id_invoice_id", "tenant_id", "invoice_id"),
        CheckConstraint("quantity > 0", name="positive_quantity"),
        CheckConstraint("unit_price >= 0", name="non_negative_price"),
    )

    invoice_id: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))

    invoice: Mapped[Invoice] = relationship(back_populates="lines")

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class TenantInfo:
    """A registered tenant, as a unit of work needs it: plain values, safe to cache and share."""

    id: int
    slug: str
    name: str
    placement: Placement
    schema: str  # the data schema that holds its rows
    role: str  # the database role its units of work run as
