"""Turn one QuickBooks record into the body of a Salesforce upsert.

Pure functions: no I/O. The inputs are the QuickBooks JSON, the object mapping (`ObjectMapping`
and its `FieldMapping`s, defined here; `qbsync.sync_config` reads them from Salesforce), the
target object's describe and the external-id targets of the parent objects (for lookups). The
worker calls `build_record` once per record, and `build_lines` once per record and line mapping:
one body per item of the mapped collection (`Line[DetailType=SalesItemLineDetail]`), its paths
read relative to the item, its parent set through the parent record's external id.

Two kinds of problems are told apart:
- the configuration cannot be applied (unknown or read-only Salesforce field, a value that cannot
  become the field's type, a reference whose parent object is not mapped): `MappingError`, the
  event fails with that message, because retrying cannot help;
- the data only partly fits (a string longer than the field): the value is cut and a warning is
  listed in `MappedRecord.warnings`, which ends up in the sync log.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from qbsync.catalog.paths import Step, steps
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

# Bounds of what Salesforce stores, checked before any conversion whose cost grows with the
# value, so one record's conversion is linear in its text by construction:
# - number fields hold at most 18 digits (describe `precision`, `scale`; `int` fields `digits`);
#   `int` is 32-bit and `long` 64-bit;
# - dates and times run from 1700-01-01T00:00:00Z to 4000-12-31T00:00:00Z (Salesforce Data
#   Loader guide, "Data Import Dates").
MAX_PRECISION = 18
INTEGER_BITS = {"int": 31, "long": 63}
# Longest text read as a number or a time: 18 digits with sign, point, exponent and thousands
# separators fit many times over; ISO 8601 with microseconds and an offset is 32 characters.
MAX_NUMBER_TEXT = 100
MAX_TIME_TEXT = 64
# Python ints from JSON are converted to text to be read as numbers; 340 bits is ~102 digits.
_MAX_INT_BITS = 340
EARLIEST = datetime(1700, 1, 1, tzinfo=UTC)
LATEST = datetime(4000, 12, 31, tzinfo=UTC)

_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f", ""})


class MappingError(Exception):
    """The configured mapping cannot be applied to this record (permanent)."""


class ValueNotWritable(MappingError):
    """A QuickBooks value the mapped Salesforce field cannot hold (its type or its range).

    Carries the parts the sync log explains to the admin (`qbsync.failure_text`); the text is the
    technical one the ledger keeps.
    """

    def __init__(
        self, qb_field: str, value: Any, object_name: str, target: SalesforceField, cause: Exception
    ) -> None:
        self.qb_field = qb_field
        self.value = _preview(value)
        self.object_name = object_name
        self.field_name = target.name
        self.field_label = target.label or target.name
        self.kind = target.type
        self.cause = cause
        self.line: str | None = None  # "line 3 of Line" when a transaction line held the value
        super().__init__(
            f"{qb_field} value {self.value} cannot be written to {object_name}.{target.name} "
            f"({target.type}): {cause}"
        )

    def on_line(self, collection_path: str, key: str) -> ValueNotWritable:
        """This failure, found on line `key` of `collection_path`: the text names the line."""
        self.args = (f"{collection_path} line {key}: {self}",)
        self.line = f"line {key} of {collection_path}"
        return self


@dataclass(frozen=True)
class SalesforceField:
    """What the mapping needs to know about one field of the target object's describe."""

    name: str
    type: str
    length: int = 0
    scale: int | None = None
    precision: int = 0  # number fields: digits in all (0: not given)
    digits: int = 0  # int fields: digits at most (0: not given)
    relationship_name: str | None = None
    reference_to: tuple[str, ...] = ()
    createable: bool = True
    updateable: bool = True
    label: str = ""  # what the admin sees in Setup (messages name the field by it)


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
                precision=int(item.get("precision") or 0),
                digits=int(item.get("digits") or 0),
                relationship_name=item.get("relationshipName"),
                reference_to=tuple(item.get("referenceTo") or ()),
                createable=bool(item.get("createable", True)),
                updateable=bool(item.get("updateable", True)),
                label=str(item.get("label") or ""),
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
class LineMapping:
    """One line mapping (a QB_Object_Mapping__c with Parent_Mapping__c): the items of a
    collection of the parent's records, each upserted as a record of `salesforce_object`."""

    collection_path: str  # `Line[DetailType=SalesItemLineDetail]`
    salesforce_object: str
    external_id_field: str
    parent_field: str  # the lookup or master-detail field to the parent's record
    field_mappings: tuple[FieldMapping, ...] = ()  # paths relative to one item
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
    warnings: tuple[str, ...] = ()  # field (and line) mappings left out
    id: str | None = None
    line_mappings: tuple[LineMapping, ...] = ()
    # Match_Rules__c: how a historical sync finds an existing record before creating one
    # (`qbsync.matching`); empty: always create.
    match_rules: tuple[str, ...] = ()

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


