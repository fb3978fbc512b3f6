"""Shared pieces of the acceptance suite: the database address, names, seed data, cleanup.

The suite sets up and inspects the database with its own plain SQLAlchemy engine (logged in
as the URL's user), never through your package, so that what it checks does not depend on the
code under test.
"""

import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, Engine, make_url, text
from tenancy import Placement, Tenancy, TenantInfo

URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
# Roles are shared by every database of the cluster, so the namespace carries a digest of the
# database name: two runs on two databases never touch each other's roles.
NAMESPACE = "cap1_" + hashlib.sha256((make_url(URL).database or "").encode()).hexdigest()[:6]
HEAD = "0003"

SEED_CUSTOMERS = {
    "acme": ("Road Runner Supplies", "Coyote Engineering"),
    "globex": ("Cypress Creek Ventures", "Hammock District Outfitters"),
    "initech": ("Chotchkie's Catering", "Penetrode Distribution"),
    "umbrella": ("Raccoon City Pharmacy", "Arklay Lodge"),
}
# (subscription price, extra seats at 12.50) per tenant, so every tenant's total differs
SEED_PRICES = {
    "acme": (Decimal("499.00"), 4),
    "globex": (Decimal("1200.00"), 10),
    "initech": (Decimal("99.00"), 2),
    "umbrella": (Decimal("249.00"), 8),
}
SEAT_PRICE = Decimal("12.50")
PLACEMENTS = {
    "acme": Placement.SCHEMA,
    "globex": Placement.SCHEMA,
    "initech": Placement.POOLED,
    "umbrella": Placement.POOLED,
}
OWNER_EMAIL = "owner@example.test"  # every tenant has a user with this address


@dataclass(frozen=True)
class Seeded:
    """One tenant of the shared world and the rows the suite wrote for it."""

    tenant: TenantInfo
    customer_ids: tuple[int, ...]
    invoice_id: int
    total: Decimal

    @property
    def prefix(self) -> str:
        """Every customer name of this tenant starts with this; no other tenant's does."""
        return f"{self.tenant.slug}: "


@dataclass(frozen=True)
class World:
    tenancy: Tenancy
    tenants: dict[str, Seeded]

    def __getitem__(self, slug: str) -> Seeded:
        return self.tenants[slug]


def q(identifier: str) -> str:
    """Quote a name the suite built itself (never user input) for SQL text."""
    assert identifier.replace("_", "").isalnum(), identifier
    return f'"{identifier}"'


def seed(connection: Connection, tenant: TenantInfo) -> Seeded:
    """Write two customers, one invoice with two lines and one user, as the superuser."""
    schema = q(tenant.schema)
    customer_ids = tuple(
        connection.execute(
            text(
                f"INSERT INTO {schema}.customers (tenant_id, name, email) VALUES (:t, :n, :e)"
                " RETURNING id"
            ),
            {"t": tenant.id, "n": f"{tenant.slug}: {name}", "e": f"billing{i}@{tenant.slug}.test"},
        ).scalar_one()
        for i, name in enumerate(SEED_CUSTOMERS[tenant.slug])
    )
    invoice_id = connection.execute(
        text(
            f"INSERT INTO {schema}.invoices (tenant_id, customer_id, number, issued_on, due_on)"
            " VALUES (:t, :c, 'INV-0001', :issued, :due) RETURNING id"
        ),
        {
            "t": tenant.id,
            "c": customer_ids[0],
            "issued": dt.date(2025, 3, 1),
            "due": dt.date(2025, 3, 31),
        },
    ).scalar_one()
    price, seats = SEED_PRICES[tenant.slug]
    connection.execute(
        text(
            f"INSERT INTO {schema}.invoice_lines"
            " (tenant_id, invoice_id, description, quantity, unit_price)"
            " VALUES (:t, :i, 'Platform subscription', 1, :price),"
            " (:t, :i, 'Additional seat', :seats, :seat_price)"
        ),
        {"t": tenant.id, "i": invoice_id, "price": price, "seats": seats, "seat_price": SEAT_PRICE},
    )
    connection.execute(
        text(f"INSERT INTO {schema}.users (tenant_id, email, full_name) VALUES (:t, :e, :n)"),
        {"t": tenant.id, "e": OWNER_EMAIL, "n": f"{tenant.slug.title()} Owner"},
    )
    return Seeded(tenant, customer_ids, invoice_id, price + seats * SEAT_PRICE)


def drop_namespace(admin: Engine, prefix: str = NAMESPACE) -> None:
    """Drop every event trigger, schema and role whose name starts with prefix."""
    with admin.begin() as connection:
        triggers = connection.scalars(
            text("SELECT evtname FROM pg_event_trigger WHERE starts_with(evtname, :p)"),
            {"p": prefix},
        ).all()
        for trigger in triggers:  # a test's sabotage left behind by a crashed run
            connection.execute(text(f"DROP EVENT TRIGGER {q(trigger)}"))
        schemas = connection.scalars(
            text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :p)"), {"p": prefix}
        ).all()
        for schema in schemas:
            connection.execute(text(f"DROP SCHEMA {q(schema)} CASCADE"))
        roles = connection.scalars(
            text("SELECT rolname FROM pg_roles WHERE starts_with(rolname, :p)"), {"p": prefix}
        ).all()
        for role in roles:
            connection.execute(text(f"DROP OWNED BY {q(role)}"))
            connection.execute(text(f"DROP ROLE {q(role)}"))


def revision_of(admin: Engine, schema: str) -> str | None:
    """The revision recorded in the schema's own alembic_version table (None if it has none)."""
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"{q(schema)}.alembic_version"}
        ).scalar_one()
        if not exists:
            return None
        versions = connection.scalars(
            text(f"SELECT version_num FROM {q(schema)}.alembic_version")
        ).all()
    assert len(versions) <= 1, f"{schema}.alembic_version has several rows: {versions}"
    return versions[0] if versions else None
