"""Records of one mapping written to Salesforce: mapped, upserted by external id (≤200 a call),
their lines after them (`qbsync.line_writer`), and their versions recorded as applied.

A reference Salesforce cannot resolve yet makes the writer sync the referenced records first
and send the body again (`qbsync.references`); a Payment's invoices are read and written again,
since it changed their Balance (`qbsync.follow_ups`); a Void sets `Voided__c` where the target
object has it.

Records written for the first time (no applied version) are matched by the mapping's
Match_Rules__c before they are created (`match_first_writes`): by the worker for a batch's own
records, and here for the referenced records synced first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from qbsync.describes import Describes
from qbsync.events import Version
from qbsync.follow_ups import PAYS_LINKED, FollowUps
from qbsync.line_writer import LineWriter
from qbsync.mapping import MappedRecord, MappingError, build_record, record_version
from qbsync.match_reviews import ambiguous_message, write_reviews
from qbsync.matching import link_matches, mapped_bodies, plan_creates
from qbsync.outcomes import Done, Fail, Outcome, Retry, Skip, from_salesforce
from qbsync.quickbooks.errors import QuickBooksError
from qbsync.references import linked_transactions, merge_into, missing_references
from qbsync.remotes import QuickBooks, Salesforce
from qbsync.salesforce.chunks import UPSERTS_IN_FLIGHT, call_in_chunks
from qbsync.salesforce.client import RecordResult
from qbsync.salesforce.errors import SalesforceError
from qbsync.store.versions import AppliedVersions
from qbsync.sync_config import RealmConfig
from qbsync.sync_log import record_name
from qbsync.upsert_bodies import Upsert, Write, check_json, mark_voided

log = logging.getLogger(__name__)

# How many rounds of "sync the referenced records first" one write may start: a payment line's
# invoice refers to a customer, whose parent customer may not be there yet either.
MAX_REFERENCE_DEPTH = 3


def _failed(result: RecordResult | SalesforceError) -> bool:
    return isinstance(result, SalesforceError) or not result.success


def _failed_write(result: RecordResult | SalesforceError, realm_id: str) -> Outcome:
    """A failed upsert's outcome: a reference still missing after the referenced records were
    synced is retried, never a permanent failure for ordering."""
    if missing_references(result, realm_id):
        return Retry(
            f"a referenced record is not in Salesforce yet: {result.message}", cause=result
        )
    return from_salesforce(result)


def _version_or_none(record: dict) -> Version | None:
    try:
        return record_version(record)
    except ValueError:
        return None


@dataclass
class FirstWrites:
    """What matching decided for records written for the first time: the outcomes of those not
    to be written (ambiguous, a refused link, a failed lookup), and the linked ones' QuickBooks
    ids with the rules that matched them (written as usual: the upsert updates them)."""

    settled: dict[str, Outcome] = field(default_factory=dict)
    linked: dict[str, str] = field(default_factory=dict)


class RecordWriter:
    """Writes QuickBooks records with their mappings; see the module docstring."""

    def __init__(
        self,
        salesforce: Salesforce,
        quickbooks: QuickBooks,
        versions: AppliedVersions,
        describe: Describes,
        follow_ups: FollowUps,
    ) -> None:
        self.salesforce = salesforce
        self.quickbooks = quickbooks
        self.versions = versions
        self._describe = describe
        self.follow_ups = follow_ups
        self.lines = LineWriter(salesforce, describe, self.upsert)

    def match_first_writes(
        self, write: Write, records: dict[str, dict], first_time: Iterable[str]
    ) -> FirstWrites:
        """Match the records of `first_time` (QuickBooks ids of `records`) before they are
        created, as a historical sync does (`qbsync.matching`), when the mapping has
        Match_Rules__c: one Composite query for them all (none without rules or first writes).
        A single match gets the record's external id, so the upsert updates it; an ambiguous
        record is not written (Skip, and an Open QB_Match_Review__c for the admin, who links,
        creates or skips it in QB Setup); a link Salesforce refused, or a failed lookup, is
        settled as Salesforce's error says: never created unmatched, which could make the very
        duplicate the rules prevent."""
        mapping, result = write.mapping, FirstWrites()
        if not mapping.match_rules:
            return result
        wanted = {i: records[i] for i in sorted(first_time)}
        if not wanted:
            return result
        bodies = mapped_bodies(
            wanted, mapping, write.describe, write.realm_id, write.config.parent_targets()
        )
        try:
            plan = plan_creates(self.salesforce, mapping, bodies)
        except SalesforceError as error:
            result.settled = {i: from_salesforce(error, "matching failed: ") for i in bodies}
            return result
        for entity_id, candidates in plan.ambiguous.items():
            by = plan.matched_by.get(entity_id)
            result.settled[entity_id] = Skip(
                ambiguous_message(mapping.salesforce_object, candidates, by)
            )
        write_reviews(
            self.salesforce,
            write.realm_id,
            mapping.qb_object,
            mapping.salesforce_object,
            plan,
            {i: record_name(wanted[i]) for i in plan.ambiguous},
            job_key=None,
        )
        result.settled.update(link_matches(self.salesforce, write.realm_id, mapping, plan.links))
        result.linked = {
            i: plan.matched_by.get(i) or "the match rules"
            for i in plan.links
            if i not in result.settled
        }
        return result

    def write(
        self, write: Write, records: dict[str, tuple[dict, Version | None]], depth: int
    ) -> dict[str, Outcome]:
        """Upsert `records` (QuickBooks id → record, version), then their lines; the outcome
        of each, and the versions of those fully written recorded as applied."""
        mapping, outcomes = write.mapping, {}
        bodies: list[Upsert] = []
        parents = write.config.parent_targets()
        for entity_id, (record, version) in records.items():
            try:
                mapped: MappedRecord = build_record(
                    record, mapping, write.describe, write.realm_id, parents
                )
                if entity_id in write.voided:
                    mark_voided(mapped, write.describe)
                check_json(mapped)
            except MappingError as error:
                outcomes[entity_id] = Fail(str(error), cause=error)
                continue
            except Exception as error:
                # A bug met by one record: it retries (and ends dead), the others go on.
                log.exception("Mapping %s %s failed", mapping.qb_object, entity_id)
                outcomes[entity_id] = Retry(f"internal error: {type(error).__name__}: {error}")
                continue
            bodies.append(Upsert(entity_id, mapped, version))
        written: dict[str, tuple[str | Outcome, RecordResult]] = {}
        for body, result in self.upsert(
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
                linked,
                self.follow_ups.linked_in_salesforce(
                    write.realm_id, write.config, mapping, updated
                ),
            )
            self.sync_related(write.realm_id, write.config, linked, depth + 1)
        if mapping.line_mappings and written:
            created = {i for i, (_, result) in written.items() if result.created}
            self.lines.write_lines(
                write, {i: records[i][0] for i in written}, created, written, depth
            )
        for entity_id, (note, result) in written.items():
            outcomes[entity_id] = note if isinstance(note, Outcome) else Done(note, result.id)
        applied = {
            i: records[i][1]
            for i, outcome in outcomes.items()
            if isinstance(outcome, Done) and records[i][1] is not None
        }
        self.versions.record_many(write.realm_id, mapping.qb_object, applied)
        return outcomes

    def upsert(
        self,
        realm_id: str,
        config: RealmConfig,
        sobject: str,
        ext: str,
        bodies: list[Upsert],
        depth: int,
    ) -> list[tuple[Upsert, RecordResult | Outcome]]:
        """Upsert by external id, ≤200 a call; each body with its result when written, else
        its outcome. A body whose references Salesforce did not find is sent again after the
        referenced records were synced (`sync_related`)."""
        results = self._upsert_calls(sobject, ext, [body.mapped for body in bodies])
        missing: dict[str, set[str]] = {}
        again = []
        for index, result in enumerate(results):
            references = missing_references(result, realm_id)
            if references:
                merge_into(missing, references)
                again.append(index)
        if again and depth < MAX_REFERENCE_DEPTH:
            self.sync_related(realm_id, config, missing, depth + 1)
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
                in_flight=UPSERTS_IN_FLIGHT,
            )
        ]

    def sync_related(
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
            related = Write(realm_id, config, mapping, describe)
            first_time: list[str] = []
            if mapping.match_rules:  # else no store read: nothing would be matched
                applied = self.versions.applied_many(realm_id, mapping.qb_object, list(records))
                first_time = [i for i in records if i not in applied]
            matched = self.match_first_writes(related, found, first_time)
            outcomes = dict(matched.settled)
            unsettled = {i: r for i, r in records.items() if i not in matched.settled}
            outcomes.update(self.write(related, unsettled, depth))
            for entity_id, outcome in sorted(outcomes.items()):
                if not isinstance(outcome, Done):
                    log.warning(
                        "Referenced %s %s not written: %s", entity, entity_id, outcome.message
                    )
