"""Connecting QuickBooks companies: the /api/* calls Salesforce makes, and Intuit's OAuth callback.

Salesforce calls /api/* through the QBSync_Middleware Named Credential (`qbsync.api_guard`
checks its key and body). The callback is opened by the admin's browser.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import Blueprint, abort, jsonify, render_template, request

from qbsync.api_guard import require_api_key
from qbsync.oauth_state import InvalidState
from qbsync.quickbooks.errors import QuickBooksError
from qbsync.quickbooks.tokens import TokenSet
from qbsync.salesforce.errors import SalesforceError
from qbsync.services import Services, current_services

log = logging.getLogger(__name__)

blueprint = Blueprint("connections", __name__, template_folder="templates")


@blueprint.post("/api/connections")
@require_api_key
def start_connection():
    """The Intuit consent URL for a new (or renewed) connection."""
    services = current_services()
    state, expires_at = services.states.issue()
    return jsonify(
        authorizationUrl=services.oauth.authorization_url(state),
        expiresAt=_iso(expires_at),
    ), 201


@blueprint.get("/api/connections")
@require_api_key
def list_connections():
    return jsonify(
        connections=[_connection_json(c) for c in current_services().vault.connections()]
    )


@blueprint.delete("/api/connections/<realm_id>")
@require_api_key
def disconnect(realm_id: str):
    """Revoke the company's tokens at Intuit, forget them, and mark the company Disconnected."""
    services = current_services()
    tokens = services.vault.get(realm_id)
    if tokens is None:
        abort(404, f"no QuickBooks company with realm id {realm_id} is connected")
    try:
        services.oauth.revoke(tokens.refresh_token)
    except QuickBooksError as error:
        # The tokens are forgotten either way; a token Intuit no longer knows is as good as revoked.
        log.warning("Intuit did not confirm the revocation for realm %s: %s", realm_id, error)
    services.vault.delete(realm_id)
    _write_company(services, {"Realm_Id__c": realm_id, "Status__c": "Disconnected"})
    services.store.config_signal.changed(realm_id)
    return jsonify(realmId=realm_id, status="Disconnected")


@blueprint.post("/api/config-changed")
@require_api_key
def config_changed():
    """Salesforce saved mappings: workers drop their cached configuration at once."""
    body = request.get_json(silent=True) or {}
    realm_id = body.get("realmId") if isinstance(body, dict) else None
    if realm_id is not None and not isinstance(realm_id, str):
        abort(400, "realmId must be a string")
    current_services().store.config_signal.changed(realm_id)
    return jsonify(status="accepted"), 202


@blueprint.get("/oauth/quickbooks/callback")
def oauth_callback():
    """Where Intuit sends the admin's browser after the consent page."""
    services = current_services()
    try:
        services.states.consume(request.args.get("state"))
    except InvalidState as error:
        return _page("This connection link is not valid", str(error), ok=False), 400
    if request.args.get("error"):
        reason = request.args.get("error")
        text = (
            "You declined access at Intuit. Nothing was stored."
            if reason == "access_denied"
            else f"Intuit reported '{reason}'. Nothing was stored."
        )
        return _page("QuickBooks was not connected", text, ok=False), 400
    code, realm_id = request.args.get("code"), request.args.get("realmId")
    if not code or not realm_id:
        return _page(
            "QuickBooks was not connected", "Intuit sent no code or realmId.", ok=False
        ), 400
    try:
        tokens = services.oauth.exchange_code(code, realm_id)
    except QuickBooksError as error:
        log.warning("code exchange failed for realm %s: %s", realm_id, error)
        return _page(
            "QuickBooks was not connected", f"Intuit refused the code: {error.message}", ok=False
        ), 502
    services.vault.save(tokens)
    try:
        company = services.quickbooks.company_info(realm_id)
        _write_company(services, _company_record(tokens, company))
    except (QuickBooksError, SalesforceError) as error:
        services.vault.delete(realm_id)  # nothing half-connected stays behind
        log.warning("connecting realm %s failed: %s", realm_id, error)
        return _page("QuickBooks was not connected", f"{error}", ok=False), 502
    services.store.config_signal.changed(realm_id)
    services.store.events.wake(realm_id)  # events held while the company needed a new consent
    name = company.get("CompanyName") or realm_id
    return _page(
        "QuickBooks connected",
        f"{name} (realm {realm_id}) is connected. You can close this window.",
        ok=True,
    )


