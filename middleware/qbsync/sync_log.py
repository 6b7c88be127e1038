"""QB_Sync_Log__c rows: one per event outcome, written in batches, idempotently.

Rows are upserted on the unique `Event_Key__c` (the ledger's event key), so writing the same
outcome twice, or a later outcome of the same event (Retrying, then Success), keeps one row.
The database holds each row from the transaction that records its event's outcome until
Salesforce took it (`qbsync.store.sync_log_outbox`): the worker sends rows after the outcome,
off the path of the next change, and a crash loses none (the next worker sends them). A row
Salesforce could not take (a failed call, 200 rows at a time, or a transient per-row error)
stays and is tried again on the next send.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from qbsync import metrics
from qbsync.remotes import Salesforce
from qbsync.salesforce.chunks import call_in_chunks
from qbsync.salesforce.errors import SalesforceError
from qbsync.salesforce.schema import SYNC_LOG_EXTERNAL_ID
from qbsync.store.database import transaction
from qbsync.store.sync_log_outbox import OutboxRow, SyncLogOutbox

if TYPE_CHECKING:
    from qbsync.salesforce.client import RecordResult

log = logging.getLogger(__name__)

SYNC_LOG_OBJECT = "QB_Sync_Log__c"
EVENT_KEY_LENGTH = 255
MESSAGE_LENGTH = 32768
RECORD_NAME_LENGTH = 255
# The QuickBooks fields that name a record, in order: name-list entities have DisplayName (people)
# or Name (items, accounts), transactions a DocNumber (research/quickbooks.md).
NAME_FIELDS = ("DisplayName", "FullyQualifiedName", "Name", "DocNumber")
# Rows taken from the outbox per send: ten sObject Collections calls.
SEND_ROWS = 2000

SUCCESS = "Success"
FAILED = "Failed"
SKIPPED = "Skipped"
RETRYING = "Retrying"
# How a historical sync's entries' event keys begin (`qbsync.backfill`); their rows are sent
# counted as the job's own calls (`qbsync.metrics`), whichever thread sends them.
BACKFILL_EVENT_PREFIX = "backfill:"


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
    """Keeps sync-log rows in the outbox with the outcomes, and sends them to Salesforce."""

    def __init__(
        self, salesforce: Salesforce, outbox: SyncLogOutbox, owner: str, lease_seconds: float
    ) -> None:
        self._salesforce = salesforce
        self._outbox = outbox
        self._owner = owner
        self._lease_seconds = lease_seconds

    @property
    def pending(self) -> int:
        """Rows waiting for Salesforce."""
        return self._outbox.count()

    def keep(self, connection: Connection, entries: Sequence[SyncLogEntry]) -> None:
        """Store the entries' rows in the caller's transaction (the one recording outcomes)."""
        rows = (entry.row() for entry in entries)
        self._outbox.keep(connection, ((row[SYNC_LOG_EXTERNAL_ID], row) for row in rows))

    def write(self, entries: Sequence[SyncLogEntry]) -> bool:
        """Keep `entries`, then send; True when nothing is left over."""
        if entries:
            with transaction(self._outbox.engine) as connection:
                self.keep(connection, entries)
        return self.send()

    def send(self) -> bool:
        """Upsert the waiting rows this writer can take; True when none is left over."""
        while True:
            taken = self._outbox.take(self._owner, SEND_ROWS, self._lease_seconds)
            if not taken:
                return True
            written, kept = self._upsert(taken)
            self._outbox.sent(written)
            self._outbox.give_back(kept)
            if kept:
                return False
            if len(taken) < SEND_ROWS:
                return True

    def _upsert(self, taken: list[OutboxRow]) -> tuple[list[OutboxRow], list[OutboxRow]]:
        """(rows done with: written or refused for good, rows to try again)."""
        by_key = {row.log_key: row for row in taken}
        written: list[OutboxRow] = []
        kept: list[OutboxRow] = []
        unsent: dict[str, int] = {}  # a failed call's error → its rows, kept for a later try
        for row, result in self._upsert_by_work(taken):
            key = row[SYNC_LOG_EXTERNAL_ID]
            if isinstance(result, SalesforceError):
                unsent[str(result)] = unsent.get(str(result), 0) + 1
                kept.append(by_key[key])
                continue
            # A row-level error worth another try (a locked row) keeps the row; others drop it.
            if result.success or not result.transient:
                written.append(by_key[key])
            else:
                kept.append(by_key[key])
            if not result.success:
                log.warning("Sync log row %s not written: %s", key, result.errors)
        for error, count in unsent.items():
            log.warning("Writing %d sync log rows failed, will retry: %s", count, error)
        return written, kept

    def _upsert_by_work(
        self, taken: list[OutboxRow]
    ) -> list[tuple[dict[str, Any], RecordResult | SalesforceError]]:
        """Each row with its result: a historical sync's rows in calls of their own, counted as
        its cost, the others' as real time's (a mixed call could be counted as neither)."""
        results: list[tuple[dict[str, Any], RecordResult | SalesforceError]] = []
        for work in (metrics.REALTIME, metrics.BACKFILL):
            rows = [row.row for row in taken if work_of(row.log_key) == work]
            if not rows:
                continue
            with metrics.counted_as(work):
                results += call_in_chunks(
                    rows,
                    lambda chunk: self._salesforce.upsert_collection(
                        SYNC_LOG_OBJECT, SYNC_LOG_EXTERNAL_ID, chunk
                    ),
                )
        return results


def work_of(key: str) -> str:
    """The work a sync-log row's event key (or log key: it keeps the prefix) belongs to."""
    return metrics.BACKFILL if key.startswith(BACKFILL_EVENT_PREFIX) else metrics.REALTIME
