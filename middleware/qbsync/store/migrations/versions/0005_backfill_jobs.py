"""Historical sync jobs (issue 17): one row per QuickBooks object read into Salesforce.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "backfill_jobs",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("job_key", sa.String(64), nullable=False, unique=True),
        sa.Column("realm_id", sa.String(64), nullable=False),
        sa.Column("qb_object", sa.String(80), nullable=False),
        sa.Column("salesforce_object", sa.String(80)),
        sa.Column("since", sa.DateTime(timezone=True)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("write_mode", sa.String(32)),
        sa.Column("total", sa.Integer()),
        sa.Column("processed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("matched", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("ambiguous", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("checkpoint_time", sa.DateTime(timezone=True)),
        sa.Column("checkpoint_ids", sa.JSON()),
        sa.Column("checkpoint_offset", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("pages", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("message", sa.Text()),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("eta", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_backfill_jobs_realm_state", "backfill_jobs", ["realm_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_backfill_jobs_realm_state", table_name="backfill_jobs")
    op.drop_table("backfill_jobs")
