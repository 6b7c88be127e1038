"""Connect requests name the realm they reconnect and the Salesforce origin that started them;
revocations Intuit did not confirm are kept for the worker to retry.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    # batch_alter_table: SQLite alters a table by copying it; PostgreSQL alters it in place.
    with op.batch_alter_table("qb_oauth_states") as table:
        table.add_column(sa.Column("realm_id", sa.String(64)))
        table.add_column(sa.Column("origin", sa.String(255)))
    op.create_table(
        "qb_revocations",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("realm_id", sa.String(64), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TIME, nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("qb_revocations")
    with op.batch_alter_table("qb_oauth_states") as table:
        table.drop_column("origin")
        table.drop_column("realm_id")
