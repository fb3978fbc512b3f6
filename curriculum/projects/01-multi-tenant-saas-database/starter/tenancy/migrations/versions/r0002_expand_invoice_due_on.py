"""Expand: store each invoice's due date, derived from its payment terms.

Revision ID: 0002
Revises: 0001
"""

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add a NULLable invoices.due_on and backfill it from issued_on + payment_terms_days."""
    raise NotImplementedError("TODO")


def downgrade() -> None:
    raise NotImplementedError("TODO")
