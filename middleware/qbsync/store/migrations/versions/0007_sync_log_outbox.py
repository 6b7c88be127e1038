"""Sync-log rows kept in the database until Salesforce took them (issue 19, the log off the
path of the next change).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_log_outbox",
        sa.Column("log_key", sa.String(255), primary_key=True),
        sa.Column("row", sa.JSON(), nullable=False),
        sa.Column("stamp", sa.String(32), nullable=False),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_sync_log_outbox_created", "sync_log_outbox", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_sync_log_outbox_created", table_name="sync_log_outbox")
    op.drop_table("sync_log_outbox")
