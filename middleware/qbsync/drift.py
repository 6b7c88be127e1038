"""Drift between QuickBooks and Salesforce: what `qbsync verify` reports.

For each mapped object of a realm, every QuickBooks record (a paged `select * from <Entity>`)
is compared with the Salesforce record carrying its realm-scoped external id (one SOQL query:
`<External_Id_Field__c> LIKE '<realm>-<Entity>-%'`). The expected Salesforce values are computed
with the worker's own mapping (`qbsync.mapping.build_record`), so verify and the worker cannot
disagree about what a record should look like.

Kinds of drift:
- missing: in QuickBooks, no Salesforce record;
- stale: a mapped field differs (or, with Delete_Behavior__c Deactivate, a record QuickBooks no
  longer returns is still active in Salesforce);
- unexpected: a Salesforce record with the realm/entity prefix whose QuickBooks record is gone
  while Delete_Behavior__c is Delete. With Ignore, such records are kept on purpose, not drift.

QuickBooks' plain query returns active name-list records only (Customer, Vendor, Item, …); the
worker treats an inactive one as deleted too, so verify applies the same rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from qbsync.mapping import MappingError, ObjectMapping, SObjectDescribe, build_record
from qbsync.remotes import QuickBooks, Salesforce
from qbsync.salesforce.schema import external_id
from qbsync.services import Services
from qbsync.sync_config import (
    RealmConfig,
    config_query,
    parse_realm_config,
    soql_literal,
)

MISSING, STALE, UNEXPECTED = "missing", "stale", "unexpected"


@dataclass(frozen=True)
class Drift:
    """One record that differs between the two systems."""

    kind: str  # MISSING | STALE | UNEXPECTED
    qb_object: str
    qb_id: str
    salesforce_id: str | None
    detail: str


@dataclass
class ObjectReport:
    """The comparison of one object mapping."""

    qb_object: str
    salesforce_object: str
    quickbooks_records: int = 0
    salesforce_records: int = 0
    drift: list[Drift] = field(default_factory=list)
    error: str | None = None  # the mapping could not be checked

    def count(self, kind: str) -> int:
        return sum(1 for item in self.drift if item.kind == kind)

    @property
    def clean(self) -> bool:
        return not self.drift and self.error is None


class VerifyError(Exception):
    """The realm or object cannot be verified (not mapped, unknown); the message says why."""


def objects_to_verify(config: RealmConfig, qb_object: str | None) -> list[ObjectMapping]:
    """The named mapped object, or every real-time-enabled one."""
    if qb_object:
        mapping = config.mapping(qb_object)
        if mapping is None:
            mapped = ", ".join(sorted(m.qb_object for m in config.mappings.values())) or "none"
            raise VerifyError(
                f"QuickBooks object {qb_object!r} has no object mapping in realm "
                f"{config.realm_id} (mapped: {mapped})"
            )
        return [mapping]
    return sorted(
        (m for m in config.mappings.values() if m.realtime_enabled),
        key=lambda m: m.qb_object,
    )


def verify_realm(services: Services, realm_id: str, qb_object: str | None) -> list[ObjectReport]:
    """Reports for the named object, or every real-time-enabled one, of `realm_id`.

    The configuration is read fresh from Salesforce (the worker's query), never from a cache.
    """
    salesforce = services.salesforce
    rows = salesforce.query_all(config_query(realm_id))
    config = parse_realm_config(realm_id, rows, services.catalog)
    if not config.mappings:
        raise VerifyError(f"realm {realm_id} has no object mappings in Salesforce")
    return [
        verify_object(realm_id, mapping, config, services.quickbooks, salesforce)
        for mapping in objects_to_verify(config, qb_object)
    ]


def verify_object(
    realm_id: str,
    mapping: ObjectMapping,
    config: RealmConfig,
    quickbooks: QuickBooks,
    salesforce: Salesforce,
) -> ObjectReport:
    """Compare every QuickBooks record of `mapping` with its Salesforce record."""
    report = ObjectReport(mapping.qb_object, mapping.salesforce_object)
    if mapping.problems:
        report.error = "mapping cannot be used: " + "; ".join(mapping.problems)
        return report
    if not mapping.field_mappings:
        report.error = "no field mappings"
        return report
    describe = SObjectDescribe.from_json(salesforce.describe(mapping.salesforce_object))
    parents = config.parent_targets()
    try:
        columns = _columns(mapping, describe, parents)
    except MappingError as error:
        report.error = str(error)
        return report

    records = {str(r.get("Id")): r for r in quickbooks.query_all(realm_id, mapping.qb_object)}
    if mapping.delete_behavior == "Delete":
        # An inactive name-list record is QuickBooks' deleted one: its Salesforce record should be gone.
        records = {qb_id: r for qb_id, r in records.items() if r.get("Active") is not False}
    prefix = external_id(realm_id, mapping.qb_object, "")
    ext = columns[0]
    # `_` is a LIKE wildcard in SOQL: escape it (realm ids are digits, entity names letters).
    pattern = soql_literal(prefix).replace("_", "\\_") + "%"
    soql = (
        f"SELECT Id, {', '.join(columns)} FROM {mapping.salesforce_object} "  # noqa: S608
        f"WHERE {ext} LIKE '{pattern}'"
    )
    rows: dict[str, dict] = {}
    for row in salesforce.query_all(soql):
        value = _lower(row).get(ext.lower())
        if isinstance(value, str) and value.startswith(prefix):
            rows[value[len(prefix) :]] = row
    report.quickbooks_records, report.salesforce_records = len(records), len(rows)

    for qb_id, record in sorted(records.items(), key=lambda item: _id_order(item[0])):
        row = rows.get(qb_id)
        if row is None:
            report.drift.append(Drift(MISSING, mapping.qb_object, qb_id, None, "not in Salesforce"))
            continue
        try:
            expected = build_record(record, mapping, describe, realm_id, parents).fields
        except MappingError as error:
            report.drift.append(Drift(STALE, mapping.qb_object, qb_id, row.get("Id"), str(error)))
            continue
        differences = _differences(expected, row)
        if differences:
            detail = "; ".join(differences)
            report.drift.append(Drift(STALE, mapping.qb_object, qb_id, row.get("Id"), detail))

    for qb_id, row in sorted(rows.items(), key=lambda item: _id_order(item[0])):
        if qb_id not in records:
            _gone_from_quickbooks(report, mapping, describe, qb_id, row)
    return report


def _gone_from_quickbooks(
    report: ObjectReport,
    mapping: ObjectMapping,
    describe: SObjectDescribe,
    qb_id: str,
    row: dict,
) -> None:
    """A Salesforce record whose QuickBooks record is deleted (or inactive)."""
    if mapping.delete_behavior == "Delete":
        report.drift.append(
            Drift(
                UNEXPECTED,
                mapping.qb_object,
                qb_id,
                row.get("Id"),
                "not in QuickBooks (deleted or inactive there); Delete_Behavior__c is Delete",
            )
        )
    elif mapping.delete_behavior == "Deactivate" and mapping.active_field():
        target = describe.field(mapping.active_field() or "")
        value = _lower(row).get(target.name.lower()) if target else None
        if target is not None and value is not False:
            report.drift.append(
                Drift(
                    STALE,
                    mapping.qb_object,
                    qb_id,
                    row.get("Id"),
                    f"{target.name}: Salesforce {value!r}, expected False "
                    "(deleted or inactive in QuickBooks; Delete_Behavior__c is Deactivate)",
                )
            )


def _columns(mapping: ObjectMapping, describe: SObjectDescribe, parents: Mapping) -> list[str]:
    """SOQL columns holding every mapped value, the external id first."""
    ext = describe.field(mapping.external_id_field)
    if ext is None:
        raise MappingError(
            f"INVALID_FIELD: External_Id_Field__c {mapping.external_id_field} "
            f"does not exist on {describe.name}"
        )
    columns = [ext.name]
    for fm in mapping.field_mappings:
        target = describe.field(fm.salesforce_field)
        if target is None:
            raise MappingError(
                f"INVALID_FIELD: {fm.salesforce_field} does not exist on {describe.name} "
                f"(mapped from {fm.qb_field})"
            )
        parent = parents.get(fm.reference_to) if fm.reference_to else None
        if target.type == "reference" and parent is not None and target.relationship_name:
            column = f"{target.relationship_name}.{parent.external_id_field}"
        else:
            column = target.name
        if column.lower() not in {c.lower() for c in columns}:
            columns.append(column)
    return columns


def _differences(expected: Mapping[str, Any], row: Mapping[str, Any]) -> list[str]:
    actual = _lower(row)
    found = []
    for name, want in expected.items():
        have = actual.get(name.lower())
        if isinstance(want, Mapping):  # a lookup through the parent's external id
            parent = _lower(have) if isinstance(have, Mapping) else {}
            for key, parent_key in want.items():
                if not _same(parent_key, parent.get(key.lower())):
                    found.append(
                        f"{name}.{key}: Salesforce {parent.get(key.lower())!r}, "
                        f"QuickBooks {parent_key!r}"
                    )
        elif not _same(want, have):
            found.append(f"{name}: Salesforce {have!r}, QuickBooks {want!r}")
    return found


def _same(expected: Any, actual: Any) -> bool:
    if expected == actual:
        return True
    if expected in ("", None) and actual in ("", None):
        return True  # Salesforce stores an empty text as null
    if isinstance(expected, bool) or isinstance(actual, bool):
        return False
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return math.isclose(expected, actual, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(expected, str) and isinstance(actual, str) and "T" in expected:
        # Date-times: Salesforce answers `…000+0000`, the mapping writes `…000Z`.
        try:
            return datetime.fromisoformat(expected) == datetime.fromisoformat(actual)
        except ValueError:
            return False
    return False


def _lower(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key.lower(): value for key, value in row.items() if key != "attributes"}


def _id_order(qb_id: str) -> tuple[int, str]:
    # QuickBooks ids are numbers in text: 2 before 10.
    return (int(qb_id), "") if qb_id.isdigit() else (1 << 62, qb_id)


def format_report(realm_id: str, reports: Sequence[ObjectReport]) -> str:
    """A table of every drift and one summary line per object."""
    lines = []
    drift = [item for report in reports for item in report.drift]
    if drift:
        header = ("DRIFT", "OBJECT", "QUICKBOOKS ID", "SALESFORCE ID", "DETAIL")
        table = [header] + [
            (d.kind, d.qb_object, d.qb_id, d.salesforce_id or "-", d.detail) for d in drift
        ]
        widths = [max(len(row[i]) for row in table) for i in range(4)]
        for row in table:
            lines.append(
                "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4]
            )
        lines.append("")
    for report in reports:
        summary = (
            f"{report.qb_object} → {report.salesforce_object}: "
            f"{report.quickbooks_records} in QuickBooks, {report.salesforce_records} in "
            f"Salesforce; {report.count(MISSING)} missing, {report.count(STALE)} stale, "
            f"{report.count(UNEXPECTED)} unexpected"
        )
        if report.error:
            summary = (
                f"{report.qb_object} → {report.salesforce_object}: not checked: {report.error}"
            )
        lines.append(summary)
    if not reports:
        lines.append(f"realm {realm_id}: no real-time enabled object mapping to verify")
    clean = all(report.clean for report in reports)
    lines.append(f"realm {realm_id}: {'no drift' if clean else 'DRIFT'}")
    return "\n".join(lines)
