"""Expand: store each invoice's due date, derived from its payment terms.

Revision ID: 0002
Revises: 0001

The first half of an expand-contract change. due_on is added as NULLable and backfilled, and
payment_terms_days stays, so code released before this revision (which writes only the
terms) keeps working against the expanded schema. 0003 contracts once no such code runs.
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("invoices", sa.Column("due_on", sa.Date(), nullable=True))
    # date + integer is a date in PostgreSQL. One statement is fine at this size; a large
    # table would be backfilled in batches of ids, each committed on its own.
    op.execute("UPDATE invoices SET due_on = issued_on + payment_terms_days WHERE due_on IS NULL")


def downgrade() -> None:
    op.drop_column("invoices", "due_on")
