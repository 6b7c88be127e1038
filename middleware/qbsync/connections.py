"""Connecting QuickBooks companies: the /api/* calls Salesforce makes, and Intuit's OAuth callback.

Salesforce calls /api/* through the QBSync_Middleware Named Credential (`qbsync.api_guard`
checks its key and body). The callback is opened by the admin's browser.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, g, jsonify, render_template, request

from qbsync.api_guard import require_api_key
from qbsync.config import web_origin
from qbsync.oauth_state import InvalidState
from qbsync.quickbooks.errors import QuickBooksAuthError, QuickBooksError
from qbsync.quickbooks.tokens import CONNECTED as CONNECTED_STATUS
from qbsync.quickbooks.tokens import Connection, TokenSet, TokenVaultError
from qbsync.revocations import Revoker
from qbsync.salesforce.errors import SalesforceError
from qbsync.services import Services, current_services
from qbsync.store.oauth_states import ConnectRequest
from qbsync.sync_config import soql_literal

log = logging.getLogger(__name__)

blueprint = Blueprint("connections", __name__, template_folder="templates")

# Intuit company ids are digits; the package's Realm_Id__c allows this much (QBMiddlewareClient).
_REALM_ID = re.compile(r"^[0-9A-Za-z_-]{1,32}$")
# The messages the callback page posts to the connection card (qbConnectionCard.js).
CONNECTED = "qbsync:connected"
FAILED = "qbsync:connect-failed"
# QB_Company__c.Name is the standard Name field: 80 characters.
_NAME_LENGTH = 80


@blueprint.post("/api/connections")
@require_api_key
def start_connection():
    """The Intuit consent URL for a new connection, or for a Reconnect of `realmId`.

    Body (optional JSON object): `realmId`, the company a Reconnect renews (the callback then
    accepts no other), and `origin`, the Salesforce Lightning origin of the page that asks: the
    callback page tells that origin, and only that one, how the connect ended. It must be listed
    in QBSYNC_SALESFORCE_ORIGINS.
    """
    services = current_services()
    body = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(body, dict):
        abort(400, "the body must be a JSON object with optional realmId and origin")
    realm_id, origin = body.get("realmId"), body.get("origin")
    if realm_id is not None and not (isinstance(realm_id, str) and _REALM_ID.match(realm_id)):
        abort(400, "realmId must be a QuickBooks realm id: 1 to 32 letters, digits, - or _")
    if origin is not None:
        normalized = web_origin(origin) if isinstance(origin, str) else None
        if normalized is None or normalized not in services.settings.salesforce_origins:
            abort(
                400,
                f"origin {str(origin)[:200]!r} is not allowed to connect: add the org's Lightning "
                "origin (https://MyDomain.lightning.force.com) to QBSYNC_SALESFORCE_ORIGINS",
            )
        origin = normalized
    state, expires_at = services.states.issue(realm_id=realm_id, origin=origin)
    return jsonify(
        authorizationUrl=services.oauth.authorization_url(state),
        expiresAt=_iso(expires_at),
        realmId=realm_id,
        # Where the callback page's message comes from: the card accepts no other origin.
        callbackOrigin=_origin_of(services.settings.intuit_redirect_uri),
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
    """Revoke the company's tokens at Intuit, mark it Disconnected in Salesforce, forget them.

    In that order: a revocation Intuit does not confirm is retried by the worker (the tokens are
    kept for it); a Salesforce failure answers 502 and keeps the company's row, unusable, so
    Disconnect can be clicked again; the tokens go only once Salesforce shows Disconnected.
    """
    services = current_services()
    if not _REALM_ID.match(realm_id):
        abort(400, "realmId must be a QuickBooks realm id: 1 to 32 letters, digits, - or _")
    if services.vault.connection(realm_id) is None:
        abort(404, f"no QuickBooks company with realm id {realm_id} is connected")
    try:
        tokens = services.vault.get(realm_id)
    except TokenVaultError as error:
        # No configured key opens them: nothing can be revoked from here, the rest still holds.
        log.error("disconnecting realm %s: %s", realm_id, error)
        tokens = None
    revoked = tokens is not None and Revoker(services).revoke(realm_id, tokens.refresh_token)
    services.vault.mark_reconnect_required(
        realm_id, "Disconnected: the tokens were revoked at Intuit"
    )
    services.store.config_signal.changed(realm_id)
    try:
        _write_company(services, _disconnected_record(realm_id))
    except SalesforceError as error:
        log.warning("disconnecting realm %s: Salesforce was not updated: %s", realm_id, error)
        abort(
            502,
            f"QuickBooks access of realm {realm_id} was revoked, but Salesforce was not updated "
            f"({error}). Click Disconnect again to finish.",
        )
    services.vault.delete(realm_id)
    return jsonify(
        realmId=realm_id,
        status="Disconnected",
        # False: Intuit did not answer; the worker keeps trying to revoke the tokens.
        revoked=revoked,
    )


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
    """Where Intuit sends the admin's browser after the consent page.

    All or nothing: the new tokens are verified (CompanyInfo of the realm Intuit named, with the
    new access token) and the company recorded in Salesforce before the stored tokens are
    touched. On any failure the company's existing connection stays as it was and the new
    tokens are revoked. The page tells the window that started the flow how it ended.
    """
    services = current_services()
    try:
        connect = services.states.consume(request.args.get("state"))
    except InvalidState as error:
        return _page(Outcome(400, "This connection link is not valid", str(error)), origin=None)
    return _page(_connect(services, connect), origin=connect.origin)


@dataclass(frozen=True)
class Outcome:
    """How a callback ended: the page's status, heading and text, and the card's message."""

    status: int
    title: str
    text: str
    realm_id: str | None = None
    company_name: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    def message(self) -> dict:
        """What the callback page posts to the card (`qbConnectionCard`)."""
        if self.ok:
            return {"type": CONNECTED, "realmId": self.realm_id, "companyName": self.company_name}
        return {"type": FAILED, "realmId": self.realm_id, "message": f"{self.title}: {self.text}"}


def _connect(services: Services, connect: ConnectRequest) -> Outcome:
    args = request.args
    not_connected = "QuickBooks was not connected"
    if args.get("error"):
        reason = args.get("error")
        text = (
            "You declined access at Intuit. Nothing was changed."
            if reason == "access_denied"
            else f"Intuit reported '{reason[:100]}'. Nothing was changed."
        )
        return Outcome(400, not_connected, text, connect.realm_id)
    code, realm_id = args.get("code"), args.get("realmId")
    if not code or not realm_id:
        return Outcome(400, not_connected, "Intuit sent no code or realmId.", connect.realm_id)
    if not _REALM_ID.match(realm_id):
        return Outcome(400, not_connected, "Intuit sent a realmId that is not one.")
    if connect.realm_id is not None and realm_id != connect.realm_id:
        return Outcome(
            409,
            not_connected,
            f"You were reconnecting the company with realm {connect.realm_id}, but chose the "
            f"company with realm {realm_id} at Intuit. Nothing was changed: click Reconnect "
            "again and choose the same company.",
            connect.realm_id,
        )
    existing = services.vault.connection(realm_id)
    kept = (
        "The company's existing connection was left as it was."
        if existing is not None
        else "Nothing was stored."
    )
    unavailable = _unavailable(services, realm_id, existing)
    if unavailable is not None:
        log.warning("connecting realm %s waits: %s", realm_id, unavailable)
        return Outcome(
            503, not_connected, f"{unavailable} Nothing was changed: try again later.", realm_id
        )
    try:
        tokens = services.oauth.exchange_code(code, realm_id)
    except QuickBooksError as error:
        log.warning("code exchange failed for realm %s: %s", realm_id, error)
        return Outcome(502, not_connected, f"Intuit refused the code: {error.message}. {kept}")
    try:
        # Intuit's redirect names the realm; only the new token's own company answers for it.
        company = services.quickbooks.company_info(realm_id, access_token=tokens.access_token)
    except QuickBooksError as error:
        log.warning("the new tokens of realm %s were not verified: %s", realm_id, error)
        Revoker(services).revoke(realm_id, tokens.refresh_token)
        return Outcome(
            502,
            not_connected,
            f"QuickBooks did not confirm the new authorization for realm {realm_id}: "
            f"{error.message}. {kept}",
            realm_id,
        )
    try:
        _write_company(services, _company_record(tokens, company))
    except SalesforceError as error:
        log.warning("connecting realm %s: Salesforce was not updated: %s", realm_id, error)
        Revoker(services).revoke(realm_id, tokens.refresh_token)
        return Outcome(
            502,
            not_connected,
            f"Salesforce did not record the connection: {error}. {kept}",
            realm_id,
        )
    services.vault.save(tokens)
    services.store.config_signal.changed(realm_id)
    services.store.events.wake(realm_id)  # events held while the company needed a new consent
    name = company.get("CompanyName") or realm_id
    return Outcome(
        200,
        "QuickBooks connected",
        f"{name} (realm {realm_id}) is connected. You can close this window.",
        realm_id,
        name,
    )


def _unavailable(services: Services, realm_id: str, existing: Connection | None) -> str | None:
    """Why the connect cannot finish now, found before Intuit's code is spent; None: go on.

    Exchanging the code may end the company's previous authorization at Intuit (the QuickBooks
    emulator models a new consent so; Intuit's documentation does not say either way), so a
    connect that would fail for an outage must not begin: Salesforce has to answer, and for a
    company connected here QuickBooks too, with the tokens that work today. An authorization
    QuickBooks already refuses is no reason to wait: a Reconnect is what repairs it.
    """
    try:
        # The realm id matched _REALM_ID and is escaped besides.
        services.salesforce.query_all(
            f"SELECT Id FROM QB_Company__c WHERE Realm_Id__c = '{soql_literal(realm_id)}'"  # noqa: S608
        )
    except SalesforceError as error:
        return f"Salesforce is not answering ({error})."
    if existing is None or existing.status != CONNECTED_STATUS:
        return None
    try:
        services.quickbooks.company_info(realm_id)
    except (QuickBooksAuthError, TokenVaultError):
        return None  # the stored authorization is lost already: the Reconnect repairs it
    except QuickBooksError as error:
        return f"QuickBooks is not answering ({error.message})."
    return None


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
    return _notice("Reconnect QuickBooks", _RECONNECT_TEXT.format(who=_company_named()))


@blueprint.get("/quickbooks/disconnect")
def disconnect_page():
    """Intuit's Disconnect URL: where Intuit sends the admin after disconnecting the app."""
    return _notice("QuickBooks disconnected", _DISCONNECT_TEXT.format(who=_company_named()))


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
        "Name": _record_name(company.get("CompanyName") or tokens.realm_id),
        "Status__c": "Connected",
        "Environment__c": tokens.environment,
        "Connected_At__c": _iso(datetime.now(UTC)),
        "Renewed_At__c": _iso(datetime.now(UTC)),
        "Refresh_Token_Expires_At__c": _iso(tokens.refresh_expires_at),
        "Refresh_Token_Hard_Expires_At__c": _iso(tokens.refresh_hard_expires_at),
        "Last_Error__c": None,
    }