# The two URLs an Intuit app must declare (Reconnect URL mandatory since January 2026, research
# quickbooks.md §5). Intuit sends the admin's browser there; neither request is authenticated, so
# neither changes anything: connecting starts in Salesforce (an /api call with the API key), and a
# disconnected company is found out at its next call, which Intuit refuses (the company then shows
# Reconnect Required).
_RECONNECT_TEXT = (
    "To reconnect {who}, open the QB Setup tab in Salesforce and choose Reconnect on its "
    "connection card. The sync resumes where it stopped: changes made meanwhile are caught up."
)
_DISCONNECT_TEXT = (
    "{who} is no longer connected to the QuickBooks sync: Intuit stops sending its changes. "
    "The Salesforce records stay as they are. To connect it again, open the QB Setup tab in "
    "Salesforce and choose Reconnect."
)


@blueprint.get("/quickbooks/reconnect")
def reconnect_page():
    """Intuit's Reconnect URL: where an admin is sent to renew a company's connection."""
    return _page("Reconnect QuickBooks", _RECONNECT_TEXT.format(who=_company_named()), ok=False)


@blueprint.get("/quickbooks/disconnect")
def disconnect_page():
    """Intuit's Disconnect URL: where Intuit sends the admin after disconnecting the app."""
    return _page("QuickBooks disconnected", _DISCONNECT_TEXT.format(who=_company_named()), ok=False)


def _company_named() -> str:
    """ "The company (realm N)" when Intuit sent a realmId of ours, else a generic name."""
    realm_id = request.args.get("realmId", "")
    # Only a realm this middleware knows is named: the page never echoes arbitrary input.
    if realm_id.isdigit() and current_services().vault.connection(realm_id) is not None:
        return f"the QuickBooks company (realm {realm_id})"
    return "the QuickBooks company"


def _company_record(tokens: TokenSet, company: dict) -> dict:
    return {
        "Realm_Id__c": tokens.realm_id,
        "Name": (company.get("CompanyName") or tokens.realm_id)[:80],
        "Status__c": "Connected",
        "Environment__c": tokens.environment,
        "Connected_At__c": _iso(datetime.now(UTC)),
        "Renewed_At__c": _iso(datetime.now(UTC)),
        "Refresh_Token_Expires_At__c": _iso(tokens.refresh_expires_at),
        "Refresh_Token_Hard_Expires_At__c": _iso(tokens.refresh_hard_expires_at),
        "Last_Error__c": None,
    }


def _write_company(services: Services, record: dict) -> None:
    (result,) = services.salesforce.upsert_collection("QB_Company__c", "Realm_Id__c", [record])
    if not result.success:
        raise SalesforceError(f"Salesforce refused the QB_Company__c record: {result.message}")


def _connection_json(connection) -> dict:
    return {
        "realmId": connection.realm_id,
        "environment": connection.environment,
        "status": connection.status,
        "connectedAt": _iso(connection.connected_at),
        "accessTokenExpiresAt": _iso(connection.access_expires_at),
        "refreshTokenExpiresAt": _iso(connection.refresh_expires_at),
        "refreshTokenHardExpiresAt": _iso(connection.refresh_hard_expires_at),
        "lastError": connection.last_error,
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


def _page(title: str, text: str, *, ok: bool) -> str:
    return render_template("oauth_result.html", title=title, text=text, ok=ok)
