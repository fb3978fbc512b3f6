"""Contract: due_on becomes required and payment_terms_days goes away.

Revision ID: 0003
Revises: 0002
"""

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Backfill rows written since 0002, make due_on NOT NULL, add the due_after_issue check,
    drop payment_terms_days (and its check)."""
    raise NotImplementedError("TODO")


def downgrade() -> None:
    raise NotImplementedError("TODO")