def _record_name(name: str) -> str:
    """The company name as QB_Company__c.Name holds it (80 characters): a longer name ends in an
    ellipsis, so the card shows that it was shortened instead of cutting it silently."""
    return name if len(name) <= _NAME_LENGTH else name[: _NAME_LENGTH - 1] + "\u2026"


def _disconnected_record(realm_id: str) -> dict:
    """A disconnected company keeps no token dates: the tokens they described are revoked, and the
    card would otherwise show a refresh-token expiry for a company that has none."""
    return {
        "Realm_Id__c": realm_id,
        "Status__c": "Disconnected",
        "Refresh_Token_Expires_At__c": None,
        "Refresh_Token_Hard_Expires_At__c": None,
        "Renewed_At__c": None,
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


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat(timespec="seconds")


def _page(outcome: Outcome, *, origin: str | None) -> tuple[str, int]:
    page = render_template(
        "oauth_result.html",
        title=outcome.title,
        text=outcome.text,
        ok=outcome.ok,
        message=outcome.message(),
        origin=origin,
    )
    return page, outcome.status


def _notice(title: str, text: str) -> str:
    """A page that informs and changes nothing (Intuit's Reconnect and Disconnect URLs)."""
    return render_template("oauth_result.html", title=title, text=text, ok=False, origin=None)


# The pages a browser opens; each gets the locked-down headers below.
_BROWSER_PAGES = frozenset(
    {"connections.oauth_callback", "connections.reconnect_page", "connections.disconnect_page"}
)


@blueprint.before_app_request
def _callback_nonce() -> None:
    if request.endpoint in _BROWSER_PAGES:
        g.csp_nonce = secrets.token_urlsafe(18)


@blueprint.after_app_request
def _callback_headers(response: Response) -> Response:
    """The callback page (whatever ended it, a database outage too) is never framed, cached or
    given a script or style it did not carry itself; its URL (code, state) is not passed on."""
    if request.endpoint in _BROWSER_PAGES:
        nonce = g.get("csp_nonce", "")
        response.headers["Content-Security-Policy"] = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
    return response
