"""The schema of qbsync before migrations.

The event ledger, applied versions, reconciliation watermarks, the configuration signal, tokens
and OAuth states. A database made then by `create_all` (no alembic_version table) already holds
these tables: they are kept as they are, only missing ones are created, and the database is
recorded at this revision.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

log = logging.getLogger("qbsync.store.migrate")

# SQLite only auto-increments an INTEGER PRIMARY KEY.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def _events() -> None:
    op.create_table(
        "events",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(255), nullable=False),
        sa.Column("realm_id", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(80), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(20), nullable=False),
        sa.Column("occurred_at", _TIME),
        sa.Column("deleted_id", sa.String(64)),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TIME),
        sa.Column("lease_until", _TIME),
        sa.Column("claimed_by", sa.String(128)),
        sa.Column("last_error", sa.Text()),
        sa.Column("reason", sa.Text()),
        sa.Column("received_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_key"),
    )
    op.create_index("ix_events_state", "events", ["state", "next_attempt_at"])
    op.create_index("ix_events_group", "events", ["realm_id", "entity", "state"])


def _quarantine() -> None:
    op.create_table(
        "quarantine",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("body_sha256"),
    )


def _applied_versions() -> None:
    op.create_table(
        "applied_versions",
        sa.Column("realm_id", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(80), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("last_updated", _TIME, nullable=False),
        sa.Column("sync_token", sa.Integer(), server_default="-1", nullable=False),
        sa.PrimaryKeyConstraint("realm_id", "entity", "entity_id"),
    )


def _config_signal() -> None:
    op.create_table(
        "config_signal",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("realm_id", sa.String(64)),
        sa.Column("changed_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def _qb_oauth_states() -> None:
    op.create_table(
        "qb_oauth_states",
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("used_at", _TIME),
        sa.PrimaryKeyConstraint("nonce"),
    )


def _qb_tokens() -> None:
    op.create_table(
        "qb_tokens",
        sa.Column("realm_id", sa.String(64), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("access_expires_at", _TIME, nullable=False),
        sa.Column("refresh_expires_at", _TIME),
        sa.Column("refresh_hard_expires_at", _TIME),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("connected_at", _TIME),
        sa.Column("refreshed_at", _TIME),
        sa.PrimaryKeyConstraint("realm_id"),
    )


def _reconcile_watermarks() -> None:
    op.create_table(
        "reconcile_watermarks",
        sa.Column("realm_id", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(80), nullable=False),
        sa.Column("scanned_through", _TIME, nullable=False),
        sa.Column("applied_through", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("realm_id", "entity"),
    )


TABLES = {
    "events": _events,
    "quarantine": _quarantine,
    "applied_versions": _applied_versions,
    "config_signal": _config_signal,
    "qb_oauth_states": _qb_oauth_states,
    "qb_tokens": _qb_tokens,
    "reconcile_watermarks": _reconcile_watermarks,
}


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names()) & set(TABLES)
    if existing:
        log.info(
            "Adopting a database made before migrations (tables %s kept as they are)",
            ", ".join(sorted(existing)),
        )
    for name, create in TABLES.items():
        if name not in existing:
            create()


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
