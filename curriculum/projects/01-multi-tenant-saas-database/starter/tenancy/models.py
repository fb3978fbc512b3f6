"""The ORM models: the tenant registry (control plane) and the invoicing tables (data plane).

No table names a schema: the registry lives in the namespace's control schema and the invoicing
tables in whichever data schema a unit of work is bound to. The control plane is complete; the
data plane has its columns and leaves the constraints, relationships and totals to you.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Enum,
    Identity,
    MetaData,
    Numeric,
    String,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Constraint names matter: the migrations name every constraint explicitly, and autogenerate
# compares the models with the database by these names.
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


@dataclass(frozen=True)
class TenantInfo:
    """A registered tenant, as a unit of work needs it: plain values, safe to cache and share."""

    id: int
    slug: str
    name: str
    placement: Placement
    schema: str  # the data schema that holds its rows
    role: str  # the database role its units of work run as


class Base(DeclarativeBase):
    """The data plane: identical tables in the pooled schema and in every tenant schema."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TenantScoped:
    """A row that belongs to exactly one tenant; the unit of work stamps and filters tenant_id."""

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True, sort_order=-2)
    tenant_id: Mapped[int] = mapped_column(BigInteger, sort_order=-1)


class User(TenantScoped, Base):
    __tablename__ = "users"
    # TODO: an email is unique per tenant, not globally (SPEC.md, "The data model").

    email: Mapped[str] = mapped_column(String(320))
    full_name: Mapped[str] = mapped_column(String(200))


class Customer(TenantScoped, Base):
    __tablename__ = "customers"
    # TODO: make (tenant_id, id) unique so that invoices can reference it.

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))

    # TODO: invoices: Mapped[list["Invoice"]], ordered by id.


class Invoice(TenantScoped, Base):
    __tablename__ = "invoices"
    # TODO: unique (tenant_id, id) and (tenant_id, number); a composite foreign key
    # (tenant_id, customer_id) -> customers (tenant_id, id) with an index; due_on >= issued_on.

    customer_id: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[str] = mapped_column(String(30))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)

    # TODO: customer: Mapped[Customer]; lines: Mapped[list["InvoiceLine"]] (saved and deleted
    # with the invoice, ordered by id).

    @property
    def total(self) -> Decimal:
        """The sum of quantity x unit price over the lines, to the cent."""
        raise NotImplementedError("TODO: sum the lines")


class InvoiceLine(TenantScoped, Base):
    __tablename__ = "invoice_lines"
    # TODO: a composite foreign key (tenant_id, invoice_id) -> invoices (tenant_id, id) that
    # cascades deletes, with an index; quantity > 0; unit_price >= 0.

    invoice_id: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))

    # TODO: invoice: Mapped[Invoice]
