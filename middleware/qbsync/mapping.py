"""Turn one QuickBooks record into the body of a Salesforce upsert.

Pure functions: no I/O. The inputs are the QuickBooks JSON, the object mapping (`ObjectMapping`
and its `FieldMapping`s, defined here; `qbsync.sync_config` reads them from Salesforce), the
target object's describe and the external-id targets of the parent objects (for lookups). The
worker calls `build_record` once per record.

Two kinds of problems are told apart:
- the configuration cannot be applied (unknown or read-only Salesforce field, a value that cannot
  become the field's type, a reference whose parent object is not mapped): `MappingError`, the
  event fails with that message, because retrying cannot help;
- the data only partly fits (a string longer than the field): the value is cut and a warning is
  listed in `MappedRecord.warnings`, which ends up in the sync log.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from qbsync.events import Version
from qbsync.salesforce.schema import external_id

# Salesforce describe `type` values, grouped by the JSON value they take.
STRING_TYPES = frozenset(
    {
        "string",
        "textarea",
        "phone",
        "url",
        "email",
        "picklist",
        "multipicklist",
        "combobox",
        "encryptedstring",
    }
)
NUMBER_TYPES = frozenset({"double", "currency", "percent"})
INTEGER_TYPES = frozenset({"int", "long"})

_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f", ""})


class MappingError(Exception):
    """The configured mapping cannot be applied to this record (permanent)."""


@dataclass(frozen=True)
class SalesforceField:
    """What the mapping needs to know about one field of the target object's describe."""

    name: str
    type: str
    length: int = 0
    scale: int | None = None
    relationship_name: str | None = None
    reference_to: tuple[str, ...] = ()
    createable: bool = True
    updateable: bool = True


@dataclass(frozen=True)
class SObjectDescribe:
    """The fields of a Salesforce object, looked up case-insensitively (API names are)."""

    name: str
    fields: Mapping[str, SalesforceField]  # lower-case API name -> field

    @classmethod
    def from_json(cls, describe: Mapping[str, Any]) -> SObjectDescribe:
        """Build from the JSON of `GET /sobjects/<name>/describe`."""
        fields = {}
        for item in describe.get("fields") or ():
            fields[item["name"].lower()] = SalesforceField(
                name=item["name"],
                type=item.get("type", "string"),
                length=int(item.get("length") or 0),
                scale=item.get("scale"),
                relationship_name=item.get("relationshipName"),
                reference_to=tuple(item.get("referenceTo") or ()),
                createable=bool(item.get("createable", True)),
                updateable=bool(item.get("updateable", True)),
            )
        return cls(name=describe["name"], fields=fields)

    def field(self, name: str) -> SalesforceField | None:
        return self.fields.get(name.lower())


@dataclass(frozen=True)
class FieldMapping:
    """One QB_Field_Mapping__c, with the catalog's type for its QuickBooks path."""

    qb_field: str
    salesforce_field: str
    transform: str | None = None
    default_value: str | None = None
    qb_type: str = "string"
    reference_to: str | None = None  # catalog `referenceTo` when the path is a reference
    id: str | None = None


@dataclass(frozen=True)
class ObjectMapping:
    """One QB_Object_Mapping__c and its usable field mappings."""

    qb_object: str  # catalog spelling, e.g. "Customer"
    salesforce_object: str
    external_id_field: str
    realtime_enabled: bool = False
    delete_behavior: str = "Ignore"
    field_mappings: tuple[FieldMapping, ...] = ()
    problems: tuple[str, ...] = ()  # the mapping cannot be used at all
    warnings: tuple[str, ...] = ()  # field mappings left out
    id: str | None = None

    def active_field(self) -> str | None:
        """The Salesforce field mapped from QuickBooks `Active` (Deactivate sets it false)."""
        for fm in self.field_mappings:
            if fm.qb_field.lower() == "active":
                return fm.salesforce_field
        return None


@dataclass(frozen=True)
class ParentTarget:
    """Where records of a parent QuickBooks entity live in Salesforce (from its own mapping)."""

    salesforce_object: str
    external_id_field: str


# QuickBooks entity name (catalog spelling) -> its Salesforce target in this realm.
ParentTargets = Mapping[str, ParentTarget]


@dataclass
class MappedRecord:
    """One upsert body (without `attributes`) plus what did not fit."""

    external_id: str
    fields: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


