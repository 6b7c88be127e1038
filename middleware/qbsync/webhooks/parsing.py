"""Webhook bodies → change events. Pure: bytes in, `ChangeEvent`s or a typed error out.

Two formats reach the same URL (research/quickbooks.md §1), told apart by shape, never by
Content-Type:
- legacy: `{"eventNotifications": [{"realmId", "dataChangeEvent": {"entities": [...]}}]}`;
- CloudEvents: a JSON array of events with `type` = `qbo.<entity>.<operation>.v1`,
  `intuitaccountid` (realm), `intuitentityid` and an optional `data` (`{}`, absent, or
  `deletedid`/`deletedId` for a merge). One array may hold several realms.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from typing import Any

from qbsync.catalog import load_catalog
from qbsync.events import ChangeEvent

# Operation words of both formats → canonical operation. CloudEvents say `created`, `void`,
# `emailed` (not "voided"); legacy says `Create`, `Void`, `Emailed` (research §1a, §1b).
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
    return ChangeEvent(
        realm_id=realm_id,
        entity=_entity(parts[1], where),
        entity_id=entity_id,
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
    """Lenient ISO 8601: `…657Z`, `…-0700`, nine fractional digits; no zone means UTC."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise UnparseablePayload(f"{what} is not a timestamp")
    try:
        moment = datetime.fromisoformat(value.strip())
        # Year 1 or 9999 with an offset falls outside datetime's range once moved to UTC.
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise UnparseablePayload(f"{what} {value[:40]!r} is not a timestamp") from None


def _entity(name: str, where: str) -> str:
    entity = _catalog().entity(name)
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
