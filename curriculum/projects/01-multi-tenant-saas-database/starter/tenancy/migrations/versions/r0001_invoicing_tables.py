"""Invoicing tables with tenant_id, composite keys and row-level security.

Revision ID: 0001
Revises:

Runs once per data schema (the pooled schema and every tenant schema) with the search_path set
to that schema, so no name here is schema-qualified.
"""

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create users, customers, invoices (with payment_terms_days, not due_on) and
    invoice_lines as SPEC.md describes revision 0001, then enable row-level security with a
    tenant_isolation policy on each table."""
    raise NotImplementedError("TODO")


def downgrade() -> None:
    raise NotImplementedError("TODO")
