"""Webhook bodies → change events. Pure: bytes in, `ChangeEvent`s or a typed error out.

Two formats reach the same URL (research/quickbooks.md §1), told apart by shape, never by
Content-Type:
- legacy: `{"eventNotifications": [{"realmId", "dataChangeEvent": {"entities": [...]}}]}`;
- CloudEvents: a JSON array of events with `type` = `qbo.<entity>.<operation>.v1`,
  `intuitaccountid` (realm), `intuitentityid` and an optional `data` (`{}`, absent,
  `deletedid`/`deletedId` for a merge, `alternative_ids` for a payroll employee). One array
  may hold several realms.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from typing import Any

from qbsync.catalog import load_catalog
from qbsync.events import ChangeEvent

# Operation words of both formats → canonical operation. Legacy says `Create`, `Void`, `Emailed`
# (research §1a); CloudEvents say `created`, `emailed`, and `void` or `voided`: Intuit does not
# document the word and third-party clients use both (research, "Added after a review").
OPERATION_WORDS: dict[str, str] = {
    "create": "Create",
    "created": "Create",
    "update": "Update",
    "updated": "Update",
    "delete": "Delete",
    "deleted": "Delete",
    "merge": "Merge",
    "merged": "Merge",
    "void": "Void",
    "voided": "Void",
    "emailed": "Emailed",
}

CLOUDEVENTS_TYPE_VERSION = "v1"
_MAX_REASONS = 10

_catalog = cache(load_catalog)


class WebhookPayloadError(Exception):
    """A signed body that cannot be stored entirely as events.

    `reason` says what is wrong; `events` holds the events of the same body that were fine,
    which are still stored (the body itself is quarantined).
    """

    def __init__(self, reason: str, events: list[ChangeEvent] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.events = events or []


class UnparseablePayload(WebhookPayloadError):
    """The body, or an event in it, is not a QuickBooks notification of a known shape."""


class UnsupportedEvent(WebhookPayloadError):
    """A well-formed event names an entity or operation this middleware does not know."""


# One event of a body: the event, or what is wrong with it.
Outcome = ChangeEvent | WebhookPayloadError


def parse(body: bytes) -> list[ChangeEvent]:
    """Turn a webhook body (either format) into change events, in body order.

    Raises `UnparseablePayload` or `UnsupportedEvent`; when only some events of the body are
    wrong, the error carries the good ones in `events`.
    """
    document = _json(body)
    if isinstance(document, list):
        outcomes = _cloudevents(document)
    elif isinstance(document, dict) and "eventNotifications" in document:
        outcomes = _legacy(document["eventNotifications"])
    elif isinstance(document, dict) and "specversion" in document:
        # A single structured-mode CloudEvent (`application/cloudevents+json`).
        outcomes = _cloudevents([document])
    else:
        raise UnparseablePayload(
            "the body is neither a legacy eventNotifications object nor a CloudEvents array"
        )
    events: list[ChangeEvent] = []
    problems: list[WebhookPayloadError] = []
    for outcome in outcomes:
        if isinstance(outcome, WebhookPayloadError):
            problems.append(outcome)
        else:
            events.append(outcome)
    if not problems:
        return events
    reason = "; ".join(problem.reason for problem in problems[:_MAX_REASONS])
    if len(problems) > _MAX_REASONS:
        reason += f"; and {len(problems) - _MAX_REASONS} more"
    if any(isinstance(problem, UnparseablePayload) for problem in problems):
        raise UnparseablePayload(reason, events)
    raise UnsupportedEvent(reason, events)


def _json(body: bytes) -> Any:
    if not body.strip():
        raise UnparseablePayload("the body is empty")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise UnparseablePayload(f"the body is not JSON ({error.__class__.__name__})") from None


# --- CloudEvents ---------------------------------------------------------------------------


def _cloudevents(items: list[Any]) -> Iterator[Outcome]:
    for index, item in enumerate(items, start=1):
        yield _attempt(_cloud_event, item, f"event {index}")


def _cloud_event(item: Any, where: str) -> ChangeEvent:
    if not isinstance(item, dict):
        raise UnparseablePayload(f"{where} is not a JSON object")
    event_id = _text(item.get("id"), f"{where}: id", MAX_EVENT_ID_LENGTH)
    where = f"{where} (id {event_id})"
    event_type = _text(item.get("type"), f"{where}: type")
    realm_id = _text(item.get("intuitaccountid"), f"{where}: intuitaccountid")
    entity_id = _text(item.get("intuitentityid"), f"{where}: intuitentityid")
    occurred_at = _timestamp(item.get("time"), f"{where}: time")
    data = item.get("data")
    if data is None:
        data = {}  # "No data object is present" in Intuit's own sample (research §1b)
    if not isinstance(data, dict):
        raise UnparseablePayload(f"{where}: data is not a JSON object")
    parts = event_type.split(".")
    if len(parts) != 4 or parts[0] != "qbo" or not parts[3].startswith("v"):
        raise UnparseablePayload(
            f"{where}: type {event_type[:80]!r} is not qbo.<entity>.<operation>.v1"
        )
    if parts[3] != CLOUDEVENTS_TYPE_VERSION:
        raise UnsupportedEvent(f"{where}: type version {parts[3][:20]!r} is not supported")
    entity = _entity(parts[1], where)
    return ChangeEvent(
        realm_id=realm_id,
        entity=entity,
        entity_id=_accounting_id(entity_id, data, where),
        operation=_operation(parts[2], where),
        occurred_at=occurred_at,
        event_key=f"ce:{event_id}",
        deleted_id=_deleted_id(data, where),
        source="cloudevents",
    )


# --- legacy --------------------------------------------------------------------------------


def _legacy(notifications: Any) -> Iterator[Outcome]:
    if not isinstance(notifications, list):
        raise UnparseablePayload("eventNotifications is not a JSON array")
    for index, notification in enumerate(notifications, start=1):
        where = f"notification {index}"
        try:
            realm_id, entities = _legacy_notification(notification, where)
        except WebhookPayloadError as problem:
            yield problem
            continue
        for number, entity in enumerate(entities, start=1):
            yield _attempt(_legacy_entity, entity, realm_id, f"{where} entity {number}")


def _legacy_notification(notification: Any, where: str) -> tuple[str, list[Any]]:
    if not isinstance(notification, dict):
        raise UnparseablePayload(f"{where} is not a JSON object")
    realm_id = _text(notification.get("realmId"), f"{where}: realmId")
    change = notification.get("dataChangeEvent")
    entities = change.get("entities") if isinstance(change, dict) else None
    if not isinstance(entities, list):
        raise UnparseablePayload(f"{where}: dataChangeEvent.entities is not a JSON array")
    return realm_id, entities


def _legacy_entity(item: Any, realm_id: str, where: str) -> ChangeEvent:
    if not isinstance(item, dict):
        raise UnparseablePayload(f"{where} is not a JSON object")
    name = _text(item.get("name"), f"{where}: name")
    entity_id = _text(item.get("id"), f"{where}: id")
    word = _text(item.get("operation"), f"{where}: operation")
    raw_time = item.get("lastUpdated")
    occurred_at = _timestamp(raw_time, f"{where}: lastUpdated")
    entity = _entity(name, where)
    operation = _operation(word, where)
    return ChangeEvent(
        realm_id=realm_id,
        entity=entity,
        entity_id=entity_id,
        operation=operation,
        occurred_at=occurred_at,
        # Legacy events have no id: Intuit's retry repeats all of these (research §3).
        event_key=f"legacy:{realm_id}:{entity}:{entity_id}:{operation}:{raw_time or ''}",
        deleted_id=_deleted_id(item, where),
        source="legacy",
    )


# --- fields --------------------------------------------------------------------------------


def _attempt(read: Callable[..., ChangeEvent], *args: Any) -> Outcome:
    try:
        return read(*args)
    except WebhookPayloadError as problem:
        return problem


# Longest ids the ledger stores (its columns are sized for them): QuickBooks ids and realm ids
# are short numbers; CloudEvents ids are opaque but UUID-like.
MAX_ID_LENGTH = 64
MAX_EVENT_ID_LENGTH = 200


def _text(value: Any, what: str, max_length: int = MAX_ID_LENGTH) -> str:
    """An id-like value: a non-empty string, or a number (some senders write ids unquoted)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise UnparseablePayload(f"{what} is missing or not text")
    text = str(value).strip()
    if not text:
        raise UnparseablePayload(f"{what} is empty")
    if len(text) > max_length:
        raise UnparseablePayload(f"{what} is longer than {max_length} characters")
    if not text.isprintable():
        # Ids are digits or UUID-like; a control character (PostgreSQL refuses NUL in text)
        # would otherwise reach the ledger and the quarantine reason.
        raise UnparseablePayload(f"{what} contains control characters")
    return text


