"""Claims exclude a record, not a group, that another worker holds (issue 19's scale-out): the
indexes that make the claim's per-event check a lookup.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_record", "events", ["realm_id", "entity", "entity_id", "state"])
    op.create_index("ix_events_merged", "events", ["realm_id", "entity", "deleted_id"])


def downgrade() -> None:
    op.drop_index("ix_events_merged", table_name="events")
    op.drop_index("ix_events_record", table_name="events")
