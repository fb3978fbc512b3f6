"""Add invoices and a country for every customer.

Revision ID: 9f3b6c2d8e10
Revises: 4d1c0e7a9b21
Create Date: 2025-03-04 09:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401  (you will need both)
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision: str = "9f3b6c2d8e10"
down_revision: str | Sequence[str] | None = "4d1c0e7a9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CUSTOMERS = "s5_8_ex_customers"
INVOICES = "s5_8_ex_invoices"


def upgrade() -> None:
    """Bring the schema from the customers revision to the billing models.

    The previous revision (4d1c0e7a9b21) created s5_8_ex_customers(id, name), and production
    already holds customers. After this function the database must match the models in
    instructions.md exactly, so that autogenerate finds nothing left to do.
    """
    # TODO: add customers.country: VARCHAR(2), NOT NULL, and "US" for existing and new rows.
    # TODO: create the invoices table with its columns, its foreign key (deleting a customer
    #       deletes their invoices), its named unique and check constraints.
    # TODO: create the index ix_s5_8_ex_invoices_customer_id.
    raise NotImplementedError("write upgrade()")


def downgrade() -> None:
    """Undo upgrade() completely, in reverse order, keeping the customers and their names."""
    # TODO: drop what upgrade() created, newest first.
    raise NotImplementedError("write downgrade()")
