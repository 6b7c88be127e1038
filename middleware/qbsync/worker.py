"""The sync worker: claimed ledger events → QuickBooks' current state → Salesforce upserts.

One `run_once` handles one claimed batch (one realm + entity, oldest first):

1. the realm's configuration (cached, `qbsync.sync_config`): events of objects that are not
   mapped, have no field mappings or are not real-time enabled end *skipped* with the reason;
   a company that is not Connected makes the events wait;
2. ONE QuickBooks query for the distinct ids (reads are metered, research quickbooks.md §4),
   except records CDC returned whole that hold every mapped property (their events carry them);
   an id QuickBooks no longer returns was deleted since and is handled as a delete;
3. records whose `MetaData.LastUpdatedTime` is not newer than the last applied one are done
   ("already applied"): duplicates and out-of-order events converge, because what is written is
   always QuickBooks' current state;
4. mapping (`qbsync.mapping`) and sObject Collections upserts, ≤200 records a call; deletes
   follow the mapping's Delete_Behavior__c; a mapping with line mappings (transactions, issue 10)
   upserts the records first, then their lines, and deletes the lines QuickBooks no longer has
   (one SOQL per 200 updated records); a reference Salesforce cannot resolve yet makes the worker
   sync the referenced records first and try again in the same batch (`qbsync.references`); a
   Payment's invoices are read and written again, since it changed their Balance; a Void sets
   `Voided__c` where the target object has it;
5. each event's outcome in the ledger, then one QB_Sync_Log__c row per event (one batched write).

Outcomes are types (`qbsync.outcomes`, huey's RetryTask habit): what decides a whole batch's
outcome raises it (`Skip`, `Fail`, `WaitForRealm`, `Retry`), each record's is settled as a value,
and one table records them all. Transient failures retry with exponential backoff and full
jitter, permanent ones fail with Salesforce's message, and an event that keeps failing is dead
after `settings.max_attempts`. Tests drive `run_once` directly with a fixed clock; nothing here
sleeps except `run_forever` between empty polls.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from qbsync import logs, metrics
from qbsync.company_record import show_on_company
from qbsync.events import Version
from qbsync.mapping import (
    LineMapping,
    MappedRecord,
    MappingError,
    ObjectMapping,
    SObjectDescribe,
    build_lines,
    build_record,
    record_version,
)
from qbsync.outcomes import (
    SETTLEMENTS,
    Done,
    Fail,
    Outcome,
    Retry,
    Skip,
    WaitForRealm,
    final,
    from_salesforce,
)
from qbsync.quickbooks.errors import (
    QuickBooksAuthError,
    QuickBooksError,
    QuickBooksFault,
    QuickBooksThrottled,
)
from qbsync.references import linked_transactions, merge_into, missing_references
from qbsync.remotes import QuickBooks, Salesforce
from qbsync.salesforce.chunks import COLLECTION_LIMIT, call_in_chunks
from qbsync.salesforce.client import RecordResult
from qbsync.salesforce.errors import SalesforceError
from qbsync.salesforce.schema import external_id, parse_external_id
from qbsync.services import Services
from qbsync.store import StoreUnavailable
from qbsync.store.ledger import StoredEvent
from qbsync.sync_config import RealmConfig, soql_literal
from qbsync.sync_log import SUCCESS, SyncLogEntry, SyncLogWriter

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 600.0
# How long the loop waits when the database is locked or unreachable before it tries again.
STORE_WAIT_SECONDS = 5.0
LAST_EVENT_INTERVAL = timedelta(
    minutes=1
)  # how often the connection card's "Last event" is refreshed
# Record-level errors that mean "gone already": a delete that finds nothing to delete is done.
ALREADY_DELETED_CODES = frozenset({"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"})

# Contract-10: a target object with this Checkbox has it set when QuickBooks voids the record.
VOIDED_FIELD = "Voided__c"
# Entities whose records change the Balance of the transactions their lines link: a Payment's
# sync writes those invoices again (QuickBooks' Payment: Line[].LinkedTxn[]).
PAYS_LINKED = frozenset({"Payment"})
# How many rounds of "sync the referenced records first" one write may start: a payment line's
# invoice refers to a customer, whose parent customer may not be there yet either.
MAX_REFERENCE_DEPTH = 3

# A record's outcomes from least to most severe: an event touching two records (a merge) takes
# the worse of their outcomes.
_SEVERITY: dict[type[Outcome], int] = {Done: 0, Retry: 1, Fail: 2}


def _property(path: str) -> str:
    """The record property a field path starts in: `BillAddr.City` → `BillAddr`."""
    return path.split(".", 1)[0].split("[", 1)[0]


_NO_VERSION = Version(datetime.min.replace(tzinfo=UTC))


def _version_order(record: dict) -> Version:
    return record_version(record) or _NO_VERSION


def backoff_seconds(attempt: int, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform(0, min(cap, base · 2^(attempt-1)))."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempt - 1))
    return rng.uniform(0, ceiling)


@dataclass(frozen=True)
class _Upsert:
    entity_id: str
    mapped: MappedRecord
    version: Version | None  # QuickBooks LastUpdatedTime + SyncToken, recorded on success


@dataclass(frozen=True)
class _Write:
    """What writing records of one mapping needs."""

    realm_id: str
    config: RealmConfig
    mapping: ObjectMapping
    describe: SObjectDescribe
    voided: frozenset[str] = frozenset()  # QuickBooks ids a Void event reported


def _mark_voided(mapped: MappedRecord, describe: SObjectDescribe) -> None:
    voided = describe.field(VOIDED_FIELD)
    if voided is not None and voided.type == "boolean":
        mapped.fields[voided.name] = True


def _drop_parent(mapped: MappedRecord, describe: SObjectDescribe, lines: LineMapping) -> None:
    """Leave the parent out of a line's body: the line exists and already belongs to it."""
    parent = describe.field(lines.parent_field)
    if parent is not None and parent.relationship_name:
        mapped.fields.pop(parent.relationship_name, None)


