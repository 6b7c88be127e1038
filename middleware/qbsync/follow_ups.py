"""Follow-ups of a batch: the other records it must write again, found in Salesforce.

A Payment changes the Balance of the invoices its lines link (those it links now, read from
QuickBooks by the record writer, and those it linked as last written, read here); a merge
leaves records referring to the merged-away record. The record writer syncs what these
queries name (`RecordWriter.sync_related`).
"""

from __future__ import annotations

import logging

from qbsync.describes import Describes
from qbsync.mapping import ObjectMapping
from qbsync.remotes import Salesforce
from qbsync.salesforce.chunks import COLLECTION_LIMIT
from qbsync.salesforce.errors import SalesforceError
from qbsync.salesforce.schema import external_id, parse_external_id
from qbsync.sync_config import RealmConfig, soql_literal

log = logging.getLogger(__name__)

# Entities whose records change the Balance of the transactions their lines link: a Payment's
# sync writes those invoices again (QuickBooks' Payment: Line[].LinkedTxn[]).
PAYS_LINKED = frozenset({"Payment"})


class FollowUps:
    """Finds, in Salesforce, the records a batch's writes and deletes must bring along."""

    def __init__(self, salesforce: Salesforce, describe: Describes) -> None:
        self.salesforce = salesforce
        self._describe = describe

    def linked_in_salesforce(
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

    def referring_to_merged(
        self, realm_id: str, merged: list[str], mapping: ObjectMapping, config: RealmConfig
    ) -> dict[str, set[str]]:
        """The real-time records in Salesforce that refer to records `merged` away, QuickBooks
        ids by entity (one SOQL per referring object and field): QuickBooks moves a merged
        customer's transactions to the one that survives, without a webhook for each (Intuit's
        merge article; no webhook: UNCONFIRMED), so those in Salesforce would keep pointing at
        the merged-away record until written again."""
        keys = ", ".join(
            f"'{soql_literal(external_id(realm_id, mapping.qb_object, i))}'" for i in merged
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
                parsed = parse_external_id(realm_id, str(row.get(ext) or ""))
                other = config.mapping(parsed[0]) if parsed else None
                if other is not None and other.realtime_enabled:
                    wanted.setdefault(other.qb_object, set()).add(parsed[1])
        return wanted
