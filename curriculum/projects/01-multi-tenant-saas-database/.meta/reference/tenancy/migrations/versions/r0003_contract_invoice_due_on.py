"""Contract: due_on becomes required and payment_terms_days goes away.

Revision ID: 0003
Revises: 0002

The second half of the expand-contract change. Rows written by old code between 0002 and now
have terms but no due date, so the backfill runs once more before NOT NULL is enforced.
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.execute("UPDATE invoices SET due_on = issued_on + payment_terms_days WHERE due_on IS NULL")
    op.alter_column("invoices", "due_on", existing_type=sa.Date(), nullable=False)
    op.create_check_constraint("ck_invoices_due_after_issue", "invoices", "due_on >= issued_on")
    op.drop_constraint("ck_invoices_terms_not_negative", "invoices", type_="check")
    op.drop_column("invoices", "payment_terms_days")


def downgrade() -> None:
    op.add_column("invoices", sa.Column("payment_terms_days", sa.Integer(), nullable=True))
    op.execute("UPDATE invoices SET payment_terms_days = due_on - issued_on")
    op.alter_column(
        "invoices",
        "payment_terms_days",
        existing_type=sa.Integer(),
        nullable=False,
        server_default="30",
    )
    op.create_check_constraint(
        "ck_invoices_terms_not_negative", "invoices", "payment_terms_days >= 0"
    )
    op.drop_constraint("ck_invoices_due_after_issue", "invoices", type_="check")
    op.alter_column("invoices", "due_on", existing_type=sa.Date(), nullable=True)