_MISSING = object()


def get_path(record: Mapping[str, Any], path: str) -> Any:
    """Value at a dotted path (`BillAddr.City`), or `_MISSING` when any step is absent."""
    value: Any = record
    for step in path.split("."):
        if not isinstance(value, Mapping) or step not in value:
            return _MISSING
        value = value[step]
    return value


def apply_transform(value: Any, transform: str | None) -> Any:
    """Apply Transform__c (Trim, Uppercase, Lowercase, Digits Only) to the value's text."""
    if not transform:
        return value
    text = _as_text(value)
    if transform == "Trim":
        return text.strip()
    if transform == "Uppercase":
        return text.upper()
    if transform == "Lowercase":
        return text.lower()
    if transform == "Digits Only":
        return re.sub(r"\D", "", text)
    raise MappingError(f"unknown Transform__c {transform!r}")


def build_record(
    qb_record: Mapping[str, Any],
    mapping: ObjectMapping,
    describe: SObjectDescribe,
    realm_id: str,
    parents: ParentTargets,
) -> MappedRecord:
    """Upsert body for `qb_record` on `mapping.salesforce_object`.

    A QuickBooks path without a value takes Default_Value__c when it is set, else clears the
    Salesforce field: QuickBooks returns only the properties that have values (Intuit,
    "Deep dive into QuickBooks Online data queries", 2017-02-08), so an absent property is one
    cleared in QuickBooks, and the old value must not stay in Salesforce.
    """
    record_id = str(qb_record.get("Id", ""))
    if not record_id:
        raise MappingError(f"QuickBooks {mapping.qb_object} record has no Id")
    key = external_id(realm_id, mapping.qb_object, record_id)
    ext_field = describe.field(mapping.external_id_field)
    if ext_field is None:
        raise MappingError(
            f"INVALID_FIELD: External_Id_Field__c {mapping.external_id_field} "
            f"does not exist on {describe.name}"
        )
    mapped = MappedRecord(external_id=key, fields={ext_field.name: key})
    for field_mapping in mapping.field_mappings:
        _map_field(qb_record, field_mapping, describe, realm_id, parents, mapped)
    return mapped


def _map_field(
    qb_record: Mapping[str, Any],
    fm: FieldMapping,
    describe: SObjectDescribe,
    realm_id: str,
    parents: ParentTargets,
    mapped: MappedRecord,
) -> None:
    target = describe.field(fm.salesforce_field)
    if target is None:
        raise MappingError(
            f"INVALID_FIELD: {fm.salesforce_field} does not exist on {describe.name} "
            f"(mapped from {fm.qb_field})"
        )
    if not (target.createable or target.updateable):
        raise MappingError(
            f"{describe.name}.{target.name} is read-only (mapped from {fm.qb_field})"
        )

    if fm.reference_to:
        reference = _reference(qb_record, fm, target, describe, realm_id, parents)
        mapped.fields.update(reference if reference is not None else _cleared(target))
        return

    value = get_path(qb_record, fm.qb_field)
    if value is _MISSING or value is None:
        if fm.default_value is None:
            mapped.fields.update(_cleared(target))
            return
        value = fm.default_value
    value = apply_transform(value, fm.transform)
    converted = convert(value, target, describe.name, fm.qb_field)
    if isinstance(converted, str) and target.length and len(converted) > target.length:
        mapped.warnings.append(
            f"{fm.qb_field} → {target.name}: {len(converted)} characters cut to {target.length}"
        )
        converted = converted[: target.length]
    mapped.fields[target.name] = converted


def _cleared(target: SalesforceField) -> dict[str, Any]:
    """The value that empties `target`: null, or false for a checkbox, which cannot hold null."""
    return {target.name: False if target.type == "boolean" else None}


