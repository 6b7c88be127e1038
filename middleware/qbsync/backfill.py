"""Historical sync (issue 17): the records a company already has, read from QuickBooks a page at a
time and written to Salesforce, resumably.

The worker runs one page of a job (`Backfiller.run_page`) only when no real-time event is waiting
(`qbsync.worker.Worker.run_once` claims events first), so live changes are applied before the
backfill's next page; `run_forever` runs the page beside its write lanes
(`qbsync.write_lanes.BackfillLane`) and goes on claiming, so a change that comes while a page (a
Bulk API job) runs is applied meanwhile. The job's lease is renewed while the page runs
(`Backfiller._lease_renewed`). A page:

1. reads 1,000 records changed at or after the checkpoint, oldest change first (`ORDERBY
   MetaData.LastUpdatedTime`), through the same QuickBooks client and per-realm pacing as
   real-time reads (`qbsync.quickbooks.pacing`);
2. skips records whose version is not newer than the one applied (`qbsync.store.versions`): a
   backfill never writes an older version over a newer real-time change;
3. asks the matching rules (`qbsync.matching`, when the mapping has Match_Rules__c) which records
   link to an existing Salesforce record (its external id is set first, so the upsert updates it)
   and which are ambiguous (not written: a QB_Match_Review__c for the admin, counted, logged);
4. writes the rest with the real-time writer (`qbsync.record_writer`: sObject Collections of
   200, references and lines as in real time), or, for a job of at least
   `QBSYNC_BACKFILL_BULK_THRESHOLD` records without lines, ten pages at once with one Bulk API 2.0
   upsert job (its failed and unprocessed rows then through the writer); a record that failed for
   now (a locked row) is tried once more; the versions written are recorded as applied;
5. writes the page's counts and the next checkpoint in one transaction (`qbsync.store.backfills`),
   then the job's QB_Sync_Job__c record and one QB_Sync_Log__c per failed or ambiguous record
   (never one per success: 50,000 success logs would fill an org's data storage).

Why this order pages stably while records change: `STARTPOSITION` is an offset, so an order in
which records move while the job runs makes an offset skip or repeat records. Intuit's query
language filters and sorts on `MetaData.LastUpdatedTime` (`SELECT … [WHERE …] [ORDERBY …]
[STARTPOSITION n] [MAXRESULTS n]`, Intuit's "Data queries" page, research/quickbooks.md §4; the
metadata's LastUpdatedTime is "Filterable: ALL, Sortable: ALL" in Intuit's IntuitBaseTypes.xsd,
as the emulator's properties.py cites), and that time only grows: a record
changed during the job moves behind the checkpoint's position, never before it, and a new record
comes last. So the checkpoint is not an offset but the time of the last record read (keyset
paging: the next page asks for `LastUpdatedTime >= that time` from position 1), with the ids
already read at exactly that time left out (the time has whole seconds; many records can share
one). Only when a whole page shares one second does the offset move within that second; there,
and only there, a record of that second changed while the job runs shifts the others by one and
one of them can be missed by this job (CDC reconciliation and real-time still carry later changes).
A record changed after it was read is read again later and written again if newer: the job ends
with the newest version of every record.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from qbsync import metrics
from qbsync.describes import Describes
from qbsync.events import Version
from qbsync.failure_text import explain
from qbsync.job_record import show_jobs
from qbsync.mapping import (
    MappingError,
    ObjectMapping,
    SObjectDescribe,
    build_record,
    record_version,
)
from qbsync.match_reviews import ambiguous_message, write_reviews
from qbsync.matching import Candidates, MatchPlan, link_matches, mapped_bodies, plan_page
from qbsync.outcomes import Done, Fail, Outcome, Retry
from qbsync.quickbooks.client import QUERY_BATCH
from qbsync.quickbooks.errors import (
    QuickBooksAuthError,
    QuickBooksError,
    QuickBooksFault,
    QuickBooksThrottled,
)
from qbsync.record_writer import RecordWriter
from qbsync.salesforce.errors import SalesforceError, SalesforceTransient
from qbsync.services import Services
from qbsync.store import StoreUnavailable
from qbsync.store.backfills import QUEUED, BackfillJob, Checkpoint, Counts
from qbsync.sync_config import RealmConfig
from qbsync.sync_log import (
    BACKFILL_EVENT_PREFIX,
    FAILED,
    SKIPPED,
    SyncLogEntry,
    SyncLogWriter,
    record_name,
)
from qbsync.upsert_bodies import Write, check_json

log = logging.getLogger(__name__)

PAGE_SIZE = QUERY_BATCH
COLLECTIONS = "Collections"
BULK = "Bulk API 2.0"
# A job in Bulk mode writes this many pages (10,000 records) with one Bulk API 2.0 job: about 8
# calls whatever the count, where Collections takes 50. The chunk runs beside the write lanes
# (`qbsync.write_lanes.BackfillLane`): live changes are applied while its Bulk job runs.
BULK_PAGES = 10
OPERATION = "Backfill"  # QB_Sync_Log__c.Operation__c of a historical sync's logs
# A page that met a transient failure (QuickBooks or Salesforce unreachable, a 5xx) is read
# again after this wait; the checkpoint has not moved, so nothing is lost.
RETRY_SECONDS = 10.0


def next_checkpoint(checkpoint: Checkpoint, page: list[dict]) -> tuple[list[dict], Checkpoint]:
    """The page's records not read before, and where the page after it starts.

    Records at exactly the checkpoint's time that were read already are left out; the new
    checkpoint is the time of the page's last record with the ids read at that time. A full page
    at one time moves the offset instead (keyset paging cannot step past it).
    """
    seen = set(checkpoint.ids)
    times = [_changed_at(record) for record in page]
    new = [
        record
        for record, at in zip(page, times, strict=True)
        if not (at == checkpoint.time and str(record.get("Id")) in seen)
    ]
    if not page:
        return new, checkpoint
    last = times[-1]
    at_last = [str(r.get("Id")) for r, at in zip(page, times, strict=True) if at == last]
    if last == checkpoint.time:
        ids = tuple(dict.fromkeys([*checkpoint.ids, *at_last]))
        offset = checkpoint.offset + len(page) if len(page) >= PAGE_SIZE else checkpoint.offset
        return new, Checkpoint(last, ids, offset)
    return new, Checkpoint(last, tuple(at_last), 0)


def _changed_at(record: dict) -> datetime | None:
    try:
        version = record_version(record)
    except ValueError:
        return None
    return version.last_updated if version else None


def estimate_eta(job: BackfillJob, processed: int, now: datetime) -> datetime | None:
    """When the job should end at the rate it has had since it started."""
    if not job.total or not job.started_at or processed <= 0:
        return None
    elapsed = (now - job.started_at).total_seconds()
    remaining = max(0, job.total - processed)
    return now + timedelta(seconds=elapsed / processed * remaining)


# Jobs whose match candidates one worker holds at most (a few thousand small records each).
MAX_HELD_JOBS = 8


class Backfiller:
    """Runs historical sync jobs a page at a time; see the module docstring."""

    def __init__(
        self,
        services: Services,
        *,
        name: str,
        writer: RecordWriter,
        describe: Describes,
        sync_logs: SyncLogWriter,
        send_logs: Callable[[], None],
    ) -> None:
        self.settings = services.settings
        self.jobs = services.store.backfills
        self.versions = services.store.versions
        self.quickbooks = services.quickbooks
        self.salesforce = services.salesforce
        self.configs = services.configs
        self.clock = services.clock
        self.name = name
        self.writer = writer
        self._describe = describe
        self.sync_logs = sync_logs
        # Each job's match candidates, when few enough to hold (`qbsync.matching.Candidates`).
        self._candidates: dict[str, Candidates] = {}
        self.send_logs = send_logs  # the worker's: now, or by its sender thread

    # The page's calls are the job's own cost, metered apart from real time's (`qbsync.metrics`),
    # whether the page runs in the backfill lane's thread or in `run_once`'s.
    @metrics.counted_as(metrics.BACKFILL)
    def run_page(self) -> bool:
        """Run the next page of a job that has one; False when no job is waiting."""
        now = self.clock()
        job = self.jobs.claim(self.name, self.settings.lease_seconds, now)
        if job is None:
            return False
        try:
            self._page(job, now)
        except StoreUnavailable:
            raise  # the lease runs out; the job resumes from its checkpoint
        except QuickBooksThrottled as error:
            metrics.RATE_LIMIT_WAITS.inc()
            self._wait(job, self.settings.realm_wait_seconds, str(error), now)
        except QuickBooksAuthError as error:
            self._wait(job, self.settings.realm_wait_seconds, f"Reconnect Required: {error}", now)
        except QuickBooksFault as error:
            self._fail(job, f"QuickBooks refused the query: {error}", now)
        except (QuickBooksError, SalesforceError) as error:
            self._wait(job, RETRY_SECONDS, str(error), now)
        except Exception as error:
            # A bug: the job stops with the reason rather than failing every page again.
            log.exception("Historical sync job %s failed", job.job_key)
            self._fail(job, f"internal error: {type(error).__name__}: {error}", now)
        return True

    # --- one page -------------------------------------------------------------------------

    def _page(self, job: BackfillJob, now: datetime) -> None:
        config = self.configs.get(job.realm_id)
        mapping = config.mapping(job.qb_object)
        problem = _unusable(job, mapping)
        if problem:
            self._fail(job, problem, now)
            return
        assert mapping is not None  # _unusable said so
        if not config.connected:
            status = config.company_status or "unknown"
            self._wait(
                job,
                self.settings.realm_wait_seconds,
                f"company status is {status}; waiting for Connected",
                now,
            )
            return
        if job.state == QUEUED:
            total = self.quickbooks.count_changed_since(job.realm_id, job.qb_object, job.since)
            # Lines are written after their records, 200 a call, by the real-time writer.
            bulk = total >= self.settings.backfill_bulk_threshold and not mapping.line_mappings
            if not self.jobs.start(
                job,
                self.name,
                total=total,
                write_mode=BULK if bulk else COLLECTIONS,
                salesforce_object=mapping.salesforce_object,
                now=now,
            ):
                return
            job = self.jobs.get(job.job_key) or job
            show_jobs(self.salesforce, [job])
        pages = BULK_PAGES if job.write_mode == BULK else 1
        with self._lease_renewed(job):
            following, done = job.checkpoint, False
            new: dict[str, dict] = {}
            for _ in range(pages):
                page = self.quickbooks.changed_since_page(
                    job.realm_id, job.qb_object, following.time or job.since, following.offset
                )
                records, following = next_checkpoint(following, page)
                # A record changed while the chunk is read comes twice: its newest version counts.
                new.update((str(record.get("Id")), record) for record in records)
                if len(page) < PAGE_SIZE:
                    done = True
                    break
            counts, entries = self._write(job, config, mapping, list(new.values()), now)
        eta = None if done else estimate_eta(job, job.counts.processed + counts.processed, now)
        # The page's logs are kept in the outbox in the transaction of its counts: a worker
        # killed after it still has them sent, and a page written again keeps one row a record.
        advanced = self.jobs.advance(
            job,
            self.name,
            counts=counts,
            checkpoint=following,
            done=done,
            eta=eta,
            now=now,
            also=lambda connection: self.sync_logs.keep(connection, entries),
        )
        if advanced and entries:
            self.send_logs()
        # Cancelled meanwhile (or taken over after a lease ran out): the record shows the row.
        current = self.jobs.get(job.job_key)
        if current is not None:
            show_jobs(self.salesforce, [current])

    @contextmanager
    def _lease_renewed(self, job: BackfillJob) -> Iterator[None]:
        """Renew the job's lease (`lease_seconds` from now) every third of it while the page is
        read and written. A page takes as long as it takes (a Bulk chunk waits for its Bulk API
        job, minutes for a large one), so no fixed lease fits it; renewed, the lease outlasts a
        live worker's page and runs out one normal lease after a killed worker's last renewal,
        when another worker resumes the job. Renewing stops once the job is no longer this
        worker's (`BackfillJobs.extend` checks the holder): taken over after a lease ran out
        (the database was unreachable), or cancelled. The renewal ends before the page's counts
        are written, which give the lease back."""
        every = self.settings.lease_seconds / 3
        ended = threading.Event()

        def renew() -> None:
            while not ended.wait(every):
                until = self.clock() + timedelta(seconds=self.settings.lease_seconds)
                try:
                    if not self.jobs.extend(job, self.name, until):
                        log.info(
                            "Historical sync job %s is no longer %s's: its lease is not renewed",
                            job.job_key,
                            self.name,
                        )
                        return
                except StoreUnavailable as error:
                    log.warning("Renewing a historical sync's lease waits: %s", error)

        renewer = threading.Thread(target=renew, name="backfill-lease", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            ended.set()
            renewer.join()

    def _write(
        self,
        job: BackfillJob,
        config: RealmConfig,
        mapping: ObjectMapping,
        records: list[dict],
        now: datetime,
    ) -> tuple[Counts, list[SyncLogEntry]]:
        """Write the page's new records; their counts and the logs of those not written."""
        entries: list[SyncLogEntry] = []
        names = {str(r.get("Id")): record_name(r) for r in records}
        applied = self.versions.applied_many(job.realm_id, job.qb_object, list(names))
        fresh: dict[str, tuple[dict, Version | None]] = {}
        failed = 0
        for record in records:
            entity_id = str(record.get("Id"))
            try:
                version = record_version(record)
            except ValueError as error:
                failed += 1
                outcome = Fail(f"unreadable MetaData from QuickBooks: {error}")
                entries.append(self._log(job, mapping, entity_id, names, outcome, FAILED, now))
                continue
            known = applied.get(entity_id)
            if version is not None and known is not None and version <= known:
                continue  # this version or a newer one is in Salesforce already
            fresh[entity_id] = (record, version)
        describe = self._describe(mapping.salesforce_object)
        plan = self._plan(job, config, mapping, describe, fresh)
        for entity_id, candidates in plan.ambiguous.items():
            fresh.pop(entity_id, None)
            by = plan.matched_by.get(entity_id)
            outcome = Done(ambiguous_message(mapping.salesforce_object, candidates, by))
            entries.append(self._log(job, mapping, entity_id, names, outcome, SKIPPED, now))
        write_reviews(
            self.salesforce,
            job.realm_id,
            job.qb_object,
            mapping.salesforce_object,
            plan,
            names,
            job_key=job.job_key,
        )
        links = {i: record_id for i, record_id in plan.links.items() if i in fresh}
        linked = link_matches(self.salesforce, job.realm_id, mapping, links)
        for entity_id, outcome in linked.items():
            fresh.pop(entity_id, None)
            failed += 1
            entries.append(self._log(job, mapping, entity_id, names, outcome, FAILED, now))
        write = Write(job.realm_id, config, mapping, describe)
        if job.write_mode == BULK:
            outcomes = self._bulk_write(write, fresh)
        else:
            outcomes = self.writer.write(write, fresh, depth=0)
        # A page has no later attempt (the checkpoint moves on): a record that failed for now
        # (UNABLE_TO_LOCK_ROW while a live change or a trigger holds it or its parent, a 5xx
        # on one record) is tried once more, then counted failed with its log.
        again = {i: fresh[i] for i, outcome in outcomes.items() if isinstance(outcome, Retry)}
        if again:
            outcomes.update(self.writer.write(write, again, depth=0))
        self._write_newer_again(write, fresh, outcomes)
        created = updated = matched = 0
        for entity_id, outcome in outcomes.items():
            if isinstance(outcome, Done):
                if entity_id in plan.links:
                    matched += 1
                elif outcome.message.startswith("created"):
                    created += 1
                else:
                    updated += 1
                continue
            failed += 1
            entries.append(self._log(job, mapping, entity_id, names, outcome, FAILED, now))
        counts = Counts(
            processed=len(records),
            created=created,
            updated=updated,
            matched=matched,
            ambiguous=len(plan.ambiguous),
            failed=failed,
        )
        return counts, entries

    def _write_newer_again(
        self,
        write: Write,
        written: dict[str, tuple[dict, Version | None]],
        outcomes: dict[str, Outcome],
    ) -> None:
        """Another worker may have applied a newer real-time change to one of these records
        between this page's version check and its write, which then put the older version over
        it in Salesforce. The applied versions tell (they never go back): those records are
        read again from QuickBooks and their current version written."""
        done = [i for i, outcome in outcomes.items() if isinstance(outcome, Done)]
        if not done:
            return
        mapping = write.mapping
        applied = self.versions.applied_many(write.realm_id, mapping.qb_object, done)
        overtaken = [
            i
            for i in done
            if (ours := written[i][1]) is not None
            and (newest := applied.get(i)) is not None
            and newest > ours
        ]
        if not overtaken:
            return
        log.info("%d records changed while a page was written; writing them again", len(overtaken))
        found = self.quickbooks.query_by_ids(write.realm_id, mapping.qb_object, overtaken)
        again = {i: (record, _version_or_none(record)) for i, record in found.items()}
        self.writer.write(write, again, depth=0)

    def _bulk_write(
        self, write: Write, records: dict[str, tuple[dict, Version | None]]
    ) -> dict[str, Outcome]:
        """Upsert `records` with one Bulk API 2.0 job; the rows it failed or left unprocessed
        go through the real-time writer (sObject Collections), which syncs a missing referenced
        record first and gives each failure Salesforce's own error for its log. The versions
        written are recorded as applied."""
        mapping, outcomes = write.mapping, {}
        parents = write.config.parent_targets()
        bodies: dict[str, str] = {}  # external id -> QuickBooks id
        fields: list[dict] = []
        for entity_id, (record, _) in records.items():
            try:
                mapped = build_record(record, mapping, write.describe, write.realm_id, parents)
                check_json(mapped)
            except MappingError as error:
                outcomes[entity_id] = Fail(str(error), cause=error)
                continue
            bodies[mapped.external_id] = entity_id
            fields.append(mapped.fields)
        try:
            result = self.salesforce.bulk_upsert(
                mapping.salesforce_object, mapping.external_id_field, fields
            )
        except SalesforceTransient:
            raise  # the chunk is read and written again after a wait
        except SalesforceError as error:
            log.warning("Bulk API job failed, writing with Collections instead: %s", error)
            again = {i: records[i] for i in bodies.values()}
            return {**outcomes, **self.writer.write(write, again, depth=0)}
        applied: dict[str, Version] = {}
        for key, (salesforce_id, created) in result.successful.items():
            entity_id = bodies.get(key)
            if entity_id is None:
                continue
            outcomes[entity_id] = Done("created" if created else "updated", salesforce_id)
            version = records[entity_id][1]
            if version is not None:
                applied[entity_id] = version
        self.versions.record_many(write.realm_id, mapping.qb_object, applied)
        again = {i: records[i] for i in bodies.values() if i not in outcomes}
        if again:
            outcomes.update(self.writer.write(write, again, depth=0))
        return outcomes

    def _plan(
        self,
        job: BackfillJob,
        config: RealmConfig,
        mapping: ObjectMapping,
        describe: SObjectDescribe,
        fresh: dict[str, tuple[dict, Version | None]],
    ) -> MatchPlan:
        """The matching hook (`qbsync.matching`): which records link to an existing Salesforce
        record, which are ambiguous. A mapping without Match_Rules__c matches nothing (and costs
        no call): every record is created or updated by its external id."""
        if not mapping.match_rules:
            return MatchPlan()
        records = {entity_id: record for entity_id, (record, _) in fresh.items()}
        bodies = mapped_bodies(records, mapping, describe, job.realm_id, config.parent_targets())
        if job.job_key not in self._candidates and len(self._candidates) >= MAX_HELD_JOBS:
            self._candidates.clear()  # finished jobs' sets; a running one reads its own again
        held = self._candidates.setdefault(job.job_key, Candidates())
        return plan_page(self.salesforce, mapping, bodies, held)

    def _log(
        self,
        job: BackfillJob,
        mapping: ObjectMapping,
        entity_id: str,
        names: dict[str, str | None],
        outcome: Outcome,
        status: str,
        now: datetime,
    ) -> SyncLogEntry:
        name = names.get(entity_id)
        text = explain(outcome.log_message, outcome.cause, job.qb_object, entity_id, name, mapping)
        return SyncLogEntry(
            # One row per job and record: a page written again after a kill keeps one row.
            event_key=f"{BACKFILL_EVENT_PREFIX}{job.job_key}:{entity_id}",
            realm_id=job.realm_id,
            qb_object=job.qb_object,
            qb_record_id=entity_id,
            operation=OPERATION,
            status=status,
            message=text.message,
            detail=text.detail,
            reason=text.reason,
            attempts=1,
            event_time=None,
            synced_at=now,
            salesforce_object=mapping.salesforce_object,
            salesforce_record_id=outcome.salesforce_id,
            record_name=name,
        )

    # --- ends and waits ---------------------------------------------------------------------

    def _fail(self, job: BackfillJob, message: str, now: datetime) -> None:
        log.warning("Historical sync job %s failed: %s", job.job_key, message)
        if self.jobs.fail(job, self.name, message, now):
            show_jobs(self.salesforce, [self.jobs.get(job.job_key) or job])

    def _wait(self, job: BackfillJob, seconds: float, message: str, now: datetime) -> None:
        log.info("Historical sync job %s waits %.0f s: %s", job.job_key, seconds, message)
        self.jobs.wait(job, self.name, now + timedelta(seconds=seconds), message, now)


def _version_or_none(record: dict) -> Version | None:
    try:
        return record_version(record)
    except ValueError:
        return None


def _unusable(job: BackfillJob, mapping: ObjectMapping | None) -> str | None:
    """Why the job's mapping cannot be used (it changed since the job was queued), or None."""
    if mapping is None:
        return f"QuickBooks {job.qb_object} has no object mapping any more"
    if mapping.problems:
        return "mapping cannot be used: " + "; ".join(mapping.problems)
    if not mapping.field_mappings:
        return f"QuickBooks {job.qb_object} has no field mappings"
    return None
