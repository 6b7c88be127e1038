"""A transaction's lines (issue 10): written after their records, every line mapping in turn,
and the lines QuickBooks no longer has deleted from Salesforce."""

from __future__ import annotations

from qbsync.describes import Describes
from qbsync.mapping import LineMapping, MappedRecord, MappingError, SObjectDescribe, build_lines
from qbsync.outcomes import Fail, Outcome, from_salesforce
from qbsync.record_deletes import ALREADY_DELETED_CODES
from qbsync.remotes import Salesforce
from qbsync.salesforce.chunks import call_in_chunks
from qbsync.salesforce.client import RecordResult
from qbsync.salesforce.errors import SalesforceError
from qbsync.salesforce.schema import external_id
from qbsync.sync_config import soql_literal
from qbsync.upsert_bodies import Upsert, UpsertBodies, Write, check_json


def _drop_parent(mapped: MappedRecord, describe: SObjectDescribe, lines: LineMapping) -> None:
    """Leave the parent out of a line's body: the line exists and already belongs to it."""
    parent = describe.field(lines.parent_field)
    if parent is not None and parent.relationship_name:
        mapped.fields.pop(parent.relationship_name, None)


class LineWriter:
    """Writes the lines of records just written, with the record writer's upserts (which sync
    the records the lines refer to first)."""

    def __init__(self, salesforce: Salesforce, describe: Describes, upsert: UpsertBodies) -> None:
        self.salesforce = salesforce
        self._describe = describe
        self._upsert = upsert

    def write_lines(
        self,
        write: Write,
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
            bodies: list[Upsert] = []
            for entity_id in live():
                try:
                    mapped = build_lines(
                        records[entity_id], write.mapping, lines, describe, write.realm_id, parents
                    )
                    for body in mapped:
                        check_json(body)
                except MappingError as error:
                    fail(entity_id, Fail(str(error), cause=error))
                    continue
                there = existing[group].get(entity_id, {})
                for body in mapped:
                    if body.external_id in there:
                        _drop_parent(body, describe, lines)
                keys = kept.setdefault(group, {}).setdefault(entity_id, set())
                keys.update(body.external_id for body in mapped)
                bodies.extend(Upsert(entity_id, body, None) for body in mapped)
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
        self, write: Write, lines: LineMapping, describe: SObjectDescribe, entity_ids: list[str]
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
