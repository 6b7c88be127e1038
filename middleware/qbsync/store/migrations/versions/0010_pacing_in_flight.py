"""Each realm's QuickBooks requests still in flight, apart from those answered: a request may reach
Intuit at any moment until its answer, so the pacing windows count it from then (store/pacing.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The default fills the rows already there, then goes: the code writes the column itself.
    with op.batch_alter_table("qb_realm_pacing") as table:
        table.add_column(sa.Column("in_flight", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("qb_realm_pacing") as table:
        table.alter_column("in_flight", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("qb_realm_pacing") as table:
        table.drop_column("in_flight")
