"""A CDC event keeps the record CDC returned (issue 13, item 8).

CDC answers with whole records (research/quickbooks.md §3); keeping them with their events lets
the worker apply them without a second, metered read. Webhook events leave it empty.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("record", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("record")