def _failed(result: RecordResult | SalesforceError) -> bool:
    return isinstance(result, SalesforceError) or not result.success


def _failed_write(result: RecordResult | SalesforceError, realm_id: str) -> Outcome:
    """A failed upsert's outcome: a reference still missing after the referenced records were
    synced is retried, never a permanent failure for ordering."""
    if missing_references(result, realm_id):
        return Retry(f"a referenced record is not in Salesforce yet: {result.message}")
    return from_salesforce(result)


def _version_or_none(record: dict) -> Version | None:
    try:
        return record_version(record)
    except ValueError:
        return None


@dataclass
class _Batch:
    """One claimed batch and the outcomes gathered while processing it."""

    events: list[StoredEvent]
    now: datetime
    # Per QuickBooks record (the events about it share it).
    records: dict[str, Outcome] = field(default_factory=dict)
    # The batch-wide outcome `_process` raised: for the events without a record outcome.
    outcome: Outcome | None = None
    mapping: ObjectMapping | None = None
    config: RealmConfig | None = None

    @property
    def realm_id(self) -> str:
        return self.events[0].realm_id

    @property
    def entity(self) -> str:
        return self.events[0].entity

    def settle(self, entity_id: str, outcome: Outcome) -> None:
        self.records.setdefault(entity_id, outcome)

    def unsettled(self, ids: Iterable[str]) -> list[str]:
        return [i for i in ids if i not in self.records]


def _check_json(mapped: MappedRecord) -> None:
    """Refuse a body that cannot travel as JSON (requests sends `allow_nan=False`), so that it
    fails alone instead of failing the sObject Collections call of 200 records."""
    try:
        json.dumps(mapped.fields, allow_nan=False)
    except (ValueError, TypeError, RecursionError) as error:
        raise MappingError(f"the record cannot be sent to Salesforce as JSON: {error}") from None


