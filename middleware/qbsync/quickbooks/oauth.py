"""Intuit OAuth 2.0: authorization URL, code exchange, refresh and revoke.

Plain `requests` against the URLs in Settings (Intuit's published endpoints, or an emulator).
Intuit's own client (intuit-oauth) fetches a discovery document over the network when it is
constructed (DESIGN.md, Pitfalls), so it is not used. Request shapes follow
intuit/oauth-pythonclient `intuitlib/client.py` (research/quickbooks.md §5): HTTP Basic client
authentication, form-encoded token requests, a JSON body for revoke.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import requests

from qbsync.config import CONNECT_TIMEOUT_SECONDS, Settings
from qbsync.quickbooks.errors import (
    QuickBooksAuthError,
    QuickBooksError,
    QuickBooksTransient,
    error_class,
    intuit_tid,
)
from qbsync.quickbooks.tokens import TokenSet

log = logging.getLogger(__name__)

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
# Read timeout of a token call at most: a refresh runs while the realm's token row is locked.
TOKEN_READ_TIMEOUT_SECONDS = 20


def _utcnow() -> datetime:
    return datetime.now(UTC)


class IntuitOAuth:
    """OAuth 2.0 calls for one Intuit app (client id + secret from Settings)."""

    def __init__(
        self,
        settings: Settings,
        session: requests.Session | None = None,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._settings = settings
        self._session = session or requests.Session()
        self._clock = clock

    def authorization_url(self, state: str) -> str:
        """Intuit's consent page for the accounting scope; Intuit returns `state` unchanged."""
        query = urlencode(
            {
                "client_id": self._settings.intuit_client_id,
                "response_type": "code",
                "scope": ACCOUNTING_SCOPE,
                "redirect_uri": self._settings.intuit_redirect_uri,
                "state": state,
            }
        )
        return f"{self._settings.intuit_auth_url}?{query}"

    def exchange_code(self, code: str, realm_id: str) -> TokenSet:
        """Trade the callback's authorization code for the company's first tokens."""
        body = self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self._settings.intuit_redirect_uri,
            },
            secrets=(code,),
        )
        return self._token_set(body, realm_id=realm_id, environment=self._environment)

    def refresh(self, tokens: TokenSet) -> TokenSet:
        """New tokens for `tokens.refresh_token`; Intuit may rotate the refresh token.

        Raises QuickBooksAuthError with fault_code "invalid_grant" when Intuit no longer
        accepts the refresh token (revoked, expired, or already used).
        """
        body = self._token_request(
            {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
            secrets=(tokens.refresh_token, tokens.access_token),
        )
        return self._token_set(body, realm_id=tokens.realm_id, environment=tokens.environment)

    def revoke(self, token: str) -> None:
        """Revoke a refresh (or access) token at Intuit: the company is disconnected."""
        response = self._post(
            self._settings.intuit_revoke_url,
            json={"token": token},
            headers={"Accept": "application/json"},
        )
        if response.status_code != 200:
            raise self._error(response, "Intuit refused to revoke the token", (token,))

    # -- helpers -------------------------------------------------------------------------

    @property
    def _environment(self) -> str:
        return self._settings.intuit_environment

    def _token_request(self, form: dict[str, str], secrets: tuple[str, ...]) -> dict:
        response = self._post(
            self._settings.intuit_token_url,
            data=form,
            headers={
                "Accept": "application/json",
                # Ask for the five-year hard cap (research §5: SampleApp-Webhooks-Java-Cloudevents
                # RefreshTokenHardExpirationService sends this header).
                "x-include-refresh-token-hard-expires-in": "true",
            },
        )
        if response.status_code != 200:
            raise self._error(response, "Intuit token request failed", secrets)
        try:
            body = response.json()
            if not (body.get("access_token") and body.get("refresh_token")):
                raise ValueError
        except (ValueError, AttributeError):
            raise QuickBooksTransient(
                "Intuit token response carries no access_token/refresh_token",
                status=response.status_code,
                url=self._settings.intuit_token_url,
            ) from None
        return body

    def _post(self, url: str, **kwargs: object) -> requests.Response:
        try:
            return self._session.post(
                url,
                auth=(self._settings.intuit_client_id, self._settings.intuit_client_secret),
                timeout=(
                    CONNECT_TIMEOUT_SECONDS,
                    min(TOKEN_READ_TIMEOUT_SECONDS, self._settings.quickbooks_timeout_seconds),
                ),
                **kwargs,
            )
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise QuickBooksTransient(
                f"Intuit OAuth endpoint unreachable: {type(exc).__name__}", url=url
            ) from None

    def _token_set(self, body: dict, *, realm_id: str, environment: str) -> TokenSet:
        now = self._clock()
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body["refresh_token"],
            access_expires_at=now + timedelta(seconds=int(body.get("expires_in", 3600))),
            refresh_expires_at=_after(now, body.get("x_refresh_token_expires_in")),
            refresh_hard_expires_at=_after(now, body.get("x_refresh_token_hard_expires_in")),
            realm_id=realm_id,
            environment=environment,
        )

    @staticmethod
    def _error(response: requests.Response, what: str, secrets: tuple[str, ...]) -> QuickBooksError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        code = str(body.get("error") or "") or None
        description = str(body.get("error_description") or "")
        message = f"{what}: {code or 'HTTP ' + str(response.status_code)}"
        if description:
            message += f" ({description})"
        for secret in secrets:
            if secret:
                message = message.replace(secret, "***")
        # OAuth errors (RFC 6749 §5.2) come back as 400/401 with `error`; any of them means
        # Intuit will not issue tokens for this grant, so the company needs attention.
        if response.status_code in (400, 401):
            cls: type[QuickBooksError] = QuickBooksAuthError
        else:
            cls = error_class(response.status_code)
        return cls(
            message,
            status=response.status_code,
            fault_code=code,
            url=response.url,
            intuit_tid=intuit_tid(response),
        )


def _after(now: datetime, seconds: object) -> datetime | None:
    if seconds in (None, ""):
        return None
    return now + timedelta(seconds=int(seconds))
