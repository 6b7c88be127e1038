"""The sync worker: claimed ledger events → QuickBooks' current state → Salesforce upserts.

One `run_once` handles one claimed batch (one realm + entity, oldest first):

1. the realm's configuration (cached, `qbsync.sync_config`): events of objects that are not
   mapped, have no field mappings or are not real-time enabled end *skipped* with the reason;
   a company that is not Connected makes the events wait;
2. ONE QuickBooks query for the distinct ids (reads are metered, research quickbooks.md §4);
   an id QuickBooks no longer returns was deleted since and is handled as a delete;
3. records whose `MetaData.LastUpdatedTime` is not newer than the last applied one are done
   ("already applied"): duplicates and out-of-order events converge, because what is written is
   always QuickBooks' current state;
4. mapping (`qbsync.mapping`) and sObject Collections upserts, ≤200 records a call; deletes
   follow the mapping's Delete_Behavior__c;
5. each event's outcome in the ledger, then one QB_Sync_Log__c row per event (one batched write).

Failures are outcomes, not exceptions (huey's RetryTask habit): transient ones retry with
exponential backoff and full jitter, permanent ones fail with Salesforce's message, and an event
that keeps failing is dead after `settings.max_attempts`. Tests drive `run_once` directly with a
fixed clock; nothing here sleeps except `run_forever` between empty polls.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from qbsync.config import Settings
from qbsync.ledger import Ledger, StoredEvent, Version
from qbsync.mapping import (
    MappedRecord,
    MappingError,
    SObjectDescribe,
    build_record,
    record_version,
)
from qbsync.quickbooks.errors import (
    QuickBooksAuthError,
    QuickBooksError,
    QuickBooksFault,
    QuickBooksThrottled,
)
from qbsync.salesforce.errors import SalesforceError, SalesforceTransient
from qbsync.salesforce.schema import external_id
from qbsync.sync_config import ObjectMapping, RealmConfig, SyncConfigStore, soql_literal
from qbsync.sync_log import FAILED, RETRYING, SKIPPED, SUCCESS, SyncLogEntry, SyncLogWriter

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 600.0
# A company that is not Connected, or a realm QuickBooks throttled, waits this long at least
# (Intuit: "HTTP Status Code 429 ... wait 60 seconds", research quickbooks.md §4).
REALM_WAIT_SECONDS = 60
CHUNK = 200  # records per sObject Collections call and external ids per SOQL IN list
LAST_EVENT_INTERVAL = timedelta(
    minutes=1
)  # how often the connection card's "Last event" is refreshed
# Record-level errors that mean "gone already": a delete that finds nothing to delete is done.
ALREADY_DELETED_CODES = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"})

# Outcome kinds, from least to most severe: an event touching two records (a merge) takes the
# worse of their outcomes.
DONE, RETRY, FAILED_KIND = "done", "retry", "failed"
_SEVERITY = {DONE: 0, RETRY: 1, FAILED_KIND: 2}


def backoff_seconds(attempt: int, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform(0, min(cap, base · 2^(attempt-1)))."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))
    return rng.uniform(0, ceiling)


@dataclass
class RecordOutcome:
    """What happened to one QuickBooks record (the events about it share it)."""

    kind: str  # DONE | RETRY | FAILED_KIND
    message: str
    salesforce_id: str | None = None


@dataclass(frozen=True)
class _Upsert:
    entity_id: str
    mapped: MappedRecord
    version: Version | None  # QuickBooks LastUpdatedTime + SyncToken, recorded on success


@dataclass
class _Batch:
    """One claimed batch and the outcomes gathered while processing it."""

    events: list[StoredEvent]
    now: datetime
    records: dict[str, RecordOutcome] = field(default_factory=dict)
    # Batch-wide outcomes that apply before any record is looked at.
    skipped: str | None = None
    failed: str | None = None
    wait_until: datetime | None = None
    wait_reason: str = ""
    retry_all: str | None = None
    mapping: ObjectMapping | None = None
    config: RealmConfig | None = None

    @property
    def realm_id(self) -> str:
        return self.events[0].realm_id

    @property
    def entity(self) -> str:
        return self.events[0].entity

    def settle(self, entity_id: str, outcome: RecordOutcome) -> None:
        self.records.setdefault(entity_id, outcome)

    def unsettled(self, ids: Iterable[str]) -> list[str]:
        return [i for i in ids if i not in self.records]


class Worker:
    """Processes claimed ledger events; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        quickbooks: Any,
        salesforce: Any,
        *,
        catalog: Any = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        name: str | None = None,
    ) -> None:
        if catalog is None:
            from qbsync.catalog import load_catalog

            catalog = load_catalog()
        self.settings = settings
        self.catalog = catalog
        self.ledger = ledger
        self.quickbooks = quickbooks
        self.salesforce = salesforce
        self.clock = clock
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.configs = SyncConfigStore(
            salesforce, ledger, catalog, settings.config_ttl_seconds, clock
        )
        self.sync_logs = SyncLogWriter(salesforce)
        self._describes: dict[str, SObjectDescribe] = {}
        self._describes_generation: int | None = None
        # Realms QuickBooks asked us to leave alone (429, lost authorization): until when, why,
        # and the configuration generation then — a reconnect moves it and ends the wait.
        self._realm_waits: dict[str, tuple[datetime, str, int]] = {}
        self._last_event_shown: dict[str, datetime] = {}

    # --- driving ----------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim one batch and process it to its outcomes; returns the number of events."""
        now = self.clock()
        events = self.ledger.claim(
            self.name, self.settings.worker_batch_size, self.settings.lease_seconds, now=now
        )
        if not events:
            if self.sync_logs.pending:
                self.sync_logs.write(())
            return 0
        batch = _Batch(events=events, now=now)
        try:
            self._process(batch)
        except Exception as error:
            # A bug or an unforeseen failure: the events retry (and end dead if it persists)
            # instead of sitting claimed until the lease runs out.
            log.exception("Batch of %d %s events failed", len(events), batch.entity)
            batch.retry_all = f"internal error: {type(error).__name__}: {error}"
        entries = self._settle(batch)
        if any(entry.status == SUCCESS for entry in entries):
            self._note_last_event(batch.realm_id, batch.now)
        self.sync_logs.write(entries)
        return len(events)

    def run_forever(self, stop: threading.Event) -> None:
        """Process batches until `stop` is set; waits `worker_poll_seconds` when idle."""
        log.info("Worker %s started", self.name)
        while not stop.is_set():
            try:
                processed = self.run_once()
            except Exception:
                log.exception("Worker loop error; pausing before the next poll")
                processed = 0
            if not processed:
                stop.wait(self.settings.worker_poll_seconds)
        log.info("Worker %s stopped", self.name)

    # --- one batch --------------------------------------------------------------------------

    def _process(self, batch: _Batch) -> None:
        realm, entity = batch.realm_id, batch.entity
        waiting = self._realm_waits.get(realm)
        if waiting and waiting[0] > batch.now and waiting[2] == self.ledger.config_generation():
            batch.wait_until, batch.wait_reason = waiting[:2]
            return
        try:
            config = self.configs.get(realm)
        except SalesforceError as error:
            batch.retry_all = f"reading the sync configuration from Salesforce failed: {error}"
            return
        batch.config = config
        mapping = config.mapping(entity)
        batch.mapping = mapping
        if mapping is None:
            batch.skipped = f"not mapped: QuickBooks {entity} has no object mapping"
            return
        if not mapping.field_mappings and not mapping.problems:
            batch.skipped = f"no field mappings: QuickBooks {entity} has no field mappings"
            return
        if not mapping.realtime_enabled:
            batch.skipped = f"not real-time enabled: QuickBooks {entity} is not enabled"
            return
        if mapping.problems:
            batch.failed = "mapping cannot be used: " + "; ".join(mapping.problems)
            return
        if not config.connected:
            batch.wait_until = batch.now + timedelta(seconds=REALM_WAIT_SECONDS)
            batch.wait_reason = (
                f"company status is {config.company_status or 'unknown'}; waiting for Connected"
            )
            return
        self._sync_records(batch, mapping, config)

    def _sync_records(self, batch: _Batch, mapping: ObjectMapping, config: RealmConfig) -> None:
        deleted: set[str] = set()
        to_read: list[str] = []
        entity = self.catalog.entity(batch.entity)
        deactivating = entity is not None and entity.deletes_by_deactivating
        for event in batch.events:
            # A deleted name-list record is only inactive and still readable: its current state
            # decides (an earlier Create in the same batch must not be lost).
            if event.operation == "Delete" and not deactivating:
                deleted.add(event.entity_id)
        for event in batch.events:
            if event.entity_id not in deleted and event.entity_id not in to_read:
                to_read.append(event.entity_id)

        found: dict[str, dict] = {}
        if to_read:
            try:
                found = self.quickbooks.query_by_ids(batch.realm_id, batch.entity, to_read)
            except QuickBooksThrottled as error:
                self._realm_wait(batch, max(REALM_WAIT_SECONDS, error.retry_after), str(error))
                return
            except QuickBooksAuthError as error:
                self._realm_wait(batch, REALM_WAIT_SECONDS, f"Reconnect Required: {error}")
                self._mark_reconnect_required(batch.realm_id, str(error))
                return
            except QuickBooksFault as error:
                for entity_id in to_read:
                    batch.settle(entity_id, RecordOutcome(FAILED_KIND, str(error)))
            except QuickBooksError as error:  # transient, or anything not classified
                for entity_id in to_read:
                    batch.settle(entity_id, RecordOutcome(RETRY, str(error)))
            else:
                # Not returned: deleted (or merged away) since the event was sent.
                deleted.update(i for i in to_read if i not in found)
                if mapping.delete_behavior == "Delete":
                    # QuickBooks' deleted name-list record is an inactive one: it goes too.
                    inactive = [i for i, record in found.items() if record.get("Active") is False]
                    deleted.update(inactive)
                    found = {i: r for i, r in found.items() if i not in inactive}

        # A merge also removes the merged-away record, unless QuickBooks still has it.
        for event in batch.events:
            if event.operation == "Merge" and event.deleted_id and event.deleted_id not in found:
                deleted.add(event.deleted_id)

        upserts = self._fresh_records(batch, found)
        if not upserts and not batch.unsettled(deleted):
            return
        try:
            describe = self._describe(mapping.salesforce_object)
        except SalesforceError as error:
            kind = RETRY if isinstance(error, SalesforceTransient) else FAILED_KIND
            for entity_id in batch.unsettled([*upserts, *deleted]):
                batch.settle(entity_id, RecordOutcome(kind, f"describe failed: {error}"))
            return
        bodies: list[_Upsert] = []
        parents = config.parent_targets()
        for entity_id, (record, version) in upserts.items():
            try:
                mapped: MappedRecord = build_record(
                    record, mapping, describe, batch.realm_id, parents
                )
            except MappingError as error:
                batch.settle(entity_id, RecordOutcome(FAILED_KIND, str(error)))
                continue
            bodies.append(_Upsert(entity_id, mapped, version))
        self._upsert(batch, mapping, bodies)
        self._apply_deletes(batch, mapping, describe, batch.unsettled(sorted(deleted)))

    def _fresh_records(
        self, batch: _Batch, found: dict[str, dict]
    ) -> dict[str, tuple[dict, Version | None]]:
        """Found records newer than what was applied; the others are done already."""
        fresh: dict[str, tuple[dict, Version | None]] = {}
        for entity_id in batch.unsettled(found):
            record = found[entity_id]
            version = record_version(record)
            applied = self.ledger.applied(batch.realm_id, batch.entity, entity_id)
            if version is not None and applied is not None and version <= applied:
                batch.settle(entity_id, RecordOutcome(DONE, "already applied"))
                continue
            fresh[entity_id] = (record, version)
        return fresh

    def _describe(self, sobject: str) -> SObjectDescribe:
        # A configuration change (a Save in Salesforce) may come with new fields: describe again.
        generation = self.ledger.config_generation()
        if generation != self._describes_generation:
            self._describes.clear()
            self.salesforce.forget_describes()
            self._describes_generation = generation
        if sobject not in self._describes:
            self._describes[sobject] = SObjectDescribe.from_json(self.salesforce.describe(sobject))
        return self._describes[sobject]

    # --- deletes ----------------------------------------------------------------------------

    def _apply_deletes(
        self, batch: _Batch, mapping: ObjectMapping, describe: SObjectDescribe, ids: list[str]
    ) -> None:
        """Apply Delete_Behavior__c to records QuickBooks deleted (or merged away)."""
        if not ids:
            return
        behavior = mapping.delete_behavior
        if behavior == "Ignore":
            for entity_id in ids:
                batch.settle(entity_id, RecordOutcome(DONE, "delete ignored (Delete_Behavior__c)"))
            return
        active = None
        if behavior == "Deactivate":
            active = describe.field(mapping.active_field() or "")
            if active is None:
                reason = (
                    "Delete_Behavior__c is Deactivate, but no field mapping from QuickBooks "
                    f"Active names a field of {describe.name} to clear"
                )
                for entity_id in ids:
                    batch.settle(entity_id, RecordOutcome(FAILED_KIND, reason))
                return
        found = self._find_in_salesforce(batch, mapping, ids)
        if active is None:
            self._delete_found(batch, found)
        else:
            self._deactivate_found(batch, mapping, active.name, found)

    def _find_in_salesforce(
        self, batch: _Batch, mapping: ObjectMapping, ids: list[str]
    ) -> dict[str, str]:
        """Salesforce Id → QuickBooks id of the records that exist (one SOQL per 200).

        Looking up first means a delete of a record that was never synced changes nothing,
        instead of creating a bare record through an upsert.
        """
        obj, ext = mapping.salesforce_object, mapping.external_id_field
        keys = {external_id(batch.realm_id, mapping.qb_object, i): i for i in ids}
        found: dict[str, str] = {}
        key_list = list(keys)
        for start in range(0, len(key_list), CHUNK):
            chunk = key_list[start : start + CHUNK]
            in_list = ", ".join(f"'{soql_literal(k)}'" for k in chunk)
            soql = f"SELECT Id, {ext} FROM {obj} WHERE {ext} IN ({in_list})"  # noqa: S608
            try:
                rows = self.salesforce.query_all(soql)
            except SalesforceError as error:
                kind = RETRY if isinstance(error, SalesforceTransient) else FAILED_KIND
                for key in chunk:
                    batch.settle(keys[key], RecordOutcome(kind, f"finding the record: {error}"))
                continue
            for row in rows:
                entity_id = keys.get(row.get(ext))
                if entity_id is not None:
                    found[row["Id"]] = entity_id
        located = set(found.values())
        for entity_id in batch.unsettled(ids):
            if entity_id not in located:
                batch.settle(entity_id, RecordOutcome(DONE, "not in Salesforce; nothing to do"))
        return {sf_id: qb_id for sf_id, qb_id in found.items() if qb_id not in batch.records}

    def _delete_found(self, batch: _Batch, found: dict[str, str]) -> None:
        to_delete = list(found)
        for start in range(0, len(to_delete), CHUNK):
            chunk = to_delete[start : start + CHUNK]
            try:
                results = self.salesforce.delete_collection(chunk)
            except SalesforceError as error:
                kind = RETRY if isinstance(error, SalesforceTransient) else FAILED_KIND
                for sf_id in chunk:
                    batch.settle(found[sf_id], RecordOutcome(kind, str(error)))
                continue
            for sf_id, result in zip(chunk, results, strict=True):
                codes = {e.get("statusCode") for e in result.errors}
                if result.success or codes & ALREADY_DELETED_CODES:
                    outcome = RecordOutcome(DONE, "deleted", sf_id)
                else:
                    outcome = _failure(result)
                batch.settle(found[sf_id], outcome)

    def _deactivate_found(
        self, batch: _Batch, mapping: ObjectMapping, field_name: str, found: dict[str, str]
    ) -> None:
        records = [{"Id": sf_id, field_name: False} for sf_id in found]
        for start in range(0, len(records), CHUNK):
            chunk = records[start : start + CHUNK]
            try:
                results = self.salesforce.update_collection(chunk, mapping.salesforce_object)
            except SalesforceError as error:
                kind = RETRY if isinstance(error, SalesforceTransient) else FAILED_KIND
                for record in chunk:
                    batch.settle(found[record["Id"]], RecordOutcome(kind, str(error)))
                continue
            for record, result in zip(chunk, results, strict=True):
                outcome = RecordOutcome(DONE, "deactivated", record["Id"])
                batch.settle(found[record["Id"]], outcome if result.success else _failure(result))

    # --- upserts ----------------------------------------------------------------------------

    def _upsert(
        self,
        batch: _Batch,
        mapping: ObjectMapping,
        bodies: list[_Upsert],
    ) -> None:
        """Upsert by external id, ≤200 a call; every per-record result is read."""
        obj, ext = mapping.salesforce_object, mapping.external_id_field
        for start in range(0, len(bodies), CHUNK):
            chunk = bodies[start : start + CHUNK]
            try:
                results = self.salesforce.upsert_collection(
                    obj, ext, [item.mapped.fields for item in chunk]
                )
            except SalesforceError as error:
                kind = RETRY if isinstance(error, SalesforceTransient) else FAILED_KIND
                for item in chunk:
                    batch.settle(item.entity_id, RecordOutcome(kind, str(error)))
                continue
            for item, result in zip(chunk, results, strict=True):
                if not result.success:
                    batch.settle(item.entity_id, _failure(result))
                    continue
                if item.version is not None:
                    self.ledger.record_applied(
                        batch.realm_id,
                        batch.entity,
                        item.entity_id,
                        item.version.last_updated,
                        item.version.sync_token,
                    )
                note = "created" if result.created else "updated"
                message = "; ".join([note, *item.mapped.warnings])
                batch.settle(item.entity_id, RecordOutcome(DONE, message, result.id))

    # --- realm-wide waits -------------------------------------------------------------------

    def _realm_wait(self, batch: _Batch, seconds: float, reason: str) -> None:
        until = batch.now + timedelta(seconds=seconds)
        self._realm_waits[batch.realm_id] = (until, reason, self.ledger.config_generation())
        batch.wait_until, batch.wait_reason = until, reason

    def _mark_reconnect_required(self, realm_id: str, reason: str) -> None:
        """Show the admin that the company needs a new consent; its events wait meanwhile."""
        self._update_company(
            realm_id, {"Status__c": "Reconnect Required", "Last_Error__c": reason[:32768]}
        )
        self.configs.invalidate(realm_id)

    def _note_last_event(self, realm_id: str, now: datetime) -> None:
        """Keep the connection card's "Last event" current, at most once a minute per realm
        (each update is a Salesforce API call)."""
        shown = self._last_event_shown.get(realm_id)
        if shown is not None and now - shown < LAST_EVENT_INTERVAL:
            return
        self._last_event_shown[realm_id] = now
        self._update_company(realm_id, {"Last_Event_At__c": now.isoformat(timespec="seconds")})

    def _update_company(self, realm_id: str, fields: dict) -> None:
        try:
            (result,) = self.salesforce.upsert_collection(
                "QB_Company__c", "Realm_Id__c", [{"Realm_Id__c": realm_id, **fields}]
            )
        except SalesforceError as error:
            log.warning("Could not update QB_Company__c of realm %s: %s", realm_id, error)
            return
        if not result.success:
            log.warning(
                "Salesforce refused QB_Company__c of realm %s: %s", realm_id, result.message
            )

    # --- outcomes ---------------------------------------------------------------------------

    def _event_outcome(self, batch: _Batch, event: StoredEvent) -> RecordOutcome:
        outcome = batch.records.get(event.entity_id) or RecordOutcome(
            RETRY, "internal error: no outcome"
        )
        if event.operation == "Merge" and event.deleted_id:
            merged = batch.records.get(event.deleted_id)
            if merged is not None:
                worse = max((outcome, merged), key=lambda o: _SEVERITY[o.kind])
                message = f"{outcome.message}; merged-away {event.deleted_id}: {merged.message}"
                outcome = RecordOutcome(worse.kind, message, outcome.salesforce_id)
        return outcome

    def _settle(self, batch: _Batch) -> list[SyncLogEntry]:
        """Write every event's outcome to the ledger; returns the sync-log entries."""
        now = self.clock()
        done: dict[str, list[int]] = defaultdict(list)
        failed: dict[str, list[int]] = defaultdict(list)
        retry: dict[tuple[str, int], list[int]] = defaultdict(list)
        dead: dict[str, list[int]] = defaultdict(list)
        entries: list[SyncLogEntry] = []

        def entry(event: StoredEvent, status: str, message: str, **extra: Any) -> None:
            mapping = batch.mapping
            entries.append(
                SyncLogEntry(
                    event_key=event.event_key,
                    realm_id=event.realm_id,
                    qb_object=event.entity,
                    qb_record_id=event.entity_id,
                    operation=event.operation,
                    status=status,
                    message=message,
                    attempts=extra.pop("attempts", event.attempts),
                    event_time=event.occurred_at,
                    synced_at=now,
                    salesforce_object=mapping.salesforce_object if mapping else None,
                    company_known=batch.config is not None and bool(batch.config.company_status),
                    **extra,
                )
            )

        ids = [e.id for e in batch.events]
        if batch.skipped is not None:
            self.ledger.mark_skipped(ids, batch.skipped)
            for event in batch.events:
                entry(event, SKIPPED, batch.skipped)
            return entries
        if batch.wait_until is not None:
            self.ledger.release(ids, batch.wait_until)
            message = f"waiting until {batch.wait_until.isoformat()}: {batch.wait_reason}"
            for event in batch.events:
                entry(event, RETRYING, message, attempts=max(0, event.attempts - 1))
            return entries

        warnings = list(batch.mapping.warnings) if batch.mapping else []
        for event in batch.events:
            if batch.failed is not None:
                outcome = RecordOutcome(FAILED_KIND, batch.failed)
            elif batch.retry_all is not None and event.entity_id not in batch.records:
                outcome = RecordOutcome(RETRY, batch.retry_all)
            else:
                outcome = self._event_outcome(batch, event)
            if outcome.kind == DONE:
                note = outcome.message.split(";", 1)[0]
                done[note].append(event.id)
                message = "; ".join([outcome.message, *warnings])
                entry(event, SUCCESS, message, salesforce_record_id=outcome.salesforce_id)
            elif outcome.kind == FAILED_KIND:
                failed[outcome.message].append(event.id)
                entry(event, FAILED, outcome.message, salesforce_record_id=outcome.salesforce_id)
            elif event.attempts >= self.settings.max_attempts:
                error = f"gave up after {event.attempts} attempts: {outcome.message}"
                dead[error].append(event.id)
                entry(event, FAILED, error)
            else:
                retry[(outcome.message, event.attempts)].append(event.id)
                entry(event, RETRYING, f"will retry: {outcome.message}")

        for note, event_ids in done.items():
            self.ledger.mark_done(event_ids, note)
        for error, event_ids in failed.items():
            self.ledger.mark_failed(event_ids, error, None)
        for error, event_ids in dead.items():
            self.ledger.mark_dead(event_ids, error)
        for (error, attempt), event_ids in retry.items():
            delay = backoff_seconds(attempt, self._rng)
            self.ledger.mark_failed(event_ids, error, now + timedelta(seconds=delay))
        return entries


def _failure(result: Any) -> RecordOutcome:
    """A failed per-record result as a retry (lock, limits) or a permanent failure."""
    message = result.message or "Salesforce reported a failure without errors"
    return RecordOutcome(RETRY if result.transient else FAILED_KIND, message)


def build_worker(settings: Settings) -> Worker:
    """A Worker wired to the configured ledger, QuickBooks and Salesforce (for the CLI)."""
    from qbsync.quickbooks.client import QuickBooksClient
    from qbsync.quickbooks.tokens import TokenVault
    from qbsync.salesforce.client import SalesforceClient

    ledger = Ledger.from_url(settings.database_url)
    vault = TokenVault(ledger.engine, settings.encryption_keys)
    return Worker(settings, ledger, QuickBooksClient(settings, vault), SalesforceClient(settings))
