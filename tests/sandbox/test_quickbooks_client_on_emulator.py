"""The QuickBooks client, OAuth and vault over real HTTP against the QuickBooks emulator."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet

from qbsync.config import Settings
from qbsync.quickbooks import (
    IntuitOAuth,
    QuickBooksAuthError,
    QuickBooksClient,
    QuickBooksFault,
    TokenVault,
)
from qbsync.store.database import make_engine
from qbsync.store.migrate import migrate
from qbsync.store.tokens import TokenRows
from qbsync_sandbox.emulators.quickbooks import create_qbo_app
from tests.support.emulators import serving_quickbooks

REALM = "9341452000000001"
REDIRECT = "https://middleware.example/oauth/quickbooks/callback"


@pytest.fixture
def emulator() -> Iterator[str]:
    app = create_qbo_app(
        verifier_token="verifier",
        client_id="client-id",
        client_secret="client-secret",
        start_deliverer=False,
    )
    with serving_quickbooks(app) as url:
        requests.post(
            f"{url}/_admin/companies", json={"realmId": REALM}, timeout=5
        ).raise_for_status()
        yield url


@pytest.fixture
def settings(emulator: str) -> Settings:
    return Settings(
        intuit_environment="sandbox",
        intuit_client_id="client-id",
        intuit_client_secret="client-secret",
        intuit_redirect_uri=REDIRECT,
        intuit_api_base_url=emulator,
        intuit_auth_url=f"{emulator}/connect/oauth2",
        intuit_token_url=f"{emulator}/oauth2/v1/tokens/bearer",
        intuit_revoke_url=f"{emulator}/v2/oauth2/tokens/revoke",
    )


@pytest.fixture
def vault(tmp_path: Path) -> TokenVault:
    engine = make_engine(f"sqlite:///{tmp_path / 'vault.db'}")
    migrate(engine)
    return TokenVault(TokenRows(engine), [Fernet.generate_key().decode()])


def connect(settings: Settings, vault: TokenVault) -> IntuitOAuth:
    oauth = IntuitOAuth(settings)
    consent = requests.get(
        oauth.authorization_url("state-1"),
        params={"realmId": REALM},
        allow_redirects=False,
        timeout=5,
    )
    assert consent.status_code in (302, 303)
    back = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    assert back["state"] == "state-1" and back["realmId"] == REALM
    vault.save(oauth.exchange_code(back["code"], back["realmId"]))
    return oauth


def test_connect_read_refresh_and_lose_the_connection(
    emulator: str, settings: Settings, vault: TokenVault, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen_tokens: set[str] = set()

    def remember() -> None:
        tokens = vault.get(REALM)
        seen_tokens.update((tokens.access_token, tokens.refresh_token))

    oauth = connect(settings, vault)
    stored = vault.get(REALM)
    remember()
    assert stored.refresh_hard_expires_at is not None  # asked for with the header
    client = QuickBooksClient(settings, vault)

    assert client.company_info(REALM)["CompanyName"]
    since = datetime.now(UTC) - timedelta(minutes=1)
    created = [
        requests.post(
            f"{emulator}/_admin/companies/{REALM}/Customer",
            json={"DisplayName": name},
            timeout=5,
        ).json()
        for name in ("Amy's Bird Sanctuary", "Bill's Windsurf Shop")
    ]
    ids = [c["Id"] for c in created]

    found = client.query_by_ids(REALM, "Customer", [*ids, "999999"])
    assert sorted(found) == sorted(ids)
    assert found[ids[0]]["DisplayName"] == "Amy's Bird Sanctuary"
    changes = client.cdc(REALM, ["Customer", "Item"], since)
    assert sorted(r["Id"] for r in changes["Customer"]) == sorted(ids)
    with pytest.raises(QuickBooksFault):
        client.query_by_ids(REALM, "NoSuchEntity", ["1"])

    # The access token dies early at Intuit: the client refreshes once and carries on.
    requests.post(f"{emulator}/_admin/oauth/expire", json={"realmId": REALM}, timeout=5)
    assert client.query_by_ids(REALM, "Customer", ids[:1])
    assert vault.get(REALM).access_token != stored.access_token
    remember()

    # The refresh token dies too: invalid_grant, the realm waits for a reconnect.
    requests.post(
        f"{emulator}/_admin/oauth/expire", json={"realmId": REALM, "refresh": True}, timeout=5
    )
    with pytest.raises(QuickBooksAuthError):
        client.query_by_ids(REALM, "Customer", ids[:1])
    assert vault.connection(REALM).status == "reconnect_required"

    connect(settings, vault)  # reconnect
    remember()
    assert vault.connection(REALM).status == "connected"
    assert client.query_by_ids(REALM, "Customer", ids[:1])
    oauth.revoke(vault.get(REALM).refresh_token)
    with pytest.raises(QuickBooksAuthError):
        client.query_by_ids(REALM, "Customer", ids[:1])

    # Nothing logged during the whole run (ours, requests/urllib3, the emulator) holds a token.
    assert len(seen_tokens) == 6
    assert caplog.text
    for token in seen_tokens:
        assert token not in caplog.text


def test_item_reads_carry_the_sku_that_select_star_leaves_out(
    emulator: str, settings: Settings, vault: TokenVault
) -> None:
    connect(settings, vault)
    client = QuickBooksClient(settings, vault)
    item = requests.post(
        f"{emulator}/_admin/companies/{REALM}/Item",
        json={"Name": "Rock Fountain", "Sku": "RF-1", "IncomeAccountRef": {"value": "1"}},
        timeout=5,
    ).json()

    assert client.query_by_ids(REALM, "Item", [item["Id"]])[item["Id"]]["Sku"] == "RF-1"
    assert [i["Sku"] for i in client.query_all(REALM, "Item")] == ["RF-1"]
