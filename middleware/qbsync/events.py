"""The normalised change event: what every source (webhook formats, CDC) turns into, and the
version of the record it is about."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Canonical operation names, as QuickBooks' legacy webhooks spell them (research/quickbooks.md §1a).
OPERATIONS = ("Create", "Update", "Delete", "Merge", "Void", "Emailed")


@dataclass(frozen=True)
class ChangeEvent:
    """One change of one QuickBooks record, as announced by Intuit.

    Webhooks carry ids only, so the worker always re-fetches the record; `occurred_at`
    orders events, `event_key` deduplicates Intuit's retries.
    """

    realm_id: str
    entity: str  # canonical catalog name, e.g. "Customer"
    entity_id: str
    operation: str  # one of OPERATIONS
    occurred_at: datetime | None  # aware UTC (legacy lastUpdated / CloudEvents time)
    # CloudEvents: "ce:<id>"; legacy: "legacy:<realm>:<entity>:<id>:<op>:<lastUpdated raw>"; CDC: "cdc:…"
    event_key: str
    deleted_id: str | None = None  # Merge: the merged-away record
    source: str = "cloudevents"  # cloudevents | legacy | cdc
    # CDC returns whole records (research §3): the record as read, so the worker need not read
    # it again (reads are metered). Not part of the event's identity.
    record: dict[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, order=True)
class Version:
    """A QuickBooks record's version, in the order QuickBooks made them.

    `MetaData.LastUpdatedTime` has whole seconds, so two changes within one second differ only
    by `SyncToken`, which QuickBooks increments on every change (-1: unknown).
    """

    last_updated: datetime
    sync_token: int = -1
