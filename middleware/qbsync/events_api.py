"""Events as Salesforce acts on them: the Retry action of a failed QB_Sync_Log__c.

`POST /api/events/retry` is `qbsync replay` for one event: the sync log's Event_Key__c names it,
and a failed or dead event goes back to pending with its attempts reset. Called through the
QBSync_Middleware Named Credential, so it takes the same API key as the other /api calls.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, abort, jsonify, request

from qbsync.api_guard import require_api_key
from qbsync.services import current_services
from qbsync.store.ledger import EventLedger, StoredEvent
from qbsync.sync_log import EVENT_KEY_LENGTH, log_key

log = logging.getLogger(__name__)

blueprint = Blueprint("events", __name__)

RETRYABLE_STATES = ("failed", "dead")
RETRY_REASON = "retried from Salesforce"

# What `log_key` makes of a key longer than Event_Key__c holds: a prefix, '#', a SHA-256.
_SHORTENED_KEY = re.compile(r"(?P<prefix>.+)#[0-9a-f]{64}", re.DOTALL)


@blueprint.post("/api/events/retry")
@require_api_key
def retry_event():
    """Put the event behind a sync log back to pending: `{"eventKey": "<Event_Key__c>"}`.

    200 `{"retried": n}`; 400 for a bad body; 404 when the ledger has no such event; 409 (with
    the event's `state`) when it is not failed or dead, e.g. already done or waiting.
    """
    key = _event_key(request.get_json(silent=True))
    ledger = current_services().store.events
    events = _events_for_log_key(ledger, key)
    if not events:
        abort(
            404,
            f"no event with key {key!r} in the middleware's ledger "
            "(was the ledger reset, or is this sync log from another middleware?)",
        )
    retryable = [event.event_key for event in events if event.state in RETRYABLE_STATES]
    retried = ledger.requeue_keys(retryable, reason=RETRY_REASON) if retryable else 0
    if not retried:
        # Either it was never failed, or another retry or the worker got to it first.
        state = _current_state(ledger, events)
        return jsonify(
            error=f"the event {key!r} is {state}, not failed or dead: there is nothing to retry",
            status=409,
            state=state,
        ), 409
    log.info("event retried from Salesforce", extra={"event_key": key, "retried": retried})
    return jsonify(retried=retried)


def _event_key(body: object) -> str:
    if not isinstance(body, dict):
        abort(400, 'the body must be a JSON object: {"eventKey": "<QB_Sync_Log__c.Event_Key__c>"}')
    key = body.get("eventKey")
    if not isinstance(key, str) or not key.strip():
        abort(400, "eventKey must be a non-empty string: the sync log's Event_Key__c")
    if len(key) > EVENT_KEY_LENGTH:
        abort(400, f"eventKey is longer than Event_Key__c holds ({EVENT_KEY_LENGTH} characters)")
    return key


def _events_for_log_key(ledger: EventLedger, key: str) -> list[StoredEvent]:
    """The ledger events whose sync log carries `key` (see `qbsync.sync_log.log_key`)."""
    events = ledger.events_by_keys([key])
    if events:
        return events
    shortened = _SHORTENED_KEY.fullmatch(key)
    if shortened is None or len(key) != EVENT_KEY_LENGTH:
        return []
    candidates = ledger.events_by_key_prefix(shortened["prefix"])
    return [event for event in candidates if log_key(event.event_key) == key]


def _current_state(ledger: EventLedger, events: list[StoredEvent]) -> str:
    now = ledger.events_by_keys([event.event_key for event in events]) or events
    return ", ".join(sorted({event.state for event in now}))