@lru_cache(maxsize=1024)
def _steps(path: str) -> tuple[Step, ...]:
    try:
        return tuple(steps(path))
    except ValueError as error:
        raise MappingError(str(error)) from None


def _selects(step: Step, item: Any) -> bool:
    """True when a list item has the member value the step selects (compared as text)."""
    if not isinstance(item, Mapping) or step.key not in item:
        return False
    member = item[step.key]
    return not isinstance(member, Mapping | list) and _as_text(member) == step.value


def get_path(record: Mapping[str, Any], path: str) -> Any:
    """Value at a path (`BillAddr.City`), or `_MISSING` when any step is absent.

    A step that selects list items (`CustomField[Name=Crew #]`, `LinkedTxn[TxnType=Invoice]`)
    continues in the first item with that member value: custom fields are unique by name, and
    a single value is what a field holds.
    """
    value: Any = record
    for step in _steps(path):
        if not isinstance(value, Mapping) or step.name not in value:
            return _MISSING
        value = value[step.name]
        if step.key is not None:
            items = value if isinstance(value, list) else ()
            value = next((item for item in items if _selects(step, item)), _MISSING)
            if value is _MISSING:
                return _MISSING
    return value


def select_items(record: Mapping[str, Any], collection_path: str) -> list[Mapping[str, Any]]:
    """The items of the list `collection_path` names (`Line[DetailType=DescriptionOnly]`): all
    of them, or those its last step selects; none when the list is absent."""
    *head, last = _steps(collection_path)
    container: Any = record
    if head:
        container = get_path(record, ".".join(_text(step) for step in head))
    items = container.get(last.name) if isinstance(container, Mapping) else None
    if not isinstance(items, list):
        return []
    if last.key is None:
        return [item for item in items if isinstance(item, Mapping)]
    return [item for item in items if _selects(last, item)]


def _text(step: Step) -> str:
    return step.name if step.key is None else f"{step.name}[{step.key}={step.value}]"


def line_key(item: Mapping[str, Any]) -> str | None:
    """The key of a collection item within its record (contract of issue 10): its `Id`, else
    `{TxnType}{TxnId}` of its first LinkedTxn (a payment line: `Invoice69`), else None (a
    subtotal line, which is not synced)."""
    item_id = item.get("Id")
    if item_id not in (None, "") and not isinstance(item_id, Mapping | list):
        return _as_text(item_id)
    linked = item.get("LinkedTxn")
    first = linked[0] if isinstance(linked, list) and linked else None
    if isinstance(first, Mapping) and first.get("TxnType") and first.get("TxnId"):
        return f"{_as_text(first['TxnType'])}{_as_text(first['TxnId'])}"
    return None


def apply_transform(value: Any, transform: str | None) -> Any:
    """Apply Transform__c (Trim, Uppercase, Lowercase, Digits Only) to the value's text."""
    if not transform:
        return value
    try:
        text = _as_text(value)
    except TypeError as error:
        raise MappingError(f"Transform__c {transform} cannot apply: {error}") from None
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