def _reference(
    qb_record: Mapping[str, Any],
    fm: FieldMapping,
    target: SalesforceField,
    describe: SObjectDescribe,
    realm_id: str,
    parents: ParentTargets,
) -> dict[str, Any] | None:
    """A QuickBooks `XxxRef` as a lookup through the parent's external id, or None if empty.

    Salesforce resolves `{"Parent": {"QB_External_Id__c": "..."}}` inside the same upsert,
    so no query for the parent's Salesforce Id is needed (research salesforce.md §1.3).
    """
    # `CustomerRef` and `CustomerRef.value` both name the reference: the path reaches either
    # the reference object, whose id is its `value`, or that id itself.
    value = get_path(qb_record, fm.qb_field)
    if isinstance(value, Mapping):
        value = value.get("value")
    if value is _MISSING or value in (None, ""):
        if fm.default_value in (None, ""):
            return None
        value = fm.default_value
    parent_key = external_id(realm_id, fm.reference_to, str(value))
    if target.type != "reference":
        # A reference mapped onto a text field carries the parent's realm-scoped key.
        return {target.name: convert(parent_key, target, describe.name, fm.qb_field)}
    parent = parents.get(fm.reference_to)
    if parent is None:
        raise MappingError(
            f"{fm.qb_field} refers to QuickBooks {fm.reference_to}, which has no object mapping; "
            f"map {fm.reference_to} before mapping {fm.qb_field} to {target.name}"
        )
    if target.reference_to and parent.salesforce_object not in target.reference_to:
        raise MappingError(
            f"{describe.name}.{target.name} looks up {', '.join(target.reference_to)}, but "
            f"QuickBooks {fm.reference_to} is mapped to {parent.salesforce_object}"
        )
    if not target.relationship_name:
        raise MappingError(f"{describe.name}.{target.name} has no relationship name")
    return {target.relationship_name: {parent.external_id_field: parent_key}}


def convert(value: Any, target: SalesforceField, object_name: str, qb_field: str) -> Any:
    """`value` as the JSON value Salesforce expects for `target`'s describe type."""
    kind = target.type
    try:
        if kind in STRING_TYPES:
            return _as_text(value)
        if kind == "boolean":
            return _as_bool(value)
        if kind in NUMBER_TYPES:
            return _as_number(value, target.scale)
        if kind in INTEGER_TYPES:
            return _as_integer(value)
        if kind == "date":
            return _as_date(value)
        if kind == "datetime":
            return _as_datetime(value)
    except (ValueError, InvalidOperation, TypeError) as error:
        raise MappingError(
            f"{qb_field} value {_preview(value)} cannot be written to {object_name}.{target.name} "
            f"({kind}): {error}"
        ) from None
    raise MappingError(
        f"{object_name}.{target.name} has type {kind}, which a QuickBooks field cannot fill "
        f"(mapped from {qb_field})"
    )


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list):
        raise TypeError("a QuickBooks object or list is not a single value; map one of its fields")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = _as_text(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("not true/false")


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("a true/false value is not a number")
    number = Decimal(_as_text(value).strip().replace(",", ""))
    if not number.is_finite():
        raise ValueError("not a finite number")
    return number


def _as_number(value: Any, scale: int | None) -> int | float:
    # Decimal keeps QuickBooks' decimal text exact until the describe's scale is applied
    # (half up, as Salesforce rounds); JSON then carries a plain number.
    number = _decimal(value)
    if scale is not None:
        number = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    return int(number) if number == number.to_integral_value() else float(number)


def _as_integer(value: Any) -> int:
    number = _decimal(value)
    if number != number.to_integral_value():
        raise ValueError("not a whole number")
    return int(number)


def _parse_datetime(text: str) -> datetime:
    # ISO 8601 with `Z`, an offset, or only a date (midnight); QuickBooks times carry their
    # offset, one without is taken as UTC.
    parsed = datetime.fromisoformat(text.strip())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _as_date(value: Any) -> str:
    # A QuickBooks timestamp keeps the calendar day of its own offset.
    return _parse_datetime(_as_text(value)).date().isoformat()


def _as_datetime(value: Any) -> str:
    moment = _parse_datetime(_as_text(value))
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_qb_time(text: str | None) -> datetime | None:
    """A QuickBooks `MetaData.LastUpdatedTime` as an aware UTC datetime (None if absent)."""
    if not text:
        return None
    return _parse_datetime(text).astimezone(UTC)


def record_version(record: Mapping[str, Any]) -> Version | None:
    """A QuickBooks record's (LastUpdatedTime, SyncToken); None when it carries no timestamp."""
    last_updated = parse_qb_time((record.get("MetaData") or {}).get("LastUpdatedTime"))
    if last_updated is None:
        return None
    token = str(record.get("SyncToken", ""))
    return Version(last_updated, int(token) if token.isdigit() else -1)
