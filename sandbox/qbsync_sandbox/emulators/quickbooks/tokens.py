"""OAuth 2.0 grants of the emulated Intuit app: authorization codes, access and refresh tokens.

Lifetimes follow Intuit (research §5): access token 1 h, refresh token 100 days rolling, 5-year hard
cap from the first connection. Refresh tokens ROTATE on every refresh and the old one stops working
at once (`invalid_grant`), stricter than Intuit's 24-hour reuse window, so a client that forgets to
persist the new token fails in tests rather than in production.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from qbsync_sandbox.emulators.quickbooks.clock import Clock, utc_now
from qbsync_sandbox.emulators.quickbooks.errors import OAuthError

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
CODE_TTL = timedelta(minutes=10)
REFRESH_TTL = timedelta(days=100)
HARD_TTL = timedelta(days=5 * 365)


@dataclass
class _Code:
    realm_id: str
    redirect_uri: str
    scope: str
    expires_at: datetime


@dataclass
class Grant:
    """One company's connection to the app."""

    realm_id: str
    scope: str
    connected_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    hard_expires_at: datetime
    access_tokens: dict[str, datetime] = field(default_factory=dict)  # token → expiry
    revoked: bool = False


class InvalidAccessToken(Exception):
    """The bearer token is unknown, expired or revoked; the message says which."""


class TokenStore:
    """Thread-safe store of codes and grants."""

    def __init__(self, clock: Clock = utc_now, access_ttl: int = 3600) -> None:
        self._clock = clock
        self.access_ttl = access_ttl
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._grants: list[Grant] = []

    def issue_code(self, realm_id: str, redirect_uri: str, scope: str) -> str:
        code = "AB" + secrets.token_urlsafe(36)
        with self._lock:
            self._codes[code] = _Code(realm_id, redirect_uri, scope, self._clock() + CODE_TTL)
        return code

    def exchange_code(self, code: str, redirect_uri: str) -> tuple[Grant, str]:
        """Trade a single-use authorization code for a new grant and its first access token."""
        now = self._clock()
        with self._lock:
            issued = self._codes.pop(code, None)  # single use: gone even if the rest fails
            if issued is None or issued.expires_at <= now:
                raise OAuthError(400, "invalid_grant")
            if issued.redirect_uri != redirect_uri:
                raise OAuthError(
                    400, "invalid_grant", "redirect_uri does not match the authorization request"
                )
            for old in self._grants:  # reconnecting replaces the company's previous grant
                if old.realm_id == issued.realm_id:
                    old.revoked = True
            grant = Grant(
                realm_id=issued.realm_id,
                scope=issued.scope,
                connected_at=now,
                refresh_token=_refresh_token(),
                refresh_expires_at=now + REFRESH_TTL,
                hard_expires_at=now + HARD_TTL,
            )
            self._grants.append(grant)
            return grant, self._new_access_token(grant, now)

    def refresh(self, refresh_token: str) -> tuple[Grant, str]:
        """Rotate: a new refresh token and access token; the presented refresh token dies."""
        now = self._clock()
        with self._lock:
            grant = self._grant_by_refresh(refresh_token)
            if grant is None or grant.revoked or grant.refresh_expires_at <= now:
                raise OAuthError(400, "invalid_grant")
            grant.refresh_token = _refresh_token()
            grant.refresh_expires_at = min(now + REFRESH_TTL, grant.hard_expires_at)
            return grant, self._new_access_token(grant, now)

    def revoke(self, token: str) -> None:
        """Revoking either token disconnects the company (the whole grant). Unknown tokens: no-op."""
        with self._lock:
            for grant in self._grants:
                if grant.refresh_token == token or token in grant.access_tokens:
                    grant.revoked = True

    def realm_of(self, access_token: str) -> str:
        """The realm an access token opens; raises InvalidAccessToken."""
        now = self._clock()
        with self._lock:
            for grant in self._grants:
                expires_at = grant.access_tokens.get(access_token)
                if expires_at is None:
                    continue
                if grant.revoked:
                    raise InvalidAccessToken("Token revoked")
                if expires_at <= now:
                    raise InvalidAccessToken("Token expired")
                return grant.realm_id
        raise InvalidAccessToken("Invalid bearer token")

    def is_connected(self, realm_id: str) -> bool:
        now = self._clock()
        with self._lock:
            return any(
                g.realm_id == realm_id and not g.revoked and g.refresh_expires_at > now
                for g in self._grants
            )

    def expire(self, realm_id: str | None, *, access: bool = True, refresh: bool = False) -> int:
        """Test helper: make live tokens expire now; returns how many grants were touched."""
        past = self._clock() - timedelta(seconds=1)
        touched = 0
        with self._lock:
            for grant in self._grants:
                if grant.revoked or (realm_id is not None and grant.realm_id != realm_id):
                    continue
                touched += 1
                if access:
                    grant.access_tokens = dict.fromkeys(grant.access_tokens, past)
                if refresh:
                    grant.refresh_expires_at = past
        return touched

    def grants(self) -> list[dict[str, Any]]:
        """Grant summaries for the admin API (never the tokens themselves)."""
        now = self._clock()
        with self._lock:
            return [
                {
                    "realmId": g.realm_id,
                    "scope": g.scope,
                    "connectedAt": g.connected_at.isoformat(),
                    "revoked": g.revoked,
                    "refreshExpiresAt": g.refresh_expires_at.isoformat(),
                    "liveAccessTokens": sum(1 for exp in g.access_tokens.values() if exp > now),
                }
                for g in self._grants
            ]

    def token_response(
        self, grant: Grant, access_token: str, *, include_hard_expiry: bool
    ) -> dict[str, Any]:
        """The token endpoint's JSON, fields as in Intuit's success_refreshtoken_response.json."""
        now = self._clock()
        body: dict[str, Any] = {
            "token_type": "bearer",
            "expires_in": self.access_ttl,
            "refresh_token": grant.refresh_token,
            "x_refresh_token_expires_in": int((grant.refresh_expires_at - now).total_seconds()),
            "access_token": access_token,
        }
        if include_hard_expiry:
            # Sent when the request carries `x-include-refresh-token-hard-expires-in: true`.
            body["x_refresh_token_hard_expires_in"] = int(
                (grant.hard_expires_at - now).total_seconds()
            )
        return body

    def _grant_by_refresh(self, refresh_token: str) -> Grant | None:
        return next(
            (g for g in self._grants if secrets.compare_digest(g.refresh_token, refresh_token)),
            None,
        )

    def _new_access_token(self, grant: Grant, now: datetime) -> str:
        token = "eyJ" + secrets.token_urlsafe(96)
        grant.access_tokens[token] = now + timedelta(seconds=self.access_ttl)
        return token


def _refresh_token() -> str:
    return "AB11" + secrets.token_hex(23)