def build_lines(
    qb_record: Mapping[str, Any],
    mapping: ObjectMapping,
    lines: LineMapping,
    describe: SObjectDescribe,
    realm_id: str,
    parents: ParentTargets,
) -> list[MappedRecord]:
    """Upsert bodies, on `lines.salesforce_object`, for the items of one collection of
    `qb_record` (the parent record, mapped by `mapping`).

    Each body's external id is the parent's followed by `-` and the item's `line_key`; items
    without a key are left out. Its parent field refers to the parent through the parent's
    external id, resolved by Salesforce in the same call, like any reference. Field paths are
    read relative to the item, with the conversions, warnings and errors of `build_record`
    (an error names the line).
    """
    record_id = str(qb_record.get("Id", ""))
    if not record_id:
        raise MappingError(f"QuickBooks {mapping.qb_object} record has no Id")
    parent_key = external_id(realm_id, mapping.qb_object, record_id)
    ext_field = describe.field(lines.external_id_field)
    if ext_field is None:
        raise MappingError(
            f"INVALID_FIELD: External_Id_Field__c {lines.external_id_field} "
            f"does not exist on {describe.name}"
        )
    parent_field = describe.field(lines.parent_field)
    if parent_field is None or not parent_field.relationship_name:
        raise MappingError(
            f"Parent_Field__c {lines.parent_field} is not a lookup or master-detail field "
            f"of {describe.name}"
        )
    parent_ref = {parent_field.relationship_name: {mapping.external_id_field: parent_key}}
    bodies = []
    for item in select_items(qb_record, lines.collection_path):
        key = line_key(item)
        if key is None:
            continue
        line_id = f"{parent_key}-{key}"
        mapped = MappedRecord(external_id=line_id, fields={ext_field.name: line_id, **parent_ref})
        try:
            for field_mapping in lines.field_mappings:
                _map_field(item, field_mapping, describe, realm_id, parents, mapped)
        except ValueNotWritable as error:
            raise error.on_line(lines.collection_path, key) from None
        except MappingError as error:
            raise MappingError(f"{lines.collection_path} line {key}: {error}") from None
        mapped.warnings[:] = [f"line {key}: {w}" for w in mapped.warnings]
        bodies.append(mapped)
    return bodies


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
    """`value` as the JSON value Salesforce expects for `target`'s describe type.

    Total: whatever the value, the result is a JSON value within the field's range or a
    `MappingError` naming the field and the value.
    """
    kind = target.type
    try:
        if kind in STRING_TYPES:
            return _as_text(value)
        if kind == "boolean":
            return _as_bool(value)
        if kind in NUMBER_TYPES:
            return _as_number(value, target)
        if kind in INTEGER_TYPES:
            return _as_integer(value, target)
        if kind == "date":
            return _as_date(value)
        if kind == "datetime":
            return _as_datetime(value)
    except (ValueError, TypeError, ArithmeticError) as error:
        # ArithmeticError holds decimal's InvalidOperation and OverflowError.
        raise ValueNotWritable(qb_field, value, object_name, target, error) from None
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
    """`value` as a finite Decimal, after checks that keep the work linear in its length."""
    if isinstance(value, bool):
        raise TypeError("a true/false value is not a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        return Decimal(repr(value))  # the shortest text that reads back as this float
    if isinstance(value, int) and value.bit_length() > _MAX_INT_BITS:
        raise ValueError("more digits than any Salesforce number field holds")
    text = _as_text(value).strip().replace(",", "")
    if len(text) > MAX_NUMBER_TEXT:
        raise ValueError(
            f"{len(text)} characters, more than a number Salesforce can hold is written with "
            f"({MAX_NUMBER_TEXT})"
        )
    number = Decimal(text)
    if not number.is_finite():
        raise ValueError("not a finite number")
    # A zero keeps its written exponent (0E+5000); it is plain 0.
    return Decimal(0) if number.is_zero() else number


def _check_whole_digits(number: Decimal, whole_digits: int) -> None:
    # `adjusted()` is the exponent of the leading digit: read from the Decimal, not computed.
    if not number.is_zero() and number.adjusted() >= whole_digits:
        raise ValueError(
            f"out of the field's range: at most {whole_digits} digits before the decimal point"
        )


def _as_number(value: Any, target: SalesforceField) -> int | float:
    # Decimal keeps QuickBooks' decimal text exact until the describe's scale is applied
    # (half up, as Salesforce rounds); JSON then carries a plain number. The range is checked
    # before rounding (which then handles at most 18 digits) and after it (99.995 → 100.00).
    number = _decimal(value)
    scale = target.scale
    whole_digits = (target.precision or MAX_PRECISION) - (scale or 0)
    _check_whole_digits(number, whole_digits)
    if scale is not None:
        number = number.quantize(Decimal(10) ** -scale, rounding=ROUND_HALF_UP)
        _check_whole_digits(number, whole_digits)
    return int(number) if number == number.to_integral_value() else float(number)


def _as_integer(value: Any, target: SalesforceField) -> int:
    number = _decimal(value)
    _check_whole_digits(number, target.digits or MAX_PRECISION + 1)
    if number != number.to_integral_value():
        raise ValueError("not a whole number")
    whole = int(number)  # at most 19 digits: cheap
    bits = INTEGER_BITS[target.type]
    if not -(2**bits) <= whole < 2**bits:
        raise ValueError(f"out of the field's range ({target.type}: {bits + 1}-bit)")
    return whole


def _parse_datetime(text: str) -> datetime:
    # ISO 8601 with `Z`, an offset, or only a date (midnight); QuickBooks times carry their
    # offset, one without is taken as UTC.
    text = text.strip()
    if len(text) > MAX_TIME_TEXT:
        raise ValueError(f"{len(text)} characters, longer than any date and time")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _in_salesforce_range(moment: datetime) -> datetime:
    # Aware datetimes compare as instants and, unlike astimezone, never overflow (Python docs,
    # datetime, "Supported operations"): a time near year 1 or 9999 is refused, not an error.
    if not EARLIEST <= moment <= LATEST:
        raise ValueError(
            "outside the dates Salesforce holds (1700-01-01T00:00:00Z to 4000-12-31T00:00:00Z)"
        )
    return moment


def _as_date(value: Any) -> str:
    # A QuickBooks timestamp keeps the calendar day of its own offset.
    day = _parse_datetime(_as_text(value)).date()
    if not EARLIEST.date() <= day <= LATEST.date():
        raise ValueError(
            f"outside the dates Salesforce holds ({EARLIEST.date()} to {LATEST.date()})"
        )
    return day.isoformat()


def _as_datetime(value: Any) -> str:
    moment = _in_salesforce_range(_parse_datetime(_as_text(value))).astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_qb_time(text: str | None) -> datetime | None:
    """A QuickBooks `MetaData.LastUpdatedTime` as an aware UTC datetime (None if absent)."""
    if not text:
        return None
    try:
        return _parse_datetime(text).astimezone(UTC)
    except OverflowError:  # year 1 or 9999 moved past the calendar's end by its offset
        raise ValueError(f"time {text!r} is out of range") from None


def record_version(record: Mapping[str, Any]) -> Version | None:
    """A QuickBooks record's (LastUpdatedTime, SyncToken); None when it carries no timestamp."""
    meta = record.get("MetaData")
    text = meta.get("LastUpdatedTime") if isinstance(meta, Mapping) else None
    if text is not None and not isinstance(text, str):
        raise ValueError(f"MetaData.LastUpdatedTime is not text: {_preview(text)}")
    last_updated = parse_qb_time(text)
    if last_updated is None:
        return None
    token = str(record.get("SyncToken"))  # absent: "None", not a counter
    # An ASCII counter of sensible length; `isdigit` alone admits '²', which int() refuses.
    readable = token.isascii() and token.isdigit() and len(token) <= MAX_PRECISION
    return Version(last_updated, int(token) if readable else -1)
