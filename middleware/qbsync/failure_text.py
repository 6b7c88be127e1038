"""Failures as the admin reads them in the sync log: what failed, which record, what to change.

Pure: an outcome's error (`Outcome.cause`) and the record it was about become Message__c, the
technical text (exception class and message) becomes Detail__c, and a short reason, the same for
every failure of one kind, becomes Reason__c (reports group by it: they cannot group by a long
text such as Message__c). An error this module does not know keeps its message as it is, with no
detail, and is named by its class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qbsync.mapping import ObjectMapping, ValueNotWritable
from qbsync.quickbooks.errors import QuickBooksTransient
from qbsync.salesforce.client import RecordResult

# Reason__c is a Text(80) field.
REASON_LENGTH = 80

# Salesforce describe types (research/salesforce.md), in words.
_KIND_WORDS = {
    "double": "a number",
    "currency": "an amount",
    "percent": "a percentage",
    "int": "a whole number",
    "long": "a whole number",
    "boolean": "true or false",
    "date": "a date",
    "datetime": "a date and time",
}


@dataclass(frozen=True)
class LogText:
    """Message__c, Detail__c and Reason__c of one sync-log row."""

    message: str
    detail: str | None = None
    reason: str | None = None


def record_label(qb_object: str, qb_record_id: str, name: str | None) -> str:
    """How a message names the QuickBooks record: by name when it has one, always by id."""
    if name:
        return f"{qb_object} \u201c{name}\u201d (QuickBooks {qb_record_id})"
    return f"{qb_object} {qb_record_id} (QuickBooks)"


def explain(
    message: str,
    cause: Exception | RecordResult | None,
    qb_object: str,
    qb_record_id: str,
    name: str | None,
    mapping: ObjectMapping | None = None,
) -> LogText:
    """The log text of an outcome whose message is `message` and whose error is `cause`;
    `mapping` (the record's object mapping) names the mapping rows to change."""
    record = record_label(qb_object, qb_record_id, name)
    if isinstance(cause, ValueNotWritable):
        return _value_not_writable(cause, record)
    if isinstance(cause, QuickBooksTransient):
        return LogText(
            f"{record}: QuickBooks could not be reached, so the record was not read. The sync "
            "tries again by itself; nothing needs changing unless this keeps happening.",
            f"{type(cause).__name__}: {cause}",
            "QuickBooks unreachable",
        )
    if isinstance(cause, RecordResult) and cause.errors:
        # Salesforce's status code names the kind of refusal (REQUIRED_FIELD_MISSING, …).
        reason = f"Salesforce {cause.errors[0].get('statusCode') or 'error'}"[:REASON_LENGTH]
        text = _salesforce_refusal(cause.errors[0], record, mapping)
        if text is not None:
            detail = f"{message}\n{cause.message}" if message else cause.message
            return LogText(text, detail, reason)
        return LogText(message, reason=reason)
    return LogText(message, reason=None if cause is None else _class_reason(cause))


def _class_reason(cause: object) -> str:
    """`MappingError` → "Mapping error": an error's class, in words."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type(cause).__name__).split()
    return " ".join(words[:1] + [w.lower() for w in words[1:]])[:REASON_LENGTH]


def _value_not_writable(error: ValueNotWritable, record: str) -> LogText:
    kind = _KIND_WORDS.get(error.kind, error.kind)
    if error.line:
        record = f"{record}, {error.line}"
    message = (
        f"{record}: the value {error.value} of {error.qb_field} cannot be written to "
        f"{error.object_name}.{error.field_label} ({kind}). Change the field mapping "
        f"{error.qb_field} \u2192 {error.field_name} or the value in QuickBooks."
    )
    kind_of_error = type(error.cause)
    qualified = (
        kind_of_error.__qualname__
        if kind_of_error.__module__ == "builtins"
        else f"{kind_of_error.__module__}.{kind_of_error.__qualname__}"
    )
    detail = f"{qualified}: {error.cause}\n{error}"
    return LogText(message, detail, "Value does not fit the field")


def _rows(mapping: ObjectMapping | None, fields: list[str]) -> str:
    """The field mappings that fill `fields`, as the Field Mapping screen shows them."""
    if mapping is None:
        return ""
    wanted = {f.lower() for f in fields}
    rows = [
        f"{fm.qb_field} \u2192 {fm.salesforce_field}"
        for fm in mapping.field_mappings
        if fm.salesforce_field.lower() in wanted
    ]
    return ", ".join(rows)


def _salesforce_refusal(error: dict, record: str, mapping: ObjectMapping | None) -> str | None:
    """Salesforce's per-record error in words, or None for one without an explanation here."""
    code = error.get("statusCode")
    fields = [str(f) for f in error.get("fields") or []]
    target = mapping.salesforce_object if mapping is not None else "the Salesforce record"
    named = ", ".join(f"{target}.{f}" for f in fields) or target
    rows = _rows(mapping, fields)
    change = f"the field mapping {rows}" if rows else "the field mappings"
    said = str(error.get("message") or "").strip()
    if code == "REQUIRED_FIELD_MISSING":
        return (
            f"{record}: Salesforce requires {named}, and the mapping gave it no value. Map a "
            f"QuickBooks field that is filled to it (or give {change} a default value), or fill "
            "the field in QuickBooks."
        )
    if code == "FIELD_CUSTOM_VALIDATION_EXCEPTION":
        return (
            f"{record}: a validation rule of {target} refused the record: \u201c{said}\u201d. "
            f"Change the value in QuickBooks or {change}, or ask the rule's owner to allow it."
        )
    if code in {"INVALID_FIELD_FOR_INSERT_UPDATE", "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY"}:
        return (
            f"{record}: the sync user may not write {named}. Give the QuickBooks Sync Integration "
            f"permission set edit access to it, or remove {change}."
        )
    if "Foreign key external ID" in said:
        return (
            f"{record}: it refers to a QuickBooks record that is not in Salesforce yet "
            f"({said}). The sync tries again after syncing that record; if this stays, map and "
            "enable the referenced QuickBooks object."
        )
    return None
