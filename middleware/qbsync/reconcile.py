"""CDC reconciliation: catch the QuickBooks changes whose webhooks never came.

Intuit's webhooks are not guaranteed; its best practices tell apps to call Change Data Capture
"dating back to the last known successfully processed webhook event for each entity"
(research/quickbooks.md §3). `Reconciler.run_once` does that for every connected realm and every
real-time-enabled object mapping whose catalog entity supports CDC:

1. Scan start per (realm, entity): the scan pointer of the last pass minus `OVERLAP`; on the
   first pass `now - FIRST_LOOKBACK`; never further back than CDC's 30-day limit (clamped, with
   a warning: older changes can only be found by `qbsync verify`).
2. One CDC call per realm and group (entities with the same start share it; reads are metered).
   A response carries at most 1,000 objects, and Intuit does not say which 1,000 it keeps when
   more changed, so a full response is never taken as complete: the group is halved until each
   entity is alone; for one entity whose response is still full, a later `changedSince` is
   searched (halving, whole seconds) whose response holds fewer than 1,000 (complete from there
   on), and what changed last between the start and it is read with a query on
   `MetaData.LastUpdatedTime` (existing records, inactive ones included) plus a check of every
   record Salesforce holds (`applied_versions`): the ones QuickBooks no longer returns were
   deleted (a plain query misses deletes). A CDC Fault for one entity (one QuickBooks refuses)
   is halved down to that entity, logged and counted as an error; the others go on.
3. Every record read that the ledger has not applied (its version, LastUpdatedTime then
   SyncToken, is newer than `applied_versions`; deletions always) becomes a ChangeEvent, source
   "cdc", operation Update, or Delete for `"status": "Deleted"` (the worker then follows the
   mapping's Delete_Behavior__c), event key `cdc:<realm>:<entity>:<id>:<LastUpdatedTime as
   sent>:<SyncToken>` (two changes in one second are two events), stored through
   `EventLedger.add`, which drops keys it already holds — re-reading an overlap never duplicates
   work.

Watermark rule. Two instants are kept per (realm, entity) in `reconcile_watermarks`:
- `scanned_through`: CDC was read and its changes enqueued up to here (where the next scan
  resumes, minus the overlap);
- `applied_through`, the watermark: every change before it has been applied. After each pass it
  moves to the earliest `occurred_at` (the record's LastUpdatedTime) of this realm+entity's CDC
  events that are not done or skipped, or to `scanned_through` when there are none; it never
  moves backwards. So a window whose events still wait, fail or died holds the watermark back
  until they are applied or replayed (`qbsync replay`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from qbsync.events import ChangeEvent
from qbsync.keepalive import KeepAlive
from qbsync.mapping import parse_qb_time, record_version
from qbsync.periodic import LEASE_POLL_SECONDS, always
from qbsync.quickbooks.errors import QuickBooksError, QuickBooksFault
from qbsync.remotes import QuickBooks
from qbsync.salesforce.errors import SalesforceError
from qbsync.services import Services
from qbsync.store import StoreUnavailable
from qbsync.store.watermarks import Watermark
from qbsync.sync_config import RealmConfig

log = logging.getLogger(__name__)

CDC_MAX_OBJECTS = 1000  # "Server responses can handle a maximum of 1,000 objects" (research §3)
CDC_LOOKBACK = timedelta(days=30)  # "within the past 30 days" (research §3)
# Keep clear of the 30-day edge while the request travels and clocks differ.
LOOKBACK_MARGIN = timedelta(minutes=10)
FIRST_LOOKBACK = timedelta(days=1)
# Re-read the tail of the previous scan: a change committed just before our last call may have
# become visible only after it, and clocks differ. Event keys make the re-read free of duplicates.
OVERLAP = timedelta(minutes=5)
MIN_WINDOW = timedelta(seconds=1)  # LastUpdatedTime has whole seconds
DEFAULT_INTERVAL_SECONDS = 900.0  # issue 6: "periodically (default every 15 minutes)"


@dataclass
class ReconcileCounts:
    """What one pass did."""

    realms: int = 0  # realms reconciled
    entities: int = 0  # (realm, entity) pairs reconciled
    cdc_calls: int = 0
    changes: int = 0  # records CDC reported inside the windows
    already_applied: int = 0
    enqueued: int = 0  # new ledger events (known event keys are not counted)
    window_splits: int = 0  # extra CDC calls because a response was full
    gap_queries: int = 0  # queries for what a full response may have left out
    truncated_windows: int = 0  # full responses even for one second: scan not moved
    clamped: int = 0  # scans that wanted to start beyond CDC's 30 days
    tokens_refreshed: list[str] = field(default_factory=list)  # idle realms kept alive
    skipped: list[str] = field(default_factory=list)  # realms left out, with the reason
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class Reconciler:
    """Turns CDC changes the ledger has not applied into events (see the module docstring)."""

    def __init__(
        self, services: Services, *, realms: Callable[[], Iterable[str]] | None = None
    ) -> None:
        """Work with `services`' store, QuickBooks, configuration cache, catalog and clock.

        `realms` lists the realms to reconcile (default: every realm in the token vault).
        """
        self.settings = services.settings
        self.store = services.store
        self.quickbooks: QuickBooks = services.quickbooks
        self.config_store = services.configs
        self.clock = services.clock
        self._catalog = services.catalog
        self._realms = realms or services.vault.realms
        self._keep_alive = KeepAlive(services)

    # --- passes -----------------------------------------------------------------------------

    def run_once(self, realm: str | None = None) -> ReconcileCounts:
        """One pass over `realm`, or over every known realm; failures are counted, not raised.

        A pass over every realm first refreshes the tokens of idle ones (`qbsync.keepalive`).
        """
        counts = ReconcileCounts()
        if realm is None:
            kept = self._keep_alive.run_once()
            counts.tokens_refreshed, counts.errors = kept.refreshed, kept.errors
        for realm_id in [realm] if realm else list(self._realms()):
            try:
                self._reconcile_realm(realm_id, counts)
            except (QuickBooksError, SalesforceError) as error:
                log.warning("Reconciling realm %s failed: %s", realm_id, error)
                counts.errors.append(f"realm {realm_id}: {error}")
        return counts

    def entities(self, config: RealmConfig) -> list[str]:
        """The realm's objects to reconcile: real-time enabled, usable, and served by CDC."""
        names = []
        for mapping in config.mappings.values():
            entity = self._catalog.entity(mapping.qb_object)
            if (
                entity is not None
                and entity.cdc
                and mapping.realtime_enabled
                and mapping.field_mappings
                and not mapping.problems
            ):
                names.append(entity.name)
        return sorted(names)

    def _reconcile_realm(self, realm_id: str, counts: ReconcileCounts) -> None:
        config = self.config_store.get(realm_id)
        if not config.connected:
            counts.skipped.append(
                f"realm {realm_id}: company status is {config.company_status or 'unknown'}"
            )
            return
        entities = self.entities(config)
        if not entities:
            counts.skipped.append(f"realm {realm_id}: no real-time enabled object supports CDC")
            return
        counts.realms += 1
        counts.entities += len(entities)
        now = self.clock()
        stored = {w.entity: w for w in self.store.watermarks.all(realm_id)}
        groups: dict[datetime, list[str]] = defaultdict(list)
        for entity in entities:
            groups[self._scan_start(realm_id, stored.get(entity), now, counts)].append(entity)
        for start, group in sorted(groups.items()):
            self._scan(realm_id, group, start, now, stored, counts)
            self._advance_watermarks(realm_id, group, stored)

    def _scan_start(
        self, realm_id: str, mark: Watermark | None, now: datetime, counts: ReconcileCounts
    ) -> datetime:
        start = now - FIRST_LOOKBACK if mark is None else mark.scanned_through - OVERLAP
        oldest = now - CDC_LOOKBACK + LOOKBACK_MARGIN
        if start < oldest:
            counts.clamped += 1
            log.warning(
                "Realm %s %s: last reconciled at %s, beyond CDC's 30 days; changes before %s "
                "can only be found with `qbsync verify`",
                realm_id,
                mark.entity if mark else "",
                start.isoformat(),
                oldest.isoformat(),
            )
            start = oldest
        return start

    # --- one group of entities --------------------------------------------------------------

    def _scan(
        self,
        realm_id: str,
        entities: list[str],
        start: datetime,
        now: datetime,
        stored: dict[str, Watermark],
        counts: ReconcileCounts,
    ) -> None:
        """Read every change of `entities` in [start, now), or leave their scan where it was."""
        try:
            changes = self._cdc(realm_id, entities, start, counts)
        except QuickBooksFault as error:
            # One entity QuickBooks refuses must not stop the others: halve until it is alone.
            if len(entities) > 1:
                for half in _halves(entities):
                    self._scan(realm_id, half, start, now, stored, counts)
                return
            log.warning("Realm %s: CDC refused %s: %s", realm_id, entities[0], error)
            counts.errors.append(f"realm {realm_id} {entities[0]}: CDC refused it: {error}")
            return
        if _size(changes) >= CDC_MAX_OBJECTS and len(entities) > 1:
            counts.window_splits += 1
            for half in _halves(entities):
                self._scan(realm_id, half, start, now, stored, counts)
            return
        self._enqueue(realm_id, changes, counts)
        if _size(changes) >= CDC_MAX_OBJECTS and not self._read_full(
            realm_id, entities[0], start, now, counts
        ):
            return
        for entity in entities:
            self._save_scan(realm_id, entity, start, now, stored)

    def _read_full(
        self, realm_id: str, entity: str, start: datetime, now: datetime, counts: ReconcileCounts
    ) -> bool:
        """After a full response for `entity` since `start`: read the rest of [start, now).

        The response may hold any 1,000 of the changes (module docstring, step 2). CDC only
        takes `changedSince`, so a later one is searched (halving) whose response holds fewer
        than 1,000: complete for [since, now). What changed last in [start, since) and still
        exists is read with a query on MetaData.LastUpdatedTime; what was deleted there is
        found by asking for every record Salesforce holds: the ones QuickBooks no longer
        returns are gone. False when even one second holds 1,000 changes (the scan then
        stays where it was, with a warning).
        """
        low, high = start, now
        while high - low > MIN_WINDOW:
            middle = _whole_second(low + (high - low) / 2)
            if middle <= low:
                break
            counts.window_splits += 1
            changes = self._cdc(realm_id, [entity], middle, counts)
            self._enqueue(realm_id, changes, counts)
            if _size(changes) >= CDC_MAX_OBJECTS:
                low = middle
            else:
                high = middle
        if high == now:
            counts.truncated_windows += 1
            log.warning(
                "Realm %s %s: CDC returned %d objects changed within %s of %s; reconciling it "
                "waits for the next pass",
                realm_id,
                entity,
                CDC_MAX_OBJECTS,
                MIN_WINDOW,
                low.isoformat(),
            )
            return False
        existing = self.quickbooks.query_changed(realm_id, entity, start, high)
        counts.gap_queries += 1
        self._enqueue(realm_id, {entity: existing}, counts)
        known = self.store.versions.applied_ids(realm_id, entity)
        alive = self.quickbooks.query_by_ids(realm_id, entity, known) if known else {}
        gone = [
            {"Id": entity_id, "status": "Deleted"} for entity_id in known if entity_id not in alive
        ]
        self._enqueue(realm_id, {entity: gone}, counts)
        return True

    def _cdc(
        self, realm_id: str, entities: list[str], since: datetime, counts: ReconcileCounts
    ) -> dict[str, list[dict]]:
        changes = self.quickbooks.cdc(realm_id, entities, since)
        counts.cdc_calls += 1
        return changes

    def _enqueue(
        self, realm_id: str, changes: dict[str, list[dict]], counts: ReconcileCounts
    ) -> None:
        events: list[ChangeEvent] = []
        for entity, records in changes.items():
            events.extend(self._unapplied(realm_id, entity, records, counts))
        counts.enqueued += self.store.events.add(events)

    def _unapplied(
        self,
        realm_id: str,
        entity: str,
        records: list[dict],
        counts: ReconcileCounts,
    ) -> list[ChangeEvent]:
        counts.changes += len(records)
        applied = self.store.versions.applied_many(
            realm_id, entity, [str(r.get("Id")) for r in records]
        )
        events = []
        for record in records:
            entity_id = str(record.get("Id"))
            deleted = record.get("status") == "Deleted"
            version = record_version(record)
            known = applied.get(entity_id)
            # Two changes within one second differ only by SyncToken: compare whole versions.
            if not deleted and version and known and version <= known:
                counts.already_applied += 1
                continue
            raw = (record.get("MetaData") or {}).get("LastUpdatedTime")
            # A deletion without a time (its full shape is UNCONFIRMED, research §3) happens
            # once: the same key each time it is seen, so it is enqueued once.
            stamp = raw or ("Deleted" if deleted else "undated")
            if version is not None and version.sync_token >= 0:
                stamp = f"{stamp}:{version.sync_token}"
            events.append(
                ChangeEvent(
                    realm_id=realm_id,
                    entity=entity,
                    entity_id=entity_id,
                    operation="Delete" if deleted else "Update",
                    occurred_at=_updated(record),
                    event_key=f"cdc:{realm_id}:{entity}:{entity_id}:{stamp}",
                    source="cdc",
                    # The whole record as read: the worker applies it without reading again.
                    record=None if deleted else record,
                )
            )
        return events

    # --- watermarks -------------------------------------------------------------------------

    def _save_scan(
        self,
        realm_id: str,
        entity: str,
        start: datetime,
        scanned: datetime,
        stored: dict[str, Watermark],
    ) -> None:
        previous = stored.get(entity)
        # A first scan takes what came before its start as applied: the webhooks' job.
        applied = previous.applied_through if previous else start
        self._write(Watermark(realm_id, entity, scanned, applied), stored)

    def _advance_watermarks(
        self, realm_id: str, entities: list[str], stored: dict[str, Watermark]
    ) -> None:
        for entity in entities:
            mark = stored.get(entity)
            if mark is None:
                continue
            unsettled = self.store.events.unsettled(realm_id, entity, "cdc")
            if unsettled.count and unsettled.earliest is None:
                continue  # an undated change is not applied yet: its time is unknown
            earliest_open = unsettled.earliest
            target = (
                mark.scanned_through
                if earliest_open is None
                else min(earliest_open, mark.scanned_through)
            )
            if target > mark.applied_through:
                self._write(Watermark(realm_id, entity, mark.scanned_through, target), stored)

    def _write(self, mark: Watermark, stored: dict[str, Watermark]) -> None:
        self.store.watermarks.save(mark, self.clock())
        stored[mark.entity] = mark


