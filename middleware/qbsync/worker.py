"""The sync worker: claimed ledger events → QuickBooks' current state → Salesforce upserts.

One `run_once` handles one claimed batch (one realm + entity, oldest first):

1. the realm's configuration (cached, `qbsync.sync_config`): events of objects that are not
   mapped, have no field mappings or are not real-time enabled end *skipped* with the reason;
   a company that is not Connected makes the events wait. Once the configuration is cached,
   the claim itself settles such events as skipped (`_skip_rules`), without leasing them;
2. ONE QuickBooks query for the distinct ids (reads are metered, research quickbooks.md §4),
   except records CDC returned whole that hold every mapped property (their events carry them);
   an id QuickBooks no longer returns was deleted since and is handled as a delete;
3. records whose `MetaData.LastUpdatedTime` is not newer than the last applied one are done
   ("already applied"): duplicates and out-of-order events converge, because what is written is
   always QuickBooks' current state;
4. writing (`qbsync.record_writer`): a record written for the first time (no applied version)
   is first matched by the mapping's Match_Rules__c, as a historical sync matches
   (`qbsync.matching`, one Composite query for the batch): one match is linked, an ambiguous one
   is skipped and listed for the admin's review; then mapping (`qbsync.mapping`) and sObject
   Collections upserts, ≤200 records a call; a mapping with line mappings (transactions, issue
   10) upserts the records first, then their lines, and deletes the lines QuickBooks no longer has
   (`qbsync.line_writer`, one SOQL per 200 updated records); a reference Salesforce cannot
   resolve yet makes the writer sync the referenced records first and try again in the same
   batch (`qbsync.references`); a Payment's invoices are read and written again, since it
   changed their Balance, and the records referring to a merged-away one are written again
   (`qbsync.follow_ups`); a Void sets `Voided__c` where the target object has it; deletes
   follow the mapping's Delete_Behavior__c (`qbsync.record_deletes`);
5. each event's outcome in the ledger, with one QB_Sync_Log__c row per event in the same
   transaction (`qbsync.store.sync_log_outbox`), except skipped events (`skipped_rows`: one row
   per company and object); `run_forever`'s sender thread writes the rows to Salesforce after
   that (batched), so the next batch does not wait for them.

Outcomes are types (`qbsync.outcomes`, huey's RetryTask habit): what decides a whole batch's
outcome raises it (`Skip`, `Fail`, `WaitForRealm`, `Retry`), each record's is settled as a value,
and one table records them all. Transient failures retry with exponential backoff and full
jitter, permanent ones fail with Salesforce's message, and an event that keeps failing is dead
after `settings.max_attempts`. Tests drive `run_once` directly with a fixed clock; nothing here
sleeps except `run_forever` while idle.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from qbsync import logs, metrics
from qbsync.backfill import Backfiller
from qbsync.batch import Batch
from qbsync.company_record import show_on_company
from qbsync.describes import Describes
from qbsync.events import Version
from qbsync.failure_text import explain
from qbsync.follow_ups import PAYS_LINKED, FollowUps
from qbsync.mapping import ObjectMapping, record_version
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
from qbsync.record_deletes import apply_deletes
from qbsync.record_writer import RecordWriter
from qbsync.remotes import QuickBooks, Salesforce
from qbsync.salesforce.errors import SalesforceError
from qbsync.services import Services
from qbsync.store import StoreUnavailable
from qbsync.store.ledger import SkipRules, StoredEvent
from qbsync.store.wakeups import Listener
from qbsync.sync_config import RealmConfig
from qbsync.sync_log import SKIPPED, SUCCESS, SyncLogEntry, SyncLogWriter, record_name
from qbsync.upsert_bodies import Write
from qbsync.write_lanes import BackfillLane, WriteLanes

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 2.0
BACKOFF_CAP_SECONDS = 600.0
# A quiet realm's changes, waiting or being written, which the spare write lanes take when
# every other lane is busy (`Worker._hand_over_quiet`): a few, one read and one write, so a spare
# frees soon.
QUIET_BACKLOG = 20
# How long the loop waits when the database is locked or unreachable before it tries again.
STORE_WAIT_SECONDS = 5.0
LAST_EVENT_INTERVAL = timedelta(
    minutes=1
)  # how often the connection card's "Last event" is refreshed

# A record's outcomes from least to most severe: an event touching two records (a merge) takes
# the worse of their outcomes. A record is skipped when its match is ambiguous (not written).
_SEVERITY: dict[type[Outcome], int] = {Done: 0, Skip: 1, Retry: 2, Fail: 3}


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
        self.sync_logs = SyncLogWriter(
            self.salesforce,
            services.store.sync_log_outbox,
            self.name,
            self.settings.lease_seconds,
        )
        # Set when `run_forever` runs: the sender thread sends the sync logs and the "Last event"
        # updates after each batch; otherwise (`run_once` alone) they are sent inline.
        self._sender: threading.Event | None = None
        self._last_events_due: dict[str, datetime] = {}
        self._due_lock = threading.Lock()
        self._describe = Describes(self.salesforce, self.signal)
        self.follow_ups = FollowUps(self.salesforce, self._describe)
        self.writer = RecordWriter(
            self.salesforce, self.quickbooks, self.versions, self._describe, self.follow_ups
        )
        # Historical sync jobs: a page when no event is waiting (live changes first).
        self.backfills = Backfiller(
            services,
            name=self.name,
            writer=self.writer,
            describe=self._describe,
            sync_logs=self.sync_logs,
            send_logs=self._send_logs_soon,
        )
        # Realms QuickBooks asked us to leave alone (429, lost authorization): until when, why,
        # and the configuration generation then — a reconnect moves it and ends the wait.
        self._realm_waits: dict[str, tuple[datetime, str, int]] = {}
        self._last_event_shown: dict[str, datetime] = {}
        self._listener: Listener | None = None  # while `run_forever` runs
        # Ends an idle wait without a listener (in-memory SQLite): the worker stops, or a
        # historical sync page ended and the next may start.
        self._nudged = threading.Event()
        # Events the claims settled as skipped (`_skip_rules`), a running count.
        self._skipped_at_claim = 0

    # --- driving ----------------------------------------------------------------------------

    def run_once(self) -> int:
        """Claim one batch and process it to its outcomes; returns the number of events (1 for
        a historical sync's page, run when no event waits, 0 when there was nothing to do)."""
        skipped = self._skipped_at_claim
        batch = self._claim_and_read()
        if batch is None:
            if self._skipped_at_claim != skipped:
                return self._skipped_at_claim - skipped
            # Live changes first: a historical sync's next page only when no event waits.
            if self.backfills.run_page():
                return 1
            if self._sender is None:
                self.sync_logs.send()
            return 0
        self._write_and_settle(batch)
        return len(batch.events)

    def _claim(self, limit: int | None = None) -> Batch | None:
        """Claim a batch of up to `limit` events, the batch size by default (None: nothing to
        claim)."""
        now = self.clock()
        skipped: list[StoredEvent] = []
        events = self.ledger.claim(
            self.name,
            limit or self.settings.worker_batch_size,
            self.settings.lease_seconds,
            now=now,
            skips=self._skip_rules(now, skipped),
        )
        if skipped:
            self._skipped_at_claim += len(skipped)
            metrics.EVENTS_SETTLED.labels(SKIPPED).inc(len(skipped))
            # The sender is not woken: the company's skipped row goes at its next pass (after
            # a batch, or the poll), so a stream of skips is one Salesforce call a poll, not
            # one a webhook, the later skips replacing the waiting row (`SyncLogOutbox.keep`).
            if self._sender is None:
                self.sync_logs.send()
        return Batch(events=events, now=now) if events else None

    def _skip_rules(self, now: datetime, skipped: list[StoredEvent]) -> SkipRules | None:
        """What the claim may settle as skipped at once: the events of objects that the cached
        configurations (those `configs.get` would return without a query) say are not synced,
        with their sync-log rows as a batch's skip would write them. `skipped` collects them.
        None when nothing is cached: the first batch of a realm reads its configuration."""
        generation, configs = self.configs.fresh()
        if not configs:
            return None

        def keep(connection: Connection, events: list[StoredEvent], reason: str) -> None:
            skip = Skip(reason)
            batch = Batch(events=events, now=now, outcome=skip)
            batch.config = configs[batch.realm_id]
            batch.mapping = batch.config.mapping(batch.entity)
            rows = skipped_rows(events, lambda event: self._log_entry(batch, event, skip, now))
            self.sync_logs.keep(connection, rows)
            skipped.extend(events)

        reasons = {realm_id: config.skip_reason for realm_id, config in configs.items()}
        return SkipRules(generation=generation, reasons=reasons, keep=keep)

    def _claim_and_read(self) -> Batch | None:
        """Claim a batch and read its records from QuickBooks (None: nothing to claim). A
        failure of the read becomes the batch's outcome."""
        batch = self._claim()
        if batch is not None:
            self._step(batch, self._read)
        return batch

    def _read_write_settle(self, batch: Batch) -> None:
        """A claimed batch to its outcomes: what a write lane runs (`qbsync.write_lanes`)."""
        self._step(batch, self._read)
        self._write_and_settle(batch)

    def _write_and_settle(self, batch: Batch) -> None:
        """Write the read batch to Salesforce, record its outcomes, and have the sync logs
        sent."""
        if batch.outcome is None:
            self._step(batch, self._write)
        logs.bind_events([event.event_key for event in batch.events])
        try:
            entries = self._settle(batch)
        finally:
            logs.unbind_events()
        metrics.observe_settled(batch.events, entries, SUCCESS)
        if any(entry.status == SUCCESS for entry in entries):
            with self._due_lock:
                self._last_events_due[batch.realm_id] = batch.now
        if self._sender is None:
            self._send_after_settling()
        else:
            self._sender.set()

    @staticmethod
    def _step(batch: Batch, step: Callable[[Batch], None]) -> None:
        logs.bind_events([event.event_key for event in batch.events])
        try:
            step(batch)
        except Outcome as outcome:
            batch.outcome = outcome
        except StoreUnavailable:
            # Nothing can be recorded now: the events stay claimed and come back when their
            # lease ends (what reached Salesforce is upserted again, by external id: harmless).
            raise
        except Exception as error:
            # A bug or an unforeseen failure: the events retry (and end dead if it persists)
            # instead of sitting claimed until the lease runs out.
            log.exception("Batch of %d %s events failed", len(batch.events), batch.entity)
            batch.outcome = Retry(f"internal error: {type(error).__name__}: {error}")
        finally:
            logs.unbind_events()

    def _send_logs_soon(self) -> None:
        """Send the waiting sync-log rows: by the sender thread when `run_forever` runs."""
        if self._sender is None:
            self.sync_logs.send()
        else:
            self._sender.set()

    def _send_after_settling(self) -> None:
        """What follows the outcomes and need not delay the next batch: the sync-log rows (held
        in the database until Salesforce took them) and the cards' "Last event"."""
        with self._due_lock:
            due, self._last_events_due = self._last_events_due, {}
        for realm_id, now in due.items():
            self._note_last_event(realm_id, now)
        self.sync_logs.send()

    def run_forever(self, stop: threading.Event) -> None:
        """Process batches until `stop` is set: this thread claims a batch and hands it to a
        lane (`qbsync.write_lanes`), which reads it from QuickBooks, writes it to Salesforce and
        records its outcomes, while this thread claims the next for another lane. When a claim
        finds nothing, a historical sync's next page starts in the backfill lane beside them,
        and this thread keeps claiming while it runs. When idle, sleep until a stored event
        wakes the worker (`qbsync.store.wakeups`), a page ends, or `worker_poll_seconds` at
        most: the poll finds retries that came due and covers a lost wake-up."""
        log.info("Worker %s started", self.name)
        self._listener = None
        threading.Thread(target=self._interrupt_on, args=(stop,), name="stop", daemon=True).start()
        self._sender = threading.Event()
        sender = threading.Thread(target=self._send_forever, args=(stop,), name="sync-logs")
        sender.start()
        lanes = WriteLanes(self.settings.worker_write_lanes, self._read_write_settle, self._nudge)
        backfill = BackfillLane(self.backfills.run_page, self._nudge)
        try:
            while not stop.is_set():
                if self._listener is None or self._listener.broken:
                    self._listen()
                lanes.wait_for_room(or_spare=True)
                try:
                    if lanes.wait_for_room(timeout=0):
                        processed = self._claim_and_hand_over(lanes, backfill)
                    else:  # every lane is busy; the spare waits for a quiet realm's change
                        processed = self._hand_over_quiet(lanes)
                except StoreUnavailable as error:
                    log.warning("Worker waits for the database: %s", error)
                    stop.wait(STORE_WAIT_SECONDS)
                    continue
                except Exception:
                    log.exception("Worker loop error; pausing before the next poll")
                    processed = 0
                if not processed:
                    self._idle(stop)
        finally:
            backfill.close()
            lanes.close()
            if self._listener is not None:
                self._listener.close()
            self._sender.set()
            sender.join()
            self._sender = None
            # The lanes' last outcomes may have come after the sender's last pass.
            self._send_leftovers()
        log.info("Worker %s stopped", self.name)

    def _send_leftovers(self) -> None:
        try:
            self._send_after_settling()
        except Exception as error:  # noqa: BLE001 - kept in the database for the next start
            log.warning("Sync logs left for the next start: %s", error)

    def _claim_and_hand_over(self, lanes: WriteLanes, backfill: BackfillLane) -> int:
        """Hand a claimed batch to a lane (its event count), or start a historical sync's page
        beside the lanes and return 0: the loop idles until the page ends or an event comes."""
        skipped = self._skipped_at_claim
        batch = self._claim()
        if batch is not None:
            lanes.submit(batch)
            return len(batch.events)
        if self._skipped_at_claim != skipped:
            return self._skipped_at_claim - skipped  # claim again: more may wait
        # Live changes first: a historical sync's next page only when no event waits.
        backfill.start_page()
        return 0

    def _hand_over_quiet(self, lanes: WriteLanes) -> int:
        """Every lane is busy: hand a quiet realm's waiting changes to a spare lane (their
        event count), or return 0 and let the loop idle until a change is stored or a lane
        frees (the lanes nudge it).

        Quiet: at most `QUIET_BACKLOG` events of the realm waiting or claimed, by any worker
        (`EventLedger.claim_quiet`), so a busy realm's events are never taken here. A lane may
        still hold one of the batch's records (its previous change, settled a moment ago, or
        being written in the other spare): the batch then goes to that lane, behind it, as
        `submit` does."""
        now = self.clock()
        events = self.ledger.claim_quiet(
            self.name, QUIET_BACKLOG, self.settings.lease_seconds, now=now
        )
        if not events:
            return 0
        batch = Batch(events=events, now=now)
        if not lanes.submit_spare(batch):
            lanes.submit(batch)
        return len(events)

    def _send_forever(self, stop: threading.Event) -> None:
        """The sender thread: sends after each batch, and tries again what Salesforce could not
        take at the next batch or poll. Rows a crash left behind go out at the start."""
        sender = self._sender
        while True:
            sender.clear()
            try:
                self._send_after_settling()
            except StoreUnavailable as error:
                log.warning("Sync logs wait for the database: %s", error)
            except Exception:
                log.exception("Sending sync logs failed; trying again later")
            if stop.is_set():
                return
            sender.wait(self.settings.worker_poll_seconds)

    def _listen(self) -> None:
        if self._listener is not None:
            self._listener.close()
        self._listener = self.ledger.wakeups.listen()

    def _idle(self, stop: threading.Event) -> None:
        listener = self._listener
        if listener is None or listener.broken:
            if self._nudged.wait(self.settings.worker_poll_seconds):
                self._nudged.clear()
        else:
            listener.wait(self.settings.worker_poll_seconds)

    def _nudge(self) -> None:
        """End the idle wait now (a listener keeps the interrupt until its next wait)."""
        self._nudged.set()
        listener = self._listener
        if listener is not None:
            listener.interrupt()

    def _interrupt_on(self, stop: threading.Event) -> None:
        """Ends the idle wait when `stop` is set (a signal), instead of at the next poll."""
        stop.wait()
        self._nudge()

    # --- one batch --------------------------------------------------------------------------

    def _read(self, batch: Batch) -> None:
        """Check the batch can be worked and read its records, or raise the outcome of the
        whole batch."""
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
        reason = config.skip_reason(entity)
        if reason is not None:
            raise Skip(reason)
        if mapping.problems:
            raise Fail("mapping cannot be used: " + "; ".join(mapping.problems))
        if not config.connected:
            raise WaitForRealm(
                batch.now + timedelta(seconds=self.settings.realm_wait_seconds),
                f"company status is {config.company_status or 'unknown'}; waiting for Connected",
            )
        self._read_records(batch, mapping)

    def _read_records(self, batch: Batch, mapping: ObjectMapping) -> None:
        """The batch's records as QuickBooks has them now (`batch.found`), and those it no
        longer has (`batch.deleted`): one query for the batch."""
        deleted = batch.deleted
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
                    batch.settle(entity_id, Retry(str(error), cause=error))
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

        batch.found = found

    def _write(self, batch: Batch) -> None:
        """Write what `_read` found to Salesforce; each record's outcome on the batch."""
        mapping, config, found, deleted = batch.mapping, batch.config, batch.found, batch.deleted
        batch.names.update(
            (entity_id, name)
            for entity_id, record in found.items()
            if (name := record_name(record))
        )
        upserts, first_time = self._fresh_records(batch, found)
        if not upserts and not batch.unsettled(deleted):
            return
        try:
            describe = self._describe(mapping.salesforce_object)
        except SalesforceError as error:
            for entity_id in batch.unsettled([*upserts, *deleted]):
                batch.settle(entity_id, from_salesforce(error, "describe failed: "))
            return
        voided = frozenset(e.entity_id for e in batch.events if e.operation == "Void")
        write = Write(batch.realm_id, config, mapping, describe, voided)
        records = {entity_id: record for entity_id, (record, _) in upserts.items()}
        matched = self.writer.match_first_writes(write, records, first_time)
        for entity_id, outcome in matched.settled.items():
            batch.settle(entity_id, outcome)
            upserts.pop(entity_id)
        linked = matched.linked
        written = self.writer.write(write, upserts, depth=0)
        for entity_id, outcome in written.items():
            if isinstance(outcome, Done) and entity_id in linked:
                outcome = Done(
                    f"linked to an existing {mapping.salesforce_object} matched by "
                    f"{linked[entity_id]}; {outcome.message}",
                    outcome.salesforce_id,
                )
            batch.settle(entity_id, outcome)
        self._follow_merges(batch, mapping, config)
        gone = batch.unsettled(sorted(deleted))
        linked: dict[str, set[str]] = {}
        if mapping.qb_object in PAYS_LINKED and gone:
            # Read before the delete takes the payment's lines along.
            linked = self.follow_ups.linked_in_salesforce(batch.realm_id, config, mapping, gone)
        apply_deletes(self.salesforce, batch, mapping, describe, gone)
        self.writer.sync_related(batch.realm_id, config, linked, depth=1)

    @staticmethod
    def _records_given(batch: Batch, mapping: ObjectMapping, ids: list[str]) -> dict[str, dict]:
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
        self, batch: Batch, found: dict[str, dict]
    ) -> tuple[dict[str, tuple[dict, Version | None]], set[str]]:
        """Found records newer than what was applied, and those of them without an applied
        version (written for the first time, as far as the store knows); the others are done
        already.

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
        return fresh, {i for i in fresh if i not in applied_versions}

    def _follow_merges(self, batch: Batch, mapping: ObjectMapping, config: RealmConfig) -> None:
        """Write again the records that referred to a record merged away (`qbsync.follow_ups`),
        read from QuickBooks (one query per entity); only for real-time mappings."""
        merged = sorted(
            {e.deleted_id for e in batch.events if e.operation == "Merge" and e.deleted_id}
        )
        if not merged:
            return
        wanted = self.follow_ups.referring_to_merged(batch.realm_id, merged, mapping, config)
        self.writer.sync_related(batch.realm_id, config, wanted, depth=1)

    # --- realm-wide waits -------------------------------------------------------------------

    def _realm_wait(self, batch: Batch, seconds: float, reason: str) -> WaitForRealm:
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

    def _event_outcome(self, batch: Batch, event: StoredEvent) -> Outcome:
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

    def _settle(self, batch: Batch) -> list[SyncLogEntry]:
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
        # The outcomes and their sync-log rows in one transaction: no outcome without its row.
        with self.ledger.settling() as connection:
            for (kind, message, attempt), (outcome, ids) in groups.items():
                rule = SETTLEMENTS[kind]
                at = outcome.until
                if rule.backs_off:
                    at = now + timedelta(seconds=backoff_seconds(attempt, self._rng))
                rule.write(self.ledger, ids, message, at)
            logged = entries
            if isinstance(batch.outcome, Skip) and not batch.records:
                by_id = {e.id: entry for e, entry in zip(batch.events, entries, strict=True)}
                logged = skipped_rows(batch.events, lambda event: by_id[event.id])
            self.sync_logs.keep(connection, logged)
        return entries

    @staticmethod
    def _log_entry(
        batch: Batch, event: StoredEvent, outcome: Outcome, now: datetime
    ) -> SyncLogEntry:
        rule = SETTLEMENTS[type(outcome)]
        name = batch.names.get(event.entity_id)
        text = explain(
            outcome.log_message, outcome.cause, event.entity, event.entity_id, name, batch.mapping
        )
        return SyncLogEntry(
            event_key=event.event_key,
            realm_id=event.realm_id,
            qb_object=event.entity,
            qb_record_id=event.entity_id,
            operation=event.operation,
            status=rule.sync_log_status,
            message=text.message,
            detail=text.detail,
            reason=text.reason,
            attempts=event.attempts if rule.counts_attempt else max(0, event.attempts - 1),
            event_time=event.occurred_at,
            synced_at=now,
            salesforce_object=batch.mapping.salesforce_object if batch.mapping else None,
            salesforce_record_id=outcome.salesforce_id,
            record_name=name,
            company_known=batch.config is not None and bool(batch.config.company_status),
        )


def skipped_rows(
    events: list[StoredEvent], entry_of: Callable[[StoredEvent], SyncLogEntry]
) -> list[SyncLogEntry]:
    """The sync-log rows of one realm's and object's skipped `events` (`entry_of` gives an
    event's own entry; asked only for those that need one): one row for the company and object,
    `skipped:<realm>:<object>`, which each skip overwrites with the latest event and how many
    went with it.

    Why not a row per event: a skip is a setting, not a record's fate. A company that never
    mapped Vendor would get a row for every Vendor change, thousands a day, each a Salesforce
    API call's share and 2 KB of data storage, burying the rows that need the admin; one row
    per object says the same (the reason, the latest record, when) and stays current. Each
    event's own outcome and reason stay in the middleware's ledger (`qbsync events`).

    An event with an earlier row of its own (a retry, a wait for the realm, a replay: it has an
    error, or this claim was not its first attempt) still gets its row overwritten as
    Skipped, so no row says "will retry" about an event that will not be tried."""
    earlier = [event for event in events if event.attempts > 1 or event.last_error is not None]
    first = [event for event in events if event.attempts <= 1 and event.last_error is None]
    rows = [entry_of(event) for event in earlier]
    if not first:
        return rows
    latest = max(first, key=lambda event: event.id)
    entry = entry_of(latest)
    detail = (
        f"{len(first)} {latest.entity} event(s) skipped together, the latest a "
        f"{latest.operation} of record {latest.entity_id}. This is the company's one sync log "
        f"for skipped {latest.entity} changes, updated at each skip."
    )
    summary = replace(
        entry,
        event_key=f"skipped:{latest.realm_id}:{latest.entity}",
        detail="\n".join(part for part in (entry.detail, detail) if part),
    )
    return [*rows, summary]
