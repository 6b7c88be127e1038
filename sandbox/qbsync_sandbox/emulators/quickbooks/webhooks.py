"""Webhook bodies in Intuit's two formats, and their signature.

Legacy: `{"eventNotifications": [...]}` (research §1a). CloudEvents: a JSON array of events with
`specversion`, opaque `id`, `type` = `qbo.<entity lowercase>.<op>.v1` (research §1b).
Signature: base64(HMAC-SHA256(key=verifier token, msg=raw body)) in `intuit-signature` (§2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from qbsync_sandbox.emulators.quickbooks.clock import event_time
from qbsync_sandbox.emulators.quickbooks.state import Change

FORMATS = ("cloudevents", "legacy")
CLOUDEVENTS_CONTENT_TYPE = "application/cloudevents-batch+json; charset=utf-8"
LEGACY_CONTENT_TYPE = "application/json; charset=utf-8"
# CloudEvents op words. Intuit documents created/updated/merged; `deleted`, `void` and `emailed`
# are the words third-party fixtures say were taken from Intuit's subscription page (research
# §1b; some clients also see `voided`): UNCONFIRMED.
_CE_OPERATION = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Merge": "merged",
    "Void": "void",
    "Emailed": "emailed",
}


@dataclass(frozen=True)
class QueuedEvent:
    """A change waiting for delivery; its id stays the same on every retry or duplicate."""

    change: Change
    event_id: str


def new_event(change: Change) -> QueuedEvent:
    # Intuit's ids look like "<uuid>-Customer-123" in its data-objects page (masked there).
    return QueuedEvent(change, f"{uuid.uuid4()}-{change.entity}-{change.entity_id}")


def sign(body: bytes, verifier_token: str) -> str:
    """The `intuit-signature` of a body."""
    digest = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def event_source(client_id: str) -> str:
    """An opaque `source` per app, shaped like Intuit's "intuit.<base64>"."""
    return "intuit." + base64.b64encode(hashlib.sha256(client_id.encode()).digest()).decode()


def legacy_payload(events: Sequence[QueuedEvent]) -> dict[str, Any]:
    """One realm's events as a legacy notification (Intuit sends one realm per notification)."""
    realms = {event.change.realm_id for event in events}
    if len(realms) != 1:
        raise ValueError("a legacy notification carries exactly one realm")
    entities = []
    for event in events:
        item = {
            "name": event.change.entity,
            "id": event.change.entity_id,
            "operation": event.change.operation,
            "lastUpdated": event_time(event.change.occurred_at),
        }
        if event.change.deleted_id is not None:
            # Third-party DTOs carry `deletedId` on Merge; Intuit's Java sample does not (UNCONFIRMED).
            item["deletedId"] = event.change.deleted_id
        entities.append(item)
    return {
        "eventNotifications": [{"realmId": realms.pop(), "dataChangeEvent": {"entities": entities}}]
    }


def cloudevents_payload(events: Sequence[QueuedEvent], source: str) -> list[dict[str, Any]]:
    """Events as a CloudEvents batch; a batch may mix realms."""
    batch = []
    for event in events:
        change = event.change
        data: dict[str, Any] = {}
        if change.deleted_id is not None:
            data["deletedid"] = change.deleted_id  # key spelled as in Intuit's merged sample
        batch.append(
            {
                "specversion": "1.0",
                "id": event.event_id,
                "source": source,
                "type": f"qbo.{change.entity.lower()}.{_CE_OPERATION[change.operation]}.v1",
                "datacontenttype": "application/json",
                "time": event_time(change.occurred_at),
                "intuitentityid": change.entity_id,
                "intuitaccountid": change.realm_id,
                "data": data,
            }
        )
    return batch


def encode(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def delivery_headers(
    body: bytes, verifier_token: str, webhook_format: str, sent_at: datetime
) -> dict[str, str]:
    """Headers of one delivery attempt, as captured from Intuit (n8n issue #28750)."""
    cloudevents = webhook_format == "cloudevents"
    headers = {
        "Content-Type": CLOUDEVENTS_CONTENT_TYPE if cloudevents else LEGACY_CONTENT_TYPE,
        "intuit-signature": sign(body, verifier_token),
        "intuit-signature-algorithm": "HMAC-SHA256",
        "intuit-signature-id": str(uuid.uuid4()),
        "intuit-t-id": str(uuid.uuid4()),
        "intuit-created-time": event_time(sent_at),
        "User-Agent": "intuit_notification_server/1.0",
    }
    if cloudevents:
        headers["intuit-notification-schema-version"] = "2.0"
    return headers
