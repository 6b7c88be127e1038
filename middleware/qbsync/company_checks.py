"""What QB Setup's health strip asks the middleware about a company: its backlog, and whether
QuickBooks answers for it now ("Test connection").

Both are /api/* calls through the QBSync_Middleware Named Credential (`qbsync.api_guard`). The
backlog comes from the ledger in one grouped query (`EventLedger.backlog`); the test is one
CompanyInfo read with the company's stored tokens, answered in words an admin can act on.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from flask import Blueprint, abort, jsonify, request

from qbsync.api_guard import require_api_key
from qbsync.quickbooks.errors import (
    QuickBooksAuthError,
    QuickBooksError,
    QuickBooksFault,
    QuickBooksThrottled,
    QuickBooksTransient,
)
from qbsync.quickbooks.tokens import RECONNECT_REQUIRED, TokenVaultError
from qbsync.services import current_services

log = logging.getLogger(__name__)

blueprint = Blueprint("company_checks", __name__)

# As connections.py: Intuit company ids, at most what Realm_Id__c holds.
_REALM_ID = re.compile(r"^[0-9A-Za-z_-]{1,32}$")

RECONNECT = (
    "QuickBooks no longer accepts this company's authorization (it was disconnected in "
    "QuickBooks, or the authorization expired). Click Reconnect and sign in to QuickBooks again."
)


def _realm_id(value: object) -> str:
    if not isinstance(value, str) or not _REALM_ID.match(value):
        abort(400, "realmId must be a QuickBooks realm id: 1 to 32 letters, digits, - or _")
    return value


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@blueprint.get("/api/backlog")
@require_api_key
def backlog():
    """Events waiting per realm (pending, claimed, or failed with a retry due) and the earliest
    receipt among them: `{"realms": [{"realmId", "waiting", "oldestReceivedAt"}]}`. With
    `?realmId=`, that realm alone (waiting 0 when it has none)."""
    wanted = request.args.get("realmId")
    if wanted is not None:
        wanted = _realm_id(wanted)
    realms = [
        {"realmId": realm, "waiting": count, "oldestReceivedAt": _iso(oldest)}
        for realm, count, oldest in current_services().store.events.backlog()
        if wanted is None or realm == wanted
    ]
    if wanted is not None and not realms:
        realms = [{"realmId": wanted, "waiting": 0, "oldestReceivedAt": None}]
    return jsonify(realms=realms)


@blueprint.post("/api/connections/<realm_id>/test")
@require_api_key
def test_connection(realm_id: str):
    """Read the company's CompanyInfo from QuickBooks with its stored tokens.

    200 `{"ok": true, "companyName", "country", "checkedAt"}` when QuickBooks answered;
    200 `{"ok": false, "message", "checkedAt"}` when it did not, the message saying what to do
    (the test itself worked: its answer is the outcome); 404 when no such company is connected.
    """
    services = current_services()
    realm_id = _realm_id(realm_id)
    connection = services.vault.connection(realm_id)
    if connection is None:
        abort(404, f"no QuickBooks company with realm id {realm_id} is connected")
    checked_at = _iso(datetime.now(UTC))
    if connection.status == RECONNECT_REQUIRED:
        return jsonify(ok=False, message=RECONNECT, checkedAt=checked_at)
    try:
        info = services.quickbooks.company_info(realm_id)
    except (QuickBooksError, TokenVaultError) as error:
        log.info("connection test of realm %s failed: %s", realm_id, error)
        return jsonify(ok=False, message=_plain(error), checkedAt=checked_at)
    return jsonify(
        ok=True,
        companyName=info.get("CompanyName"),
        country=info.get("Country"),
        checkedAt=checked_at,
    )


def _plain(error: Exception) -> str:
    """What the admin reads: what happened and what to do, Intuit's own words kept for a fault."""
    if isinstance(error, TokenVaultError):
        return (
            "The middleware cannot read this company's stored authorization (its encryption key "
            "changed). Click Reconnect to authorize the company again."
        )
    if isinstance(error, QuickBooksAuthError):
        return RECONNECT
    if isinstance(error, QuickBooksThrottled):
        return (
            "QuickBooks is limiting requests for this company right now (too many in a minute). "
            "Sync continues on its own; test again in a minute."
        )
    if isinstance(error, QuickBooksTransient):
        return (
            "QuickBooks could not be reached or had a temporary error. Sync retries on its own; "
            "test again in a few minutes."
        )
    if isinstance(error, QuickBooksFault):
        return f"QuickBooks refused the request: {error.message}"
    return f"QuickBooks answered with an error: {error.message}"
