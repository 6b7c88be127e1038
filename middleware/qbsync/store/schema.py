"""Every table of the middleware's database, in one MetaData.

The table and column names are those of the releases before migrations existed (which made the
tables with `create_all`), so a database they wrote is adopted as it is (`qbsync.store.migrate`).
A change here needs a migration in `migrations/versions/`; a test checks that the migrated schema
and this module agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    SQLite keeps no time zone (it returns naive values), so values are converted to UTC before
    they are stored; that also keeps SQLite's text comparisons in chronological order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the store keeps aware datetimes only; got a naive datetime")
        # One form for both backends: SQLAlchemy's SQLite DATETIME writes the wall-clock fields
        # only (no offset), which are the UTC ones; PostgreSQL keeps the instant.
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# SQLite only auto-increments an INTEGER PRIMARY KEY.
_ID = BigInteger().with_variant(Integer(), "sqlite")

# --- the event ledger (qbsync.store.ledger) -----------------------------------------------------

events = Table(
    "events",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("event_key", String(255), nullable=False, unique=True),
    Column("realm_id", String(64), nullable=False),
    Column("entity", String(80), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("operation", String(20), nullable=False),
    Column("occurred_at", UTCDateTime()),
    Column("deleted_id", String(64)),
    Column("source", String(16), nullable=False),
    Column("record", JSON),  # a CDC event's record as read (migration 0002)
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime()),
    Column("lease_until", UTCDateTime()),
    Column("claimed_by", String(128)),
    Column("last_error", Text),
    Column("reason", Text),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_events_state", "state", "next_attempt_at"),
    Index("ix_events_group", "realm_id", "entity", "state"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    # Intuit resends a batch it saw no 200 for: the same body is kept once.
    Column("body_sha256", String(64), nullable=False, unique=True),
    Column("body", LargeBinary, nullable=False),
    Column("reason", Text, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)

# --- what was applied, and how far CDC reconciliation got -------------------------------------

applied_versions = Table(
    "applied_versions",
    metadata,
    Column("realm_id", String(64), primary_key=True),
    Column("entity", String(80), primary_key=True),
    Column("entity_id", String(64), primary_key=True),
    Column("last_updated", UTCDateTime(), nullable=False),
    Column("sync_token", Integer, nullable=False, server_default="-1"),
)

reconcile_watermarks = Table(
    "reconcile_watermarks",
    metadata,
    Column("realm_id", String(64), primary_key=True),
    Column("entity", String(80), primary_key=True),
    Column("scanned_through", UTCDateTime(), nullable=False),
    Column("applied_through", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# --- the configuration signal -------------------------------------------------------------------

config_signal = Table(
    "config_signal",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # a single row, id 1
    Column("generation", BigInteger, nullable=False),
    Column("realm_id", String(64)),  # the realm of the latest change, when one was named
    Column("changed_at", UTCDateTime(), nullable=False),
)

# --- connecting QuickBooks companies --------------------------------------------------------------

qb_tokens = Table(
    "qb_tokens",
    metadata,
    Column("realm_id", String(64), primary_key=True),
    Column("environment", String(16), nullable=False),
    # Fernet token of {"access_token", "refresh_token"}; never the plain values.
    Column("secret", Text, nullable=False),
    Column("access_expires_at", UTCDateTime(), nullable=False),
    Column("refresh_expires_at", UTCDateTime()),
    Column("refresh_hard_expires_at", UTCDateTime()),
    Column("status", String(32), nullable=False),
    Column("last_error", Text),
    Column("connected_at", UTCDateTime()),
    Column("refreshed_at", UTCDateTime()),
)

qb_oauth_states = Table(
    "qb_oauth_states",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime()),
    # The realm a Reconnect was started for (the callback refuses another), or NULL.
    Column("realm_id", String(64)),
    # The Salesforce origin that started the flow: the only one the callback page posts to.
    Column("origin", String(255)),
)

# Tokens Intuit has not yet confirmed revoked (it failed or was unreachable): retried by the
# worker until it does. The token is Fernet-encrypted like the vault's.
qb_revocations = Table(
    "qb_revocations",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("realm_id", String(64), nullable=False),
    Column("secret", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
)

# --- alerts to the admins (qbsync.alerts) ---------------------------------------------------------

# One row per condition that holds and was alerted on: no second alert while it holds; the row
# goes when the condition clears, so a recurrence alerts again.
qb_alerts = Table(
    "qb_alerts",
    metadata,
    Column("realm_id", String(64), primary_key=True),
    Column("condition", String(32), primary_key=True),
    Column("raised_at", UTCDateTime(), nullable=False),
)

# --- sync-log rows on their way to Salesforce (qbsync.store.sync_log_outbox) ---------------------------

# QB_Sync_Log__c rows the worker settled but Salesforce has not taken yet: written in the
# transaction that records the events' outcomes, so a crash loses none, and sent after the
# outcome, off the path of the next change (migration 0007). `stamp` changes when a newer outcome
# of the same event replaces the row: a sender deletes only the version it sent.
sync_log_outbox = Table(
    "sync_log_outbox",
    metadata,
    Column("log_key", String(255), primary_key=True),  # QB_Sync_Log__c.Event_Key__c
    Column("row", JSON, nullable=False),
    Column("stamp", String(32), nullable=False),
    Column("claimed_by", String(128)),
    Column("lease_until", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_sync_log_outbox_created", "created_at"),
)

# --- historical sync jobs (qbsync.store.backfills, issue 17) ----------------------------------------

# One row per job: a QuickBooks object of one realm read page by page into Salesforce. The
# checkpoint is where the next page starts (qbsync.backfill explains the order): the
# LastUpdatedTime of the last record read, the ids read at exactly that time, and an offset used
# only when a whole page shares that time. Counts and checkpoint change in one transaction, so a
# worker killed mid-page leaves the job at the last page written; its lease runs out and any
# worker resumes it from there.
backfill_jobs = Table(
    "backfill_jobs",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("job_key", String(64), nullable=False, unique=True),  # QB_Sync_Job__c.Job_Key__c
    Column("realm_id", String(64), nullable=False),
    Column("qb_object", String(80), nullable=False),
    Column("salesforce_object", String(80)),
    Column("since", UTCDateTime()),
    Column("state", String(16), nullable=False),  # Queued Running Done Failed Cancelled
    Column("write_mode", String(32)),
    Column("total", Integer),
    Column("processed", Integer, nullable=False, server_default="0"),
    Column("created", Integer, nullable=False, server_default="0"),
    Column("updated", Integer, nullable=False, server_default="0"),
    Column("matched", Integer, nullable=False, server_default="0"),
    Column("ambiguous", Integer, nullable=False, server_default="0"),
    Column("failed", Integer, nullable=False, server_default="0"),
    Column("checkpoint_time", UTCDateTime()),
    Column("checkpoint_ids", JSON),
    Column("checkpoint_offset", Integer, nullable=False, server_default="0"),
    Column("pages", Integer, nullable=False, server_default="0"),
    Column("message", Text),
    Column("lease_until", UTCDateTime()),
    Column("claimed_by", String(128)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("started_at", UTCDateTime()),
    Column("finished_at", UTCDateTime()),
    Column("eta", UTCDateTime()),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_backfill_jobs_realm_state", "realm_id", "state"),
)

# --- several workers sharing one database (issue 19, scale-out) -----------------------------------

# Intuit's per-realm limits, shared by every process that calls QuickBooks (qbsync.store.pacing):
# the realm's recent requests, answered and in flight, and the end of the wait a 429 imposed.
qb_realm_pacing = Table(
    "qb_realm_pacing",
    metadata,
    Column("realm_id", String(64), primary_key=True),
    # Epoch milliseconds, comma-separated, oldest first: when each answered request was answered
    # (it reached Intuit no later), and when each request still in flight was to be sent.
    Column("sent", Text, nullable=False),
    Column("in_flight", Text, nullable=False, default=""),
    Column("held_until", UTCDateTime()),
)

# Periodic work (reconciliation, purges, alerts, revocations) runs in the one worker holding the
# lease of its name (qbsync.store.leases); a dead holder's lease runs out and another takes it.
periodic_leases = Table(
    "periodic_leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("lease_until", UTCDateTime(), nullable=False),
    Column("taken_at", UTCDateTime(), nullable=False),
)

# When each realm last had a batch claimed: claims serve the realm waiting longest first
# (qbsync.store.ledger), so one busy company cannot hold the others back.
claim_turns = Table(
    "claim_turns",
    metadata,
    Column("realm_id", String(64), primary_key=True),
    Column("claimed_at", UTCDateTime(), nullable=False),
)
