"""`POST /webhooks/quickbooks`: verify, store, acknowledge. The worker does the rest.

Intuit wants a 200 within 3 s and holds back later deliveries until it gets one
(research/quickbooks.md §3), so a signed body is always acknowledged once it is stored:
as events, or quarantined when it cannot be understood. Unsigned bodies are never stored.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, jsonify, request

from qbsync import metrics
from qbsync.events import ChangeEvent
from qbsync.logs import about_events
from qbsync.services import current_services
from qbsync.store import StoreUnavailable
from qbsync.store.ledger import EventLedger
from qbsync.webhooks.parsing import WebhookPayloadError, parse
from qbsync.webhooks.signature import SignatureVerificationError, verify

blueprint = Blueprint("webhooks", __name__)
log = logging.getLogger(__name__)


@blueprint.post("/webhooks/quickbooks")
def quickbooks_webhook() -> Response:
    """Store the events of a signed Intuit notification (legacy or CloudEvents), answer 200.

    401: missing or wrong `intuit-signature` (nothing stored); 413: body over the limit;
    503: the database is unavailable (Intuit retries the same batch).
    """
    services = current_services()
    settings, ledger = services.settings, services.store.events
    limit = settings.max_body_bytes
    metrics.WEBHOOKS_RECEIVED.inc()
    if request.content_length is not None and request.content_length > limit:
        metrics.WEBHOOKS_REJECTED.labels("too_large").inc()
        abort(413, f"the body is larger than the {limit} bytes allowed")
    # The raw bytes: the signature covers exactly what Intuit sent (never request.json).
    body = request.get_data(cache=False)
    if len(body) > limit:
        metrics.WEBHOOKS_REJECTED.labels("too_large").inc()
        abort(413, f"the body is larger than the {limit} bytes allowed")
    try:
        verify(
            body, request.headers.get("intuit-signature"), settings.intuit_webhook_verifier_token
        )
    except SignatureVerificationError as error:
        log.warning("webhook rejected: %s", error, extra={"body_bytes": len(body)})
        metrics.WEBHOOKS_REJECTED.labels("signature").inc()
        abort(401, str(error))
    try:
        events, problem = parse(body), None
    except WebhookPayloadError as error:
        events, problem = error.events, error
    with about_events([event.event_key for event in events]):
        return _store(ledger, body, events, problem)


def _store(
    ledger: EventLedger, body: bytes, events: list[ChangeEvent], problem: WebhookPayloadError | None
) -> Response:
    try:
        stored = ledger.add(events)
        quarantine_id = ledger.quarantine(body, problem.reason) if problem else None
    except StoreUnavailable:
        metrics.WEBHOOKS_REJECTED.labels("store_unavailable").inc()
        raise  # the app answers 503: Intuit delivers the same batch again
    metrics.WEBHOOK_EVENTS.labels("stored").inc(stored)
    metrics.WEBHOOK_EVENTS.labels("duplicate").inc(len(events) - stored)
    if problem:
        metrics.WEBHOOKS_QUARANTINED.inc()
        log.warning(
            "webhook body quarantined: %s",
            problem.reason,
            extra={"quarantine_id": quarantine_id, "events": len(events), "stored": stored},
        )
    log.info(
        "webhook stored",
        extra={
            "events": len(events),
            "stored": stored,
            "duplicates": len(events) - stored,
            "realms": sorted({event.realm_id for event in events}),
        },
    )
    return jsonify(events=len(events), stored=stored, quarantined=quarantine_id)