class Worker:
    """Processes claimed ledger events; see the module docstring."""

    def __init__(
        self, services: Services, *, rng: random.Random | None = None, name: str | None = None
    ) -> None:
        """Work with `services`' store, clients, configuration cache and clock."""
        self.settings = services.settings
        self.catalog = services.catalog
        self.ledger = services.store.events
        self.versions = services.store.versions
        self.signal = services.store.config_signal
        self.quickbooks: QuickBooks = services.quickbooks
        self.salesforce: Salesforce = services.salesforce
        self.clock = services.clock
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self.configs = services.configs
        self.sync_logs = SyncLogWriter(self.salesforce)
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
        logs.bind_events([event.event_key for event in events])
        try:
            self._process(batch)
        except Outcome as outcome:
            batch.outcome = outcome
        except StoreUnavailable:
            # Nothing can be recorded now: the events stay claimed and come back when their
            # lease ends (what reached Salesforce is upserted again, by external id: harmless).
            raise
        except Exception as error:
            # A bug or an unforeseen failure: the events retry (and end dead if it persists)
            # instead of sitting claimed until the lease runs out.
            log.exception("Batch of %d %s events failed", len(events), batch.entity)
            batch.outcome = Retry(f"internal error: {type(error).__name__}: {error}")
        entries = self._settle(batch)
        metrics.observe_settled(events, entries, SUCCESS)
        if any(entry.status == SUCCESS for entry in entries):
            self._note_last_event(batch.realm_id, batch.now)
        self.sync_logs.write(entries)
        logs.unbind_events()
        return len(events)

    def run_forever(self, stop: threading.Event) -> None:
        """Process batches until `stop` is set; waits `worker_poll_seconds` when idle."""
        log.info("Worker %s started", self.name)
        while not stop.is_set():
            try:
                processed = self.run_once()
            except StoreUnavailable as error:
                log.warning("Worker waits for the database: %s", error)
                stop.wait(STORE_WAIT_SECONDS)
                continue
            except Exception:
                log.exception("Worker loop error; pausing before the next poll")
                processed = 0
            if not processed:
                stop.wait(self.settings.worker_poll_seconds)
        log.info("Worker %s stopped", self.name)

    # --- one batch --------------------------------------------------------------------------

    def _process(self, batch: _Batch) -> None:
        """Settle the batch's records, or raise the outcome of the whole batch."""
        realm, entity = batch.realm_id, batch.entity
        waiting = self._realm_waits.get(realm)
        if waiting and waiting[0] > batch.now and waiting[2] == self.signal.generation():
            raise WaitForRealm(*waiting[:2])
        try:
            config = self.configs.get(realm)
        except SalesforceError as error:
            raise Retry(f"reading the sync configuration from Salesforce failed: {error}") from None
        batch.config = config
        mapping = config.mapping(entity)
        batch.mapping = mapping
        if mapping is None:
            raise Skip(f"not mapped: QuickBooks {entity} has no object mapping")
        if not mapping.field_mappings and not mapping.problems:
            raise Skip(f"no field mappings: QuickBooks {entity} has no field mappings")
        if not mapping.realtime_enabled:
            raise Skip(f"not real-time enabled: QuickBooks {entity} is not enabled")
        if mapping.problems:
            raise Fail("mapping cannot be used: " + "; ".join(mapping.problems))
        if not config.connected:
            raise WaitForRealm(
                batch.now + timedelta(seconds=self.settings.realm_wait_seconds),
                f"company status is {config.company_status or 'unknown'}; waiting for Connected",
            )
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

        # Records CDC returned whole need no second read (reads are metered).
        given = self._records_given(batch, mapping, to_read)
        to_read = [entity_id for entity_id in to_read if entity_id not in given]
        found: dict[str, dict] = {}
        if to_read:
            try:
                found = self.quickbooks.query_by_ids(batch.realm_id, batch.entity, to_read)
            except QuickBooksThrottled as error:
                metrics.RATE_LIMIT_WAITS.inc()
                raise self._realm_wait(
                    batch, self.settings.realm_wait_seconds, str(error)
                ) from None
            except QuickBooksAuthError as error:
                wait = self._realm_wait(
                    batch, self.settings.realm_wait_seconds, f"Reconnect Required: {error}"
                )
                self._mark_reconnect_required(batch.realm_id, str(error))
                raise wait from None
            except QuickBooksFault as error:
                for entity_id in to_read:
                    batch.settle(entity_id, Fail(str(error)))
            except QuickBooksError as error:  # transient, or anything not classified
                for entity_id in to_read:
                    batch.settle(entity_id, Retry(str(error)))
            else:
                # Not returned: deleted (or merged away) since the event was sent.
                deleted.update(i for i in to_read if i not in found)
                if mapping.delete_behavior == "Delete":
                    # QuickBooks' deleted name-list record is an inactive one: it goes too.
                    inactive = [i for i, record in found.items() if record.get("Active") is False]
                    deleted.update(inactive)
                    found = {i: r for i, r in found.items() if i not in inactive}

        if given:
            if mapping.delete_behavior == "Delete":
                inactive = [i for i, record in given.items() if record.get("Active") is False]
                deleted.update(inactive)
                given = {i: r for i, r in given.items() if i not in inactive}
            found = {**found, **given}

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
            for entity_id in batch.unsettled([*upserts, *deleted]):
                batch.settle(entity_id, from_salesforce(error, "describe failed: "))
            return
        voided = frozenset(e.entity_id for e in batch.events if e.operation == "Void")
        written = self._write(
            _Write(batch.realm_id, config, mapping, describe, voided), upserts, depth=0
        )
        for entity_id, outcome in written.items():
            batch.settle(entity_id, outcome)
        self._follow_merges(batch, mapping, config)
        gone = batch.unsettled(sorted(deleted))
        linked: dict[str, set[str]] = {}
        if mapping.qb_object in PAYS_LINKED and gone:
            # Read before the delete takes the payment's lines along.
            linked = self._linked_in_salesforce(batch.realm_id, config, mapping, gone)
        self._apply_deletes(batch, mapping, describe, gone)
        self._sync_related(batch.realm_id, config, linked, depth=1)

    @staticmethod
    def _records_given(batch: _Batch, mapping: ObjectMapping, ids: list[str]) -> dict[str, dict]:
        """The records of `ids` that CDC returned whole, when they can stand for a read.

        Only when every event about the record carries one (a webhook may announce a newer
        change) and the newest holds every mapped field's property: QuickBooks leaves out
        properties without a value, and an absent one is read again rather than guessed.
        """
        carried: dict[str, list[dict]] = {}
        without: set[str] = set()
        for event in batch.events:
            if event.record is None:
                without.add(event.entity_id)
            else:
                carried.setdefault(event.entity_id, []).append(event.record)
        needed = {_property(f.qb_field) for f in mapping.field_mappings}
        needed.update(_property(lines.collection_path) for lines in mapping.line_mappings)
        given: dict[str, dict] = {}
        for entity_id in ids:
            if entity_id in without or entity_id not in carried:
                continue
            newest = max(carried[entity_id], key=_version_order)
            if needed <= set(newest):
                given[entity_id] = newest
        return given

    def _fresh_records(
        self, batch: _Batch, found: dict[str, dict]
    ) -> dict[str, tuple[dict, Version | None]]:
        """Found records newer than what was applied; the others are done already.

        A record a Void event is about is written even so: reconciliation may have applied the
        voided version first, without knowing it was a void, and `Voided__c` comes from the event.
        """
        fresh: dict[str, tuple[dict, Version | None]] = {}
        ids = batch.unsettled(found)
        applied_versions = self.versions.applied_many(batch.realm_id, batch.entity, ids)
        voided = {e.entity_id for e in batch.events if e.operation == "Void"}
        for entity_id in ids:
            record = found[entity_id]
            try:
                version = record_version(record)
            except ValueError as error:
                batch.settle(entity_id, Fail(f"unreadable MetaData from QuickBooks: {error}"))
                continue
            applied = applied_versions.get(entity_id)
            stale = version is not None and applied is not None and version <= applied
            if stale and entity_id not in voided:
                batch.settle(entity_id, Done("already applied"))
                continue
            fresh[entity_id] = (record, version)
        return fresh

    def _describe(self, sobject: str) -> SObjectDescribe:
        # A configuration change (a Save in Salesforce) may come with new fields: describe again.
        generation = self.signal.generation()
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
                batch.settle(entity_id, Done("delete ignored (Delete_Behavior__c)"))
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
                    batch.settle(entity_id, Fail(reason))
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

        def salesforce_ids(chunk: list[str]) -> list[str | None]:
            in_list = ", ".join(f"'{soql_literal(k)}'" for k in chunk)
            soql = f"SELECT Id, {ext} FROM {obj} WHERE {ext} IN ({in_list})"  # noqa: S608
            by_key = {row.get(ext): row["Id"] for row in self.salesforce.query_all(soql)}
            return [by_key.get(key) for key in chunk]

        found: dict[str, str] = {}
        for key, result in call_in_chunks(list(keys), salesforce_ids):
            if isinstance(result, SalesforceError):
                batch.settle(keys[key], from_salesforce(result, "finding the record: "))
            elif result is None:
                batch.settle(keys[key], Done("not in Salesforce; nothing to do"))
            else:
                found[result] = keys[key]
        return {sf_id: qb_id for sf_id, qb_id in found.items() if qb_id not in batch.records}

    def _delete_found(self, batch: _Batch, found: dict[str, str]) -> None:
        for sf_id, result in call_in_chunks(list(found), self.salesforce.delete_collection):
            if isinstance(result, SalesforceError):
                outcome = from_salesforce(result)
            elif (
                result.success
                or {e.get("statusCode") for e in result.errors} & ALREADY_DELETED_CODES
            ):
                outcome = Done("deleted", sf_id)
            else:
                outcome = from_salesforce(result)
            batch.settle(found[sf_id], outcome)

    def _deactivate_found(
        self, batch: _Batch, mapping: ObjectMapping, field_name: str, found: dict[str, str]
    ) -> None:
        records = [{"Id": sf_id, field_name: False} for sf_id in found]
        for record, result in call_in_chunks(
            records,
            lambda chunk: self.salesforce.update_collection(chunk, mapping.salesforce_object),
        ):
            if isinstance(result, SalesforceError) or not result.success:
                outcome = from_salesforce(result)
            else:
                outcome = Done("deactivated", record["Id"])
            batch.settle(found[record["Id"]], outcome)

    # --- upserts ----------------------------------------------------------------------------

    def _write(
        self, write: _Write, records: dict[str, tuple[dict, Version | None]], depth: int
    ) -> dict[str, Outcome]:
        """Upsert `records` (QuickBooks id → record, version), then their lines; the outcome
        of each, and the versions of those fully written recorded as applied."""
        mapping, outcomes = write.mapping, {}
        bodies: list[_Upsert] = []
        parents = write.config.parent_targets()
        for entity_id, (record, version) in records.items():
            try:
                mapped: MappedRecord = build_record(
                    record, mapping, write.describe, write.realm_id, parents
                )
                if entity_id in write.voided:
                    _mark_voided(mapped, write.describe)
                _check_json(mapped)
            except MappingError as error:
                outcomes[entity_id] = Fail(str(error))
                continue
            except Exception as error:
                # A bug met by one record: it retries (and ends dead), the others go on.
                log.exception("Mapping %s %s failed", mapping.qb_object, entity_id)
                outcomes[entity_id] = Retry(f"internal error: {type(error).__name__}: {error}")
                continue
            bodies.append(_Upsert(entity_id, mapped, version))
        written: dict[str, tuple[str | Outcome, RecordResult]] = {}
        for body, result in self._upsert(
            write.realm_id,
            write.config,
            mapping.salesforce_object,
            mapping.external_id_field,
            bodies,
            depth,
        ):
            if isinstance(result, Outcome):
                outcomes[body.entity_id] = result
            else:
                note = "created" if result.created else "updated"
                written[body.entity_id] = ("; ".join([note, *body.mapped.warnings]), result)
        if mapping.qb_object in PAYS_LINKED and written:
            # Before the payment's lines, which refer to these invoices; with those its lines
            # linked until now (an invoice no longer paid gets its balance back).
            linked = linked_transactions(records[i][0] for i in written)
            updated = [i for i, (_, result) in written.items() if not result.created]
            merge_into(
                linked, self._linked_in_salesforce(write.realm_id, write.config, mapping, updated)
            )
            self._sync_related(write.realm_id, write.config, linked, depth + 1)
        if mapping.line_mappings and written:
            created = {i for i, (_, result) in written.items() if result.created}
            self._write_lines(write, {i: records[i][0] for i in written}, created, written, depth)
        for entity_id, (note, result) in written.items():
            outcomes[entity_id] = note if isinstance(note, Outcome) else Done(note, result.id)
        applied = {
            i: records[i][1]
            for i, outcome in outcomes.items()
            if isinstance(outcome, Done) and records[i][1] is not None
        }
        self.versions.record_many(write.realm_id, mapping.qb_object, applied)
        return outcomes

    def _upsert(
        self,
        realm_id: str,
        config: RealmConfig,
        sobject: str,
        ext: str,
        bodies: list[_Upsert],
        depth: int,
    ) -> list[tuple[_Upsert, RecordResult | Outcome]]:
        """Upsert by external id, ≤200 a call; each body with its result when written, else
        its outcome. A body whose references Salesforce did not find is sent again after the
        referenced records were synced (`_sync_related`)."""
        results = self._upsert_calls(sobject, ext, [body.mapped for body in bodies])
        missing: dict[str, set[str]] = {}
        again = []
        for index, result in enumerate(results):
            references = missing_references(result, realm_id)
            if references:
                merge_into(missing, references)
                again.append(index)
        if again and depth < MAX_REFERENCE_DEPTH:
            self._sync_related(realm_id, config, missing, depth + 1)
            retried = self._upsert_calls(sobject, ext, [bodies[i].mapped for i in again])
            for index, result in zip(again, retried, strict=True):
                results[index] = result
        return [
            (body, _failed_write(result, realm_id) if _failed(result) else result)
            for body, result in zip(bodies, results, strict=True)
        ]

    def _upsert_calls(
        self, sobject: str, ext: str, bodies: list[MappedRecord]
    ) -> list[RecordResult | SalesforceError]:
        return [
            result
            for _, result in call_in_chunks(
                bodies,
                lambda chunk: self.salesforce.upsert_collection(
                    sobject, ext, [body.fields for body in chunk]
                ),
            )
        ]

    # --- lines and the records they refer to (issue 10) --------------------------------------

    def _write_lines(
        self,
        write: _Write,
        records: dict[str, dict],
        created: set[str],
        written: dict[str, tuple[str | Outcome, RecordResult]],
        depth: int,
    ) -> None:
        """Upsert the lines of the written `records`, every line mapping in turn, then delete
        the lines QuickBooks no longer has; a record whose lines fail takes their outcome.

        The lines a record already has in Salesforce are read first (one SOQL per 200 records,
        none for records just created): their bodies leave out the parent field, which a
        master-detail field refuses on update and which they already hold (their external id
        is their parent's plus their key), and the ones not written again are deleted. Line
        mappings may share their object (the recommended product, description and discount
        lines do): the lines kept are those of all of them.
        """
        counts = {entity_id: [0, 0] for entity_id in records}  # lines written, deleted

        def fail(entity_id: str, outcome: Outcome) -> None:
            if not isinstance(written[entity_id][0], Outcome):
                written[entity_id] = (outcome, written[entity_id][1])

        def live() -> list[str]:
            return [i for i in records if not isinstance(written[i][0], Outcome)]

        parents = write.config.parent_targets()
        # (line object, parent field) -> lines in Salesforce (external id -> Id) and kept keys
        existing: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
        kept: dict[tuple[str, str], dict[str, set[str]]] = {}
        for lines in write.mapping.line_mappings:
            try:
                describe = self._describe(lines.salesforce_object)
            except SalesforceError as error:
                for entity_id in live():
                    fail(
                        entity_id,
                        from_salesforce(error, f"{lines.collection_path}: describe failed: "),
                    )
                continue
            group = (lines.salesforce_object.lower(), lines.parent_field.lower())
            if group not in existing:
                old = [i for i in live() if i not in created]
                existing[group], failures = self._existing_lines(write, lines, describe, old)
                for entity_id, outcome in failures.items():
                    fail(entity_id, outcome)
            bodies: list[_Upsert] = []
            for entity_id in live():
                try:
                    mapped = build_lines(
                        records[entity_id], write.mapping, lines, describe, write.realm_id, parents
                    )
                    for body in mapped:
                        _check_json(body)
                except MappingError as error:
                    fail(entity_id, Fail(str(error)))
                    continue
                there = existing[group].get(entity_id, {})
                for body in mapped:
                    if body.external_id in there:
                        _drop_parent(body, describe, lines)
                keys = kept.setdefault(group, {}).setdefault(entity_id, set())
                keys.update(body.external_id for body in mapped)
                bodies.extend(_Upsert(entity_id, body, None) for body in mapped)
            for body, result in self._upsert(
                write.realm_id,
                write.config,
                lines.salesforce_object,
                lines.external_id_field,
                bodies,
                depth,
            ):
                if isinstance(result, Outcome):
                    line = body.mapped.external_id
                    fail(body.entity_id, type(result)(f"line {line}: {result.message}"))
                else:
                    counts[body.entity_id][0] += 1
        alive = set(live())
        stale = [
            (entity_id, sf_id)
            for group, by_record in existing.items()
            for entity_id, lines_there in by_record.items()
            if entity_id in alive
            for key, sf_id in lines_there.items()
            if key not in kept.get(group, {}).get(entity_id, ())
        ]
        for entity_id, outcome in self._delete_lines(stale, counts).items():
            fail(entity_id, outcome)
        for entity_id, (note, result) in written.items():
            if not isinstance(note, Outcome):
                lines_written, lines_deleted = counts[entity_id]
                summary = f"{lines_written} lines written" + (
                    f", {lines_deleted} removed" if lines_deleted else ""
                )
                written[entity_id] = (f"{note}; {summary}", result)

    def _existing_lines(
        self, write: _Write, lines: LineMapping, describe: SObjectDescribe, entity_ids: list[str]
    ) -> tuple[dict[str, dict[str, str]], dict[str, Outcome]]:
        """The lines these records have in `lines`' object, by QuickBooks id of the record:
        external id → Salesforce Id (one SOQL per 200 records); and the records whose lines
        could not be read, with the outcome."""
        found: dict[str, dict[str, str]] = {}
        failures: dict[str, Outcome] = {}
        parent = describe.field(lines.parent_field)
        if not entity_ids or parent is None or not parent.relationship_name:
            return found, failures  # build_lines names the mistake
        relationship = parent.relationship_name
        parent_ext, ext = write.mapping.external_id_field, lines.external_id_field
        by_key = {external_id(write.realm_id, write.mapping.qb_object, i): i for i in entity_ids}

        def lines_of(chunk: list[str]) -> list[dict[str, str]]:
            in_list = ", ".join(f"'{soql_literal(k)}'" for k in chunk)
            soql = (
                f"SELECT Id, {ext}, {relationship}.{parent_ext} FROM {lines.salesforce_object} "  # noqa: S608
                f"WHERE {relationship}.{parent_ext} IN ({in_list})"
            )
            rows: dict[str, dict[str, str]] = {}
            for row in self.salesforce.query_all(soql):
                key = (row.get(relationship) or {}).get(parent_ext)
                rows.setdefault(key, {})[row.get(ext)] = row["Id"]
            return [rows.get(key, {}) for key in chunk]

        for key, result in call_in_chunks(list(by_key), lines_of):
            if isinstance(result, SalesforceError):
                failures[by_key[key]] = from_salesforce(result, "reading the record's lines: ")
            else:
                found[by_key[key]] = result
        return found, failures

    def _delete_lines(
        self, stale: list[tuple[str, str]], counts: dict[str, list[int]]
    ) -> dict[str, Outcome]:
        """Delete lines (QuickBooks id of their record, Salesforce Id), ≤200 a call; the
        records whose lines could not be deleted, with the outcome."""
        failures: dict[str, Outcome] = {}
        for (entity_id, _), result in call_in_chunks(
            stale, lambda chunk: self.salesforce.delete_collection([sf_id for _, sf_id in chunk])
        ):
            gone = not isinstance(result, SalesforceError) and (
                result.success
                or {e.get("statusCode") for e in result.errors} & ALREADY_DELETED_CODES
            )
            if gone:
                counts[entity_id][1] += 1
            else:
                failures.setdefault(entity_id, from_salesforce(result, "deleting a removed line: "))
        return failures

    def _linked_in_salesforce(
        self, realm_id: str, config: RealmConfig, mapping: ObjectMapping, entity_ids: list[str]
    ) -> dict[str, set[str]]:
        """The records these records' lines in Salesforce refer to (a payment's invoices, as
        last written), QuickBooks ids by entity: one SOQL per 200 records and line reference."""
        linked: dict[str, set[str]] = {}
        keys = [external_id(realm_id, mapping.qb_object, i) for i in entity_ids]
        for lines in mapping.line_mappings if keys else ():
            for fm in lines.field_mappings:
                other = config.mapping(fm.reference_to or "")
                try:
                    describe = self._describe(lines.salesforce_object)
                except SalesforceError as error:
                    log.warning("Reading %s lines failed: %s", mapping.qb_object, error)
                    break
                parent = describe.field(lines.parent_field)
                target = describe.field(fm.salesforce_field)
                if other is None or not (
                    parent and parent.relationship_name and target and target.relationship_name
                ):
                    continue
                for key in self._values_where_in(
                    lines.salesforce_object,
                    (target.relationship_name, other.external_id_field),
                    f"{parent.relationship_name}.{mapping.external_id_field}",
                    keys,
                ):
                    parsed = parse_external_id(realm_id, key)
                    if parsed is not None:
                        linked.setdefault(parsed[0], set()).add(parsed[1])
        return linked

    def _values_where_in(
        self, sobject: str, value: tuple[str, str], where: str, keys: list[str]
    ) -> set[str]:
        """The values of `relationship.field` (`value`) on the records of `sobject` whose
        `where` path is among `keys`; one SOQL per 200 keys, failures logged."""
        relationship, field_name = value
        found: set[str] = set()
        for start in range(0, len(keys), COLLECTION_LIMIT):
            in_list = ", ".join(
                f"'{soql_literal(k)}'" for k in keys[start : start + COLLECTION_LIMIT]
            )
            soql = (
                f"SELECT {relationship}.{field_name} FROM {sobject} "  # noqa: S608
                f"WHERE {where} IN ({in_list})"
            )
            try:
                rows = self.salesforce.query_all(soql)
            except SalesforceError as error:
                log.warning("Reading %s failed: %s", sobject, error)
                continue
            found.update(
                str(v) for row in rows if (v := (row.get(relationship) or {}).get(field_name))
            )
        return found

    def _follow_merges(self, batch: _Batch, mapping: ObjectMapping, config: RealmConfig) -> None:
        """Write again the records that referred to a record merged away: QuickBooks moves a
        merged customer's transactions to the one that survives, without a webhook for each
        (Intuit's merge article; no webhook: UNCONFIRMED), so those in Salesforce would keep
        pointing at the merged-away record. Found in Salesforce (one SOQL per referring object
        and field), read from QuickBooks (one query per entity); only for real-time mappings."""
        merged = sorted(
            {e.deleted_id for e in batch.events if e.operation == "Merge" and e.deleted_id}
        )
        if not merged:
            return
        keys = ", ".join(
            f"'{soql_literal(external_id(batch.realm_id, mapping.qb_object, i))}'" for i in merged
        )
        referring = {
            (other.salesforce_object, other.external_id_field, fm.salesforce_field)
            for other in config.mappings.values()
            if other.realtime_enabled and not other.problems
            for fm in other.field_mappings
            if fm.reference_to == mapping.qb_object
        }
        wanted: dict[str, set[str]] = {}
        for sobject, ext, field_name in sorted(referring):
            try:
                target = self._describe(sobject).field(field_name)
                if target is None or not target.relationship_name:
                    continue
                soql = (
                    f"SELECT {ext} FROM {sobject} "  # noqa: S608
                    f"WHERE {target.relationship_name}.{mapping.external_id_field} IN ({keys})"
                )
                rows = self.salesforce.query_all(soql)
            except SalesforceError as error:
                log.warning("Finding the records referring to merged %s failed: %s", merged, error)
                continue
            for row in rows:
                parsed = parse_external_id(batch.realm_id, str(row.get(ext) or ""))
                other = config.mapping(parsed[0]) if parsed else None
                if other is not None and other.realtime_enabled:
                    wanted.setdefault(other.qb_object, set()).add(parsed[1])
        self._sync_related(batch.realm_id, config, wanted, depth=1)

    def _sync_related(
        self, realm_id: str, config: RealmConfig, wanted: dict[str, set[str]], depth: int
    ) -> None:
        """Read the records `wanted` names (one QuickBooks query per entity) and write them with
        their own mappings, whether or not real-time is on for them: what refers to them needs
        them. What fails here is logged; the record that needed them retries with its reason."""
        for entity, ids in sorted(wanted.items()):
            mapping = config.mapping(entity)
            if mapping is None or mapping.problems or not mapping.field_mappings:
                continue
            try:
                found = self.quickbooks.query_by_ids(realm_id, mapping.qb_object, sorted(ids))
                describe = self._describe(mapping.salesforce_object)
            except (QuickBooksError, SalesforceError) as error:
                log.warning("Reading referenced %s records failed: %s", entity, error)
                continue
            records = {i: (record, _version_or_none(record)) for i, record in found.items()}
            related = _Write(realm_id, config, mapping, describe)
            outcomes = self._write(related, records, depth)
            for entity_id, outcome in sorted(outcomes.items()):
                if not isinstance(outcome, Done):
                    log.warning(
                        "Referenced %s %s not written: %s", entity, entity_id, outcome.message
                    )

    # --- realm-wide waits -------------------------------------------------------------------

    def _realm_wait(self, batch: _Batch, seconds: float, reason: str) -> WaitForRealm:
        """The realm's wait, also for its other entities' batches until then."""
        until = batch.now + timedelta(seconds=seconds)
        self._realm_waits[batch.realm_id] = (until, reason, self.signal.generation())
        return WaitForRealm(until, reason)

    def _mark_reconnect_required(self, realm_id: str, reason: str) -> None:
        """Show the admin that the company needs a new consent; its events wait meanwhile."""
        show_on_company(
            self.salesforce,
            realm_id,
            {"Status__c": "Reconnect Required", "Last_Error__c": reason[:32768]},
        )
        self.configs.invalidate(realm_id)

    def _note_last_event(self, realm_id: str, now: datetime) -> None:
        """Keep the connection card's "Last event" current, at most once a minute per realm
        (each update is a Salesforce API call)."""
        shown = self._last_event_shown.get(realm_id)
        if shown is not None and now - shown < LAST_EVENT_INTERVAL:
            return
        self._last_event_shown[realm_id] = now
        show_on_company(
            self.salesforce, realm_id, {"Last_Event_At__c": now.isoformat(timespec="seconds")}
        )

    # --- outcomes ---------------------------------------------------------------------------

    def _event_outcome(self, batch: _Batch, event: StoredEvent) -> Outcome:
        outcome = batch.records.get(event.entity_id)
        if outcome is None:
            return batch.outcome or Retry("internal error: no outcome")
        if event.operation == "Merge" and event.deleted_id:
            merged = batch.records.get(event.deleted_id)
            if merged is not None:
                worse = max((outcome, merged), key=lambda o: _SEVERITY[type(o)])
                message = f"{outcome.message}; merged-away {event.deleted_id}: {merged.message}"
                outcome = type(worse)(message, outcome.salesforce_id)
        return outcome

    def _settle(self, batch: _Batch) -> list[SyncLogEntry]:
        """Record every event's outcome in the ledger as `SETTLEMENTS` says; returns the
        sync-log entries."""
        now = self.clock()
        warnings = list(batch.mapping.warnings) if batch.mapping else []
        # One ledger write per outcome kind and message; retries also per attempt (one backoff).
        groups: dict[tuple[type[Outcome], str, int], tuple[Outcome, list[int]]] = {}
        entries: list[SyncLogEntry] = []
        for event in batch.events:
            outcome = self._event_outcome(batch, event)
            if isinstance(outcome, Done) and warnings:  # field mappings left out
                outcome = Done("; ".join([outcome.message, *warnings]), outcome.salesforce_id)
            outcome = final(outcome, event.attempts, self.settings.max_attempts)
            attempt = event.attempts if SETTLEMENTS[type(outcome)].backs_off else 0
            key = (type(outcome), outcome.ledger_message, attempt)
            groups.setdefault(key, (outcome, []))[1].append(event.id)
            entries.append(self._log_entry(batch, event, outcome, now))
        for (kind, message, attempt), (outcome, ids) in groups.items():
            rule = SETTLEMENTS[kind]
            at = outcome.until
            if rule.backs_off:
                at = now + timedelta(seconds=backoff_seconds(attempt, self._rng))
            rule.write(self.ledger, ids, message, at)
        return entries

    @staticmethod
    def _log_entry(
        batch: _Batch, event: StoredEvent, outcome: Outcome, now: datetime
    ) -> SyncLogEntry:
        rule = SETTLEMENTS[type(outcome)]
        return SyncLogEntry(
            event_key=event.event_key,
            realm_id=event.realm_id,
            qb_object=event.entity,
            qb_record_id=event.entity_id,
            operation=event.operation,
            status=rule.sync_log_status,
            message=outcome.log_message,
            attempts=event.attempts if rule.counts_attempt else max(0, event.attempts - 1),
            event_time=event.occurred_at,
            synced_at=now,
            salesforce_object=batch.mapping.salesforce_object if batch.mapping else None,
            salesforce_record_id=outcome.salesforce_id,
            company_known=batch.config is not None and bool(batch.config.company_status),
        )
