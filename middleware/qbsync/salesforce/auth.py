"""Getting a Salesforce access token ourselves, from any https login URL.

simple-salesforce's own login always posts to `https://{domain}.salesforce.com`, so it cannot
reach a My Domain with another suffix or a local emulator (DESIGN.md, Pitfalls). We post to
`<SALESFORCE_LOGIN_URL>/services/oauth2/token` and hand the result to
`Salesforce(instance_url=…, session_id=…)`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import jwt
import requests

from qbsync.config import Settings
from qbsync.salesforce.errors import SalesforceAuthError, SalesforceError, error_class

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Salesforce accepts assertions valid for at most 3 minutes (simple-salesforce uses the same).
ASSERTION_LIFETIME_SECONDS = 180


@dataclass(frozen=True)
class SalesforceLogin:
    """Result of a login. The token is left out of `repr`, so it never reaches a log."""

    instance_url: str
    access_token: str = field(repr=False)
    # The identity URL `id` of the token response ends with the user's id (OAuth 2.0 token
    # response, Salesforce Help "OAuth Endpoints"); None when the response has none.
    user_id: str | None = None


def login(settings: Settings, session: requests.Session | None = None) -> SalesforceLogin:
    """Log in with the flow the settings configure: JWT bearer, else client credentials."""
    session = session or requests.Session()
    if settings.salesforce_auth_flow == "jwt":
        return jwt_bearer_login(settings, session)
    return client_credentials_login(settings, session)


def jwt_assertion(settings: Settings, private_key: str, now: float | None = None) -> str:
    """The signed RS256 assertion of the OAuth 2.0 JWT bearer flow."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": settings.salesforce_client_id,
        "sub": settings.salesforce_username,
        # The audience is the login URL itself (login, test, a My Domain, an emulator).
        "aud": settings.salesforce_login_url.rstrip("/"),
        "exp": issued + ASSERTION_LIFETIME_SECONDS,
    }
    try:
        return jwt.encode(claims, private_key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError):
        raise SalesforceAuthError(
            "SALESFORCE_PRIVATE_KEY_FILE does not hold a usable RSA private key (PEM)"
        ) from None


def jwt_bearer_login(settings: Settings, session: requests.Session) -> SalesforceLogin:
    """OAuth 2.0 JWT bearer flow with the connected app's certificate key."""
    try:
        with open(settings.salesforce_private_key_file, encoding="utf-8") as key_file:
            private_key = key_file.read()
    except OSError as exc:
        raise SalesforceAuthError(
            f"SALESFORCE_PRIVATE_KEY_FILE {settings.salesforce_private_key_file!r} "
            f"cannot be read: {exc.strerror}"
        ) from None
    assertion = jwt_assertion(settings, private_key)
    return _token_request(
        settings, session, {"grant_type": JWT_BEARER_GRANT, "assertion": assertion}
    )


def client_credentials_login(settings: Settings, session: requests.Session) -> SalesforceLogin:
    """OAuth 2.0 client credentials flow (the connected app's run-as user)."""
    return _token_request(
        settings,
        session,
        {
            "grant_type": "client_credentials",
            "client_id": settings.salesforce_client_id,
            "client_secret": settings.salesforce_client_secret,
        },
    )


def _token_request(
    settings: Settings, session: requests.Session, form: dict[str, str]
) -> SalesforceLogin:
    url = f"{settings.salesforce_login_url.rstrip('/')}/services/oauth2/token"
    try:
        response = session.post(
            url,
            data=form,
            headers={"Accept": "application/json"},
            timeout=settings.salesforce_timeout,
        )
    except (requests.Timeout, requests.ConnectionError) as exc:
        cls = error_class(None)
        raise cls(f"Salesforce login URL unreachable: {type(exc).__name__}", url=url) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if response.status_code != 200:
        # Salesforce's OAuth errors: {"error": "invalid_grant", "error_description": "..."}.
        code = str(body.get("error") or "") or None
        description = body.get("error_description") or f"HTTP {response.status_code}"
        cls: type[SalesforceError] = (
            error_class(response.status_code)
            if response.status_code >= 500
            else SalesforceAuthError
        )
        raise cls(
            f"Salesforce login failed: {description}",
            status=response.status_code,
            error_code=code,
            url=url,
        )
    if not (body.get("access_token") and body.get("instance_url")):
        raise SalesforceAuthError(
            "Salesforce login response has no access_token/instance_url",
            status=response.status_code,
            url=url,
        )
    identity = body.get("id")
    return SalesforceLogin(
        instance_url=body["instance_url"],
        access_token=body["access_token"],
        user_id=identity.rstrip("/").rsplit("/", 1)[-1] if isinstance(identity, str) else None,
    )
