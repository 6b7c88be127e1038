"""QB_Sync_Log__c rows: one per event outcome, written in batches, idempotently.

Rows are upserted on the unique `Event_Key__c` (the ledger's event key), so writing the same
outcome twice, or a later outcome of the same event (Retrying, then Success), keeps one row.
The ledger holds the outcome first; a row Salesforce could not take (a failed call, 200 rows at
a time, or a transient per-row error) is kept in memory and tried again with the next batch, so it
never costs an event its outcome.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qbsync.remotes import Salesforce
from qbsync.salesforce.chunks import call_in_chunks
from qbsync.salesforce.errors import SalesforceError
from qbsync.salesforce.schema import SYNC_LOG_EXTERNAL_ID

log = logging.getLogger(__name__)

SYNC_LOG_OBJECT = "QB_Sync_Log__c"
EVENT_KEY_LENGTH = 255
MESSAGE_LENGTH = 32768
RECORD_NAME_LENGTH = 255
# The QuickBooks fields that name a record, in order: name-list entities have DisplayName (people)
# or Name (items, accounts), transactions a DocNumber (research/quickbooks.md).
NAME_FIELDS = ("DisplayName", "FullyQualifiedName", "Name", "DocNumber")
# Rows kept for a later try while Salesforce cannot take them; beyond that the oldest go
# (their outcome stays in the ledger, which the CLI lists).
MAX_PENDING_ROWS = 20000

SUCCESS = "Success"
FAILED = "Failed"
SKIPPED = "Skipped"
RETRYING = "Retrying"


def log_key(event_key: str) -> str:
    """`event_key` as it fits Event_Key__c (Text 255): long keys keep a prefix and a hash."""
    if len(event_key) <= EVENT_KEY_LENGTH:
        return event_key
    digest = hashlib.sha256(event_key.encode("utf-8")).hexdigest()
    return f"{event_key[: EVENT_KEY_LENGTH - len(digest) - 1]}#{digest}"


def record_name(record: dict[str, Any]) -> str | None:
    """The name an admin knows a QuickBooks record by, or None when it has none."""
    for field in NAME_FIELDS:
        value = record.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _salesforce_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class SyncLogEntry:
    """What is known about one event's outcome."""

    event_key: str
    realm_id: str
    qb_object: str
    qb_record_id: str
    operation: str
    status: str  # SUCCESS | FAILED | SKIPPED | RETRYING
    message: str
    attempts: int
    event_time: datetime | None
    synced_at: datetime
    salesforce_object: str | None = None
    salesforce_record_id: str | None = None
    record_name: str | None = None  # the QuickBooks record's name, when it was read
    detail: str | None = None  # the technical side of `message` (exception, error code)
    reason: str | None = None  # a failure's kind, short and shared, for reports to group by
    company_known: bool = True  # False when no QB_Company__c row is known for the realm

    def row(self) -> dict[str, Any]:
        """The QB_Sync_Log__c field values (without `attributes`)."""
        latency = None
        if self.event_time is not None:
            latency = max(0, round((self.synced_at - self.event_time).total_seconds() * 1000))
        row: dict[str, Any] = {
            SYNC_LOG_EXTERNAL_ID: log_key(self.event_key),
            "QB_Object__c": self.qb_object[:80],
            "QB_Record_Id__c": self.qb_record_id[:64],
            "Operation__c": self.operation[:20],
            "Status__c": self.status,
            "Salesforce_Object__c": (self.salesforce_object or "")[:80] or None,
            "Salesforce_Record_Id__c": self.salesforce_record_id,
            "Message__c": self.message[:MESSAGE_LENGTH] or None,
            "Record_Name__c": (self.record_name or "")[:RECORD_NAME_LENGTH] or None,
            "Detail__c": (self.detail or "")[:MESSAGE_LENGTH] or None,
            "Reason__c": (self.reason or "")[:80] or None,
            "Event_Time__c": _salesforce_time(self.event_time),
            "Synced_At__c": _salesforce_time(self.synced_at),
            "Latency_Ms__c": latency,
            "Attempts__c": self.attempts,
        }
        if self.company_known:
            # Lookup by the company's external id, resolved inside the same upsert.
            row["Company__r"] = {"Realm_Id__c": self.realm_id}
        return row


class SyncLogWriter:
    """Writes sync-log rows in batches; keeps the ones Salesforce could not take."""

    def __init__(self, salesforce: Salesforce) -> None:
        self._salesforce = salesforce
        self._pending: dict[str, dict[str, Any]] = {}

    @property
    def pending(self) -> int:
        """Rows waiting for a later try."""
        return len(self._pending)

    def write(self, entries: Sequence[SyncLogEntry]) -> bool:
        """Upsert `entries` plus any rows left from earlier; True when nothing is left over."""
        for entry in entries:
            row = entry.row()
            # A newer outcome of the same event replaces the older row.
            self._pending.pop(row[SYNC_LOG_EXTERNAL_ID], None)
            self._pending[row[SYNC_LOG_EXTERNAL_ID]] = row
        while len(self._pending) > MAX_PENDING_ROWS:
            dropped = next(iter(self._pending))
            del self._pending[dropped]
            log.warning("Sync log row %s dropped: too many rows waiting for Salesforce", dropped)
        if not self._pending:
            return True
        unsent: dict[str, int] = {}  # a failed call's error → its rows, kept for a later try
        for row, result in call_in_chunks(
            list(self._pending.values()),
            lambda chunk: self._salesforce.upsert_collection(
                SYNC_LOG_OBJECT, SYNC_LOG_EXTERNAL_ID, chunk
            ),
        ):
            key = row[SYNC_LOG_EXTERNAL_ID]
            if isinstance(result, SalesforceError):
                unsent[str(result)] = unsent.get(str(result), 0) + 1
                continue
            # A row-level error worth another try (a locked row) keeps the row; others drop it.
            if result.success or not result.transient:
                self._pending.pop(key, None)
            if not result.success:
                log.warning("Sync log row %s not written: %s", key, result.errors)
        for error, count in unsent.items():
            log.warning("Writing %d sync log rows failed, will retry: %s", count, error)
        return not self._pending
