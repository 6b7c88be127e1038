"""IntuitOAuth: consent URL, code exchange, refresh and revoke request shapes (responses)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers

from qbsync.config import Settings
from qbsync.quickbooks import (
    IntuitOAuth,
    QuickBooksAuthError,
    QuickBooksThrottled,
    QuickBooksTransient,
    TokenSet,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "quickbooks"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
TOKEN_URL = "https://oauth.example.test/oauth2/v1/tokens/bearer"
REVOKE_URL = "https://revoke.example.test/v2/oauth2/tokens/revoke"
BASIC = "Basic " + base64.b64encode(b"client-id:client-secret-SSSS").decode()


@pytest.fixture
def oauth() -> IntuitOAuth:
    settings = Settings(
        intuit_environment="sandbox",
        intuit_client_id="client-id",
        intuit_client_secret="client-secret-SSSS",
        intuit_redirect_uri="https://middleware.example/oauth/quickbooks/callback",
        intuit_token_url=TOKEN_URL,
        intuit_revoke_url=REVOKE_URL,
    )
    return IntuitOAuth(settings, clock=lambda: NOW)


def refresh_body() -> dict:
    return json.loads((FIXTURES / "token_refresh.json").read_text())


def current() -> TokenSet:
    return TokenSet(
        access_token="old-access",
        refresh_token="old-refresh-RRRR",
        access_expires_at=NOW,
        refresh_expires_at=NOW + timedelta(days=50),
        refresh_hard_expires_at=None,
        realm_id="9130",
        environment="sandbox",
    )


def test_authorization_url_asks_for_the_accounting_scope(oauth: IntuitOAuth) -> None:
    url = oauth.authorization_url("signed-state-123")

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://appcenter.intuit.com/connect/oauth2"
    )
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "client_id": "client-id",
        "response_type": "code",
        "scope": "com.intuit.quickbooks.accounting",
        "redirect_uri": "https://middleware.example/oauth/quickbooks/callback",
        "state": "signed-state-123",
    }


@responses.activate
def test_exchange_code(oauth: IntuitOAuth) -> None:
    body = {**refresh_body(), "x_refresh_token_hard_expires_in": 157680000}
    responses.add(
        responses.POST,
        TOKEN_URL,
        json=body,
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "grant_type": "authorization_code",
                    "code": "auth-code",
                    "redirect_uri": "https://middleware.example/oauth/quickbooks/callback",
                }
            ),
            matchers.header_matcher(
                {"Authorization": BASIC, "x-include-refresh-token-hard-expires-in": "true"}
            ),
        ],
    )

    tokens = oauth.exchange_code("auth-code", realm_id="9130")

    assert tokens.realm_id == "9130" and tokens.environment == "sandbox"
    assert tokens.access_token == body["access_token"]
    assert tokens.refresh_token == body["refresh_token"]
    assert tokens.access_expires_at == NOW + timedelta(seconds=3600)
    assert tokens.refresh_expires_at == NOW + timedelta(seconds=15552000)
    assert tokens.refresh_hard_expires_at == NOW + timedelta(seconds=157680000)


@responses.activate
def test_refresh_reads_the_rotated_token(oauth: IntuitOAuth) -> None:
    responses.add(
        responses.POST,
        TOKEN_URL,
        json=refresh_body(),
        match=[
            matchers.urlencoded_params_matcher(
                {"grant_type": "refresh_token", "refresh_token": "old-refresh-RRRR"}
            ),
            matchers.header_matcher({"Authorization": BASIC}),
        ],
    )

    fresh = oauth.refresh(current())

    assert fresh.refresh_token == refresh_body()["refresh_token"]
    assert fresh.refresh_hard_expires_at is None  # not in this response: the vault keeps the old
    assert fresh.realm_id == "9130"


@responses.activate
def test_invalid_grant(oauth: IntuitOAuth) -> None:
    responses.add(
        responses.POST,
        TOKEN_URL,
        json=json.loads((FIXTURES / "token_invalid_grant.json").read_text()),
        status=400,
    )

    with pytest.raises(QuickBooksAuthError) as caught:
        oauth.refresh(current())

    assert caught.value.fault_code == "invalid_grant"
    assert "old-refresh-RRRR" not in str(caught.value)
    assert "client-secret-SSSS" not in str(caught.value)


@responses.activate
def test_error_description_echoing_a_token_is_scrubbed(oauth: IntuitOAuth) -> None:
    responses.add(
        responses.POST,
        TOKEN_URL,
        json={"error": "invalid_grant", "error_description": "Token old-refresh-RRRR is invalid"},
        status=400,
    )

    with pytest.raises(QuickBooksAuthError) as caught:
        oauth.refresh(current())

    assert "old-refresh-RRRR" not in str(caught.value)
    assert "Token *** is invalid" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, QuickBooksTransient), (503, QuickBooksTransient), (429, QuickBooksThrottled)],
)
@responses.activate
def test_token_endpoint_outages(oauth: IntuitOAuth, status: int, error: type) -> None:
    responses.add(responses.POST, TOKEN_URL, body="busy", status=status)
    with pytest.raises(error):
        oauth.refresh(current())


@responses.activate
def test_token_response_without_tokens_is_transient(oauth: IntuitOAuth) -> None:
    responses.add(responses.POST, TOKEN_URL, json={"token_type": "bearer"})
    with pytest.raises(QuickBooksTransient, match="no access_token"):
        oauth.refresh(current())


@responses.activate
def test_revoke_sends_the_token_as_json(oauth: IntuitOAuth) -> None:
    responses.add(
        responses.POST,
        REVOKE_URL,
        status=200,
        match=[
            matchers.json_params_matcher({"token": "old-refresh-RRRR"}),
            matchers.header_matcher({"Authorization": BASIC}),
        ],
    )

    oauth.revoke("old-refresh-RRRR")

    assert len(responses.calls) == 1


@responses.activate
def test_failed_revoke_is_reported_without_the_token(oauth: IntuitOAuth) -> None:
    responses.add(responses.POST, REVOKE_URL, json={"error": "invalid_request"}, status=400)

    with pytest.raises(QuickBooksAuthError) as caught:
        oauth.revoke("old-refresh-RRRR")

    assert "old-refresh-RRRR" not in str(caught.value)
