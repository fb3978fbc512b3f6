"""Invoicing tables with tenant_id, composite keys and row-level security.

Revision ID: 0001
Revises:

Runs once per data schema (the pooled schema and every tenant schema) with the search_path set
to that schema, so no name here is schema-qualified. Row-level security is enabled but not
forced: the role that runs migrations owns the tables and must see every row for data
migrations; the application roles are not owners, so the policies bind them.
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

TENANT_TABLES = ("users", "customers", "invoices", "invoice_lines")
# '' once a session has set and reset the setting, NULL if it never did: both mean "no tenant"
CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"


def id_columns() -> list[sa.Column[int]]:
    return [
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "users",
        *id_columns(),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("tenant_id", "email", name="uq_users_tenant_id_email"),
    )
    op.create_table(
        "customers",
        *id_columns(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_customers_tenant_id_id"),
    )
    op.create_table(
        "invoices",
        *id_columns(),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.String(30), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("payment_terms_days", sa.Integer(), server_default="30", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_invoices"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_invoices_tenant_id_id"),
        sa.UniqueConstraint("tenant_id", "number", name="uq_invoices_tenant_id_number"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "customer_id"],
            ["customers.tenant_id", "customers.id"],
            name="fk_invoices_tenant_id_customer_id",
        ),
        sa.CheckConstraint("payment_terms_days >= 0", name="ck_invoices_terms_not_negative"),
    )
    op.create_index("ix_invoices_tenant_id_customer_id", "invoices", ["tenant_id", "customer_id"])
    op.create_table(
        "invoice_lines",
        *id_columns(),
        sa.Column("invoice_id", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(12, 2), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_invoice_lines"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "invoice_id"],
            ["invoices.tenant_id", "invoices.id"],
            name="fk_invoice_lines_tenant_id_invoice_id",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("quantity > 0", name="ck_invoice_lines_positive_quantity"),
        sa.CheckConstraint("unit_price >= 0", name="ck_invoice_lines_non_negative_price"),
    )
    op.create_index(
        "ix_invoice_lines_tenant_id_invoice_id", "invoice_lines", ["tenant_id", "invoice_id"]
    )
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table}"
            f" USING (tenant_id = {CURRENT_TENANT})"
            f" WITH CHECK (tenant_id = {CURRENT_TENANT})"
        )


def downgrade() -> None:
    for table in reversed(TENANT_TABLES):
        op.drop_table(table)  # its policy goes with it
