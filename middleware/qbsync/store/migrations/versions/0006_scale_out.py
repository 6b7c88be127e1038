"""Several workers on one database: shared QuickBooks pacing per realm, leases of periodic work,
and each realm's last claim (fair claims).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qb_realm_pacing",
        sa.Column("realm_id", sa.String(64), nullable=False),
        sa.Column("sent", sa.Text(), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("realm_id"),
    )
    op.create_table(
        "periodic_leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "claim_turns",
        sa.Column("realm_id", sa.String(64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("realm_id"),
    )


def downgrade() -> None:
    op.drop_table("claim_turns")
    op.drop_table("periodic_leases")
    op.drop_table("qb_realm_pacing")