def _size(changes: dict[str, list[dict]]) -> int:
    return sum(len(records) for records in changes.values())


def _halves(entities: list[str]) -> tuple[list[str], list[str]]:
    middle = len(entities) // 2
    return entities[:middle], entities[middle:]


def _whole_second(moment: datetime) -> datetime:
    # changedSince and LastUpdatedTime have whole seconds.
    return moment.replace(microsecond=0)


def _updated(record: dict) -> datetime | None:
    try:
        return parse_qb_time((record.get("MetaData") or {}).get("LastUpdatedTime"))
    except (TypeError, ValueError):
        return None


def reconcile_periodically(
    reconciler: Reconciler,
    stop_event: threading.Event,
    interval: float = DEFAULT_INTERVAL_SECONDS,
    poll: float = 5.0,
    held: Callable[[], bool] = always,
) -> None:
    """Reconcile at once, then every `interval` seconds until `stop_event` is set.

    A moved configuration signal (`ConfigSignal.changed`: a company reconnected, mappings
    saved) starts a pass within `poll` seconds, so a reconnect catches up on what Intuit could
    not deliver meanwhile, and a newly enabled object is reconciled a day back. Meant for a
    thread of the worker process: a database that is locked or unreachable is waited out (the
    pass runs at the next poll after it answers again); other errors are logged and the loop
    goes on. Passes run only while `held()` (the deployment's lease, `qbsync.periodic`); a
    worker that takes the lease over reconciles at once.
    """
    generation: int | None = None  # none read yet: the first pass starts at once
    due = time.monotonic()
    while not stop_event.is_set():
        if not held():
            generation = None
            stop_event.wait(min(poll, LEASE_POLL_SECONDS))
            continue
        try:
            current = reconciler.store.config_signal.generation()
            if current != generation or time.monotonic() >= due:
                generation, due = current, time.monotonic() + interval
                try:
                    counts = reconciler.run_once()
                except StoreUnavailable:
                    due = time.monotonic()  # the pass is still owed
                    raise
                log.info("Reconciliation pass: %s", counts.as_dict())
        except StoreUnavailable as error:
            log.warning("Reconciliation waits for the database: %s", error)
        except Exception:
            log.exception("Reconciliation pass failed")
        stop_event.wait(poll)
