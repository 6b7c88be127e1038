"""Failures as the admin reads them in the sync log: what failed, which record, what to change.

Pure: an outcome's error (`Outcome.cause`) and the record it was about become Message__c, and the
technical text (exception class and message) becomes Detail__c. An error this module does not
know keeps its message as it is, with no detail.
"""

from __future__ import annotations

from dataclasses import dataclass

from qbsync.mapping import ValueNotWritable

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
    """Message__c and Detail__c of one sync-log row."""

    message: str
    detail: str | None = None


def record_label(qb_object: str, qb_record_id: str, name: str | None) -> str:
    """How a message names the QuickBooks record: by name when it has one, always by id."""
    if name:
        return f"{qb_object} \u201c{name}\u201d (QuickBooks {qb_record_id})"
    return f"{qb_object} {qb_record_id} (QuickBooks)"


def explain(
    message: str, cause: Exception | None, qb_object: str, qb_record_id: str, name: str | None
) -> LogText:
    """The log text of an outcome whose message is `message` and whose error is `cause`."""
    if isinstance(cause, ValueNotWritable):
        return _value_not_writable(cause, record_label(qb_object, qb_record_id, name))
    return LogText(message)


def _value_not_writable(error: ValueNotWritable, record: str) -> LogText:
    kind = _KIND_WORDS.get(error.kind, error.kind)
    message = (
        f"{record}: the value {error.value} of {error.qb_field} cannot be written to "
        f"{error.object_name}.{error.field_name} ({kind}). Change the field mapping "
        f"{error.qb_field} \u2192 {error.field_name} or the value in QuickBooks."
    )
    kind_of_error = type(error.cause)
    qualified = (
        kind_of_error.__qualname__
        if kind_of_error.__module__ == "builtins"
        else f"{kind_of_error.__module__}.{kind_of_error.__qualname__}"
    )
    detail = f"{qualified}: {error.cause}\n{error}"
    return LogText(message, detail)