def _timestamp(value: Any, what: str) -> datetime | None:
    """Lenient ISO 8601 (`…657Z`, `…-0700`, nine fractional digits; no zone means UTC), or
    milliseconds since the epoch, which Intuit's 2025 webhooks webinar Q&A says legacy
    `lastUpdated` can be (SampleApp-Webhooks-Java-Cloudevents,
    `webinar-qa/2025-02-05-webhooks-webinar.md`)."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return _epoch_millis(value, what)
    if not isinstance(value, str):
        raise UnparseablePayload(f"{what} is not a timestamp")
    if value.strip().isdigit():
        return _epoch_millis(int(value), what)
    try:
        moment = datetime.fromisoformat(value.strip())
        # Year 1 or 9999 with an offset falls outside datetime's range once moved to UTC.
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise UnparseablePayload(f"{what} {value[:40]!r} is not a timestamp") from None


# Epoch milliseconds before 2000 are seconds (or junk) misread: QuickBooks Online is younger.
_EARLIEST_EPOCH_MILLIS = 946_684_800_000


def _epoch_millis(value: int, what: str) -> datetime:
    try:
        if value < _EARLIEST_EPOCH_MILLIS:
            raise ValueError(value)
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise UnparseablePayload(f"{what} {value} is not a time in epoch milliseconds") from None


def _accounting_id(entity_id: str, data: dict[str, Any], where: str) -> str:
    """The Accounting API id of the record an event is about.

    Intuit's Employee sample (developer.intuit.com, webhooks "Understanding the data object",
    research "Added after a review") carries the payroll id in `intuitentityid`
    (`"000000011"`) and the QuickBooks record in `data.alternative_ids`:
    `[{"id": "<masked>:400000011", "namespace": "Intuit.<masked>"}]`. UNCONFIRMED: that the
    Accounting id is the part after the last `:` (Intuit masks the rest and names neither
    part); a payroll id would find nothing and look like a delete, so the alternative wins.
    """
    alternatives = data.get("alternative_ids")
    if alternatives is None:
        return entity_id
    if not isinstance(alternatives, list):
        raise UnparseablePayload(f"{where}: data.alternative_ids is not a JSON array")
    for number, alternative in enumerate(alternatives, start=1):
        if not isinstance(alternative, dict):
            raise UnparseablePayload(
                f"{where}: data.alternative_ids item {number} is not an object"
            )
        raw = _text(alternative.get("id"), f"{where}: data.alternative_ids item {number} id", 200)
        accounting_id = raw.rpartition(":")[2].strip()
        if not accounting_id:
            raise UnparseablePayload(
                f"{where}: data.alternative_ids item {number} id {raw[:80]!r} names no record"
            )
        return _text(accounting_id, f"{where}: data.alternative_ids item {number} id")
    return entity_id


# Webhook names that are not the Accounting API's: Intuit's webhooks page lists `Currency`, the
# v3 entity is `CompanyCurrency` (catalog sources).
_WEBHOOK_ALIASES = {"currency": "CompanyCurrency"}


def _entity(name: str, where: str) -> str:
    entity = _catalog().entity(_WEBHOOK_ALIASES.get(name.strip().lower(), name))
    if entity is None:
        raise UnsupportedEvent(f"{where}: unknown entity {name[:80]!r}")
    return entity.name


def _operation(word: str, where: str) -> str:
    operation = OPERATION_WORDS.get(word.lower())
    if operation is None:
        raise UnsupportedEvent(f"{where}: unknown operation {word[:40]!r}")
    return operation


def _deleted_id(data: dict[str, Any], where: str) -> str | None:
    # Intuit's documentation writes `deletedid`, other samples `deletedId` (research §1b, §7).
    for key, value in data.items():
        if key.lower() == "deletedid" and value not in (None, ""):
            return _text(value, f"{where}: {key}")
    return None
