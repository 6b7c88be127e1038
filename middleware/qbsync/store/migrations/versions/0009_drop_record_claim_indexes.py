"""Drop 0008's indexes: a claim now finds the records other workers hold with one subquery over
the group's claims (`ix_events_group`), not an EXISTS per waiting event, so they serve nothing
and cost every event insert two index writes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_events_merged", table_name="events")
    op.drop_index("ix_events_record", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_record", "events", ["realm_id", "entity", "entity_id", "state"])
    op.create_index("ix_events_merged", "events", ["realm_id", "entity", "deleted_id"])
