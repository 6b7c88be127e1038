"""`POST /webhooks/quickbooks`: verify, store, acknowledge. The worker does the rest.

Intuit wants a 200 within 3 s and holds back later deliveries until it gets one
(research/quickbooks.md §3), so a signed body is always acknowledged once it is stored:
as events, or quarantined when it cannot be understood. Unsigned bodies are never stored.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, jsonify, request

from qbsync.api_guard import refused_calls
from qbsync.services import current_services
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
    if request.content_length is not None and request.content_length > limit:
        abort(413, f"the body is larger than the {limit} bytes allowed")
    # The raw bytes: the signature covers exactly what Intuit sent (never request.json).
    body = request.get_data(cache=False)
    if len(body) > limit:
        abort(413, f"the body is larger than the {limit} bytes allowed")
    try:
        verify(
            body, request.headers.get("intuit-signature"), settings.intuit_webhook_verifier_token
        )
    except SignatureVerificationError as error:
        log.warning("webhook rejected: %s", error, extra={"body_bytes": len(body)})
        abort(401, str(error))
    try:
        events, problem = parse(body), None
    except WebhookPayloadError as error:
        events, problem = error.events, error
    stored = ledger.add(events)
    quarantine_id = ledger.quarantine(body, problem.reason) if problem else None
    if problem:
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


@blueprint.get("/healthz")
def healthz() -> Response:
    """200 when the database answers, 503 otherwise; with the /api calls this process refused."""
    current_services().store.events.ping()
    return jsonify(status="ok", refusedApiCalls=refused_calls())
