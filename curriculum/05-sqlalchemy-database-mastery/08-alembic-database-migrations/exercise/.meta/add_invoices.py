"""Add invoices and a country for every customer.

Revision ID: 9f3b6c2d8e10
Revises: 4d1c0e7a9b21
Create Date: 2025-03-04 09:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "9f3b6c2d8e10"
down_revision: str | Sequence[str] | None = "4d1c0e7a9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CUSTOMERS = "s5_8_ex_customers"
INVOICES = "s5_8_ex_invoices"


def upgrade() -> None:
    """Bring the schema from the customers revision to the billing models."""
    # The server default fills the rows that already exist, so NOT NULL holds from the start.
    op.add_column(
        CUSTOMERS, sa.Column("country", sa.String(2), server_default="US", nullable=False)
    )
    op.create_table(
        INVOICES,
        sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
        sa.Column(
            "customer_id",
            sa.Integer(),  # a migration has no Customer model to copy the type from
            sa.ForeignKey(f"{CUSTOMERS}.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("number", sa.String(30), nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("status", sa.String(20), server_default="draft", nullable=False),
        sa.Column(
            "issued_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("customer_id", "number", name="uq_s5_8_ex_invoices_customer_number"),
        sa.CheckConstraint("amount >= 0", name="ck_s5_8_ex_invoices_amount"),
    )
    op.create_index("ix_s5_8_ex_invoices_customer_id", INVOICES, ["customer_id"])


def downgrade() -> None:
    """Undo upgrade() in reverse order; the customers and their names stay."""
    op.drop_index("ix_s5_8_ex_invoices_customer_id", table_name=INVOICES)
    op.drop_table(INVOICES)
    op.drop_column(CUSTOMERS, "country")
