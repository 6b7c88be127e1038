"""Intuit's OAuth 2.0 endpoints: discovery, authorize (auto-consent), token, revoke.

Paths as in Intuit's discovery document (research §5): /connect/oauth2, /oauth2/v1/tokens/bearer,
/v2/oauth2/tokens/revoke. Client authentication: client_secret_basic or client_secret_post. The
discovery document itself is served at Intuit's two paths, naming this emulator's own endpoints:
intuit-oauth's `AuthClient` reads it in its constructor.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, jsonify, redirect, request

from qbsync_sandbox.emulators.quickbooks.emulator import emulator
from qbsync_sandbox.emulators.quickbooks.errors import OAuthError
from qbsync_sandbox.emulators.quickbooks.faultpoints import injected_failure
from qbsync_sandbox.emulators.quickbooks.tokens import ACCOUNTING_SCOPE, InvalidAccessToken

blueprint = Blueprint("qbo_oauth", __name__)


@blueprint.errorhandler(OAuthError)
def _oauth_error(error: OAuthError) -> tuple[Response, int]:
    response = jsonify(error.body())
    response.headers["Cache-Control"] = "no-store"
    return response, error.status


@blueprint.before_request
def _injected_faults() -> Response | None:
    return injected_failure("oauth")


@blueprint.get("/.well-known/openid_sandbox_configuration", strict_slashes=False)
@blueprint.get("/.well-known/openid_configuration", strict_slashes=False)
def discovery() -> Response:
    """The keys and values of Intuit's sandbox document (intuit/QuickBooks-V3-DotNET-SDK
    `…OAuth2PlatformClient.Test/Documents/discovery.json`), with this host's URLs."""
    base = request.host_url.rstrip("/")
    return jsonify(
        {
            "issuer": f"{base}/op/v1",
            "authorization_endpoint": f"{base}/connect/oauth2",
            "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
            "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
            "revocation_endpoint": f"{base}/v2/oauth2/tokens/revoke",
            "jwks_uri": f"{base}/op/v1/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "address", "phone"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": [
                "aud",
                "exp",
                "iat",
                "iss",
                "realmid",
                "sub",
                "email",
                "email_verified",
                "given_name",
                "family_name",
                "phone_number",
                "address",
            ],  # fmt: skip
        }
    )


@blueprint.get("/op/v1/jwks")
def jwks() -> Response:
    # The emulator issues no id_token (it grants the accounting scope only), so it signs nothing.
    return jsonify({"keys": []})


@blueprint.get("/v1/openid_connect/userinfo")
def userinfo() -> tuple[Response, int]:
    """User info needs the `openid` scope, which no grant of the emulator carries."""
    emu = emulator()
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    try:
        emu.tokens.realm_of(token)
    except InvalidAccessToken:
        return jsonify({"error": "invalid_token"}), 401
    return jsonify({"error": "insufficient_scope"}), 403


@blueprint.get("/connect/oauth2")
def authorize() -> Response | tuple[str, int, dict[str, str]]:
    """Auto-consent: redirect at once to redirect_uri with code, state and realmId (or an error).

    Bad client_id or redirect_uri get an error page, never a redirect (RFC 6749 §4.1.2.1).
    """
    emu = emulator()
    args = request.args
    client_id, redirect_uri = args.get("client_id", ""), args.get("redirect_uri", "")
    if not hmac.compare_digest(client_id, emu.client_id):
        return _page(400, "invalid_client: unknown client_id")
    if not _redirect_allowed(redirect_uri, emu.redirect_uris):
        return _page(400, f"invalid redirect_uri {redirect_uri!r}: not registered for this app")
    state = args.get("state")
    if args.get("response_type") != "code":
        return _back(redirect_uri, error="unsupported_response_type", state=state)
    scope = args.get("scope", "")
    if ACCOUNTING_SCOPE not in scope.split():
        return _back(redirect_uri, error="invalid_scope", state=state)
    if args.get("deny") == "1" or emu.consent.deny:
        return _back(redirect_uri, error="access_denied", state=state)
    realm_id = (
        args.get("realmId") or emu.consent.realm_id or next(iter(emu.state.realm_ids()), None)
    )
    if realm_id is None or not emu.state.has_company(realm_id):
        return _page(
            400, "no company to connect: create one first (qbsync-sandbox qbo serve --realm …)"
        )
    code = emu.tokens.issue_code(realm_id, redirect_uri, scope)
    return _back(redirect_uri, code=code, state=state, realmId=realm_id)


@blueprint.post("/oauth2/v1/tokens/bearer")
def token() -> Response:
    """Authorization-code and refresh-token grants."""
    emu = emulator()
    _authenticate_client()
    grant_type = request.form.get("grant_type", "")
    if grant_type == "authorization_code":
        code, redirect_uri = request.form.get("code"), request.form.get("redirect_uri")
        if not code or not redirect_uri:
            raise OAuthError(400, "invalid_request", "code and redirect_uri are required")
        grant, access_token = emu.tokens.exchange_code(code, redirect_uri)
    elif grant_type == "refresh_token":
        refresh_token = request.form.get("refresh_token")
        if not refresh_token:
            raise OAuthError(400, "invalid_request", "refresh_token is required")
        grant, access_token = emu.tokens.refresh(refresh_token)
    else:
        raise OAuthError(400, "unsupported_grant_type")
    include_hard = (
        request.headers.get("x-include-refresh-token-hard-expires-in", "").lower() == "true"
    )
    response = jsonify(
        emu.tokens.token_response(grant, access_token, include_hard_expiry=include_hard)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/v2/oauth2/tokens/revoke")
def revoke() -> Response:
    """Revoke a refresh or access token (JSON `{"token": ...}`); the company is disconnected."""
    _authenticate_client()
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("token"), str) or not body["token"]:
        raise OAuthError(400, "invalid_request", 'body must be JSON {"token": "..."}')
    emulator().tokens.revoke(body["token"])
    return Response(status=200)


def _authenticate_client() -> None:
    emu = emulator()
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError(401, "invalid_client", "malformed Basic credentials") from None
        client_id, _, client_secret = decoded.partition(":")
    else:
        client_id = request.form.get("client_id", "")
        client_secret = request.form.get("client_secret", "")
    valid_id = hmac.compare_digest(client_id, emu.client_id)
    valid_secret = hmac.compare_digest(client_secret, emu.client_secret)
    if not (valid_id and valid_secret):
        raise OAuthError(401, "invalid_client")


def _redirect_allowed(uri: str, registered: tuple[str, ...] | None) -> bool:
    if registered is not None:
        return uri in registered
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _back(redirect_uri: str, **params: str | None) -> Response:
    query = urlencode({key: value for key, value in params.items() if value is not None})
    separator = "&" if urlsplit(redirect_uri).query else "?"
    return redirect(f"{redirect_uri}{separator}{query}", code=302)


def _page(status: int, message: str) -> tuple[str, int, dict[str, str]]:
    return message + "\n", status, {"Content-Type": "text/plain; charset=utf-8"}
