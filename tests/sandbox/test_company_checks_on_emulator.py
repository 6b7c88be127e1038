"""The health strip's middleware calls: GET /api/backlog from the ledger, and POST
/api/connections/<realm>/test reading CompanyInfo from the QuickBooks emulator over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet

from qbsync.app import create_app
from qbsync.config import Settings
from qbsync.events import ChangeEvent
from qbsync.quickbooks import IntuitOAuth
from qbsync.services import Services
from qbsync.store import Store
from qbsync_sandbox.emulators.quickbooks import create_qbo_app
from tests.support.emulators import serving_quickbooks

REALM = "9341452000000077"
OTHER = "9341452000000078"
API_KEY = "h" * 40
REDIRECT = "https://middleware.example/oauth/quickbooks/callback"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def emulator() -> Iterator[str]:
    app = create_qbo_app(
        verifier_token="verifier",
        client_id="client-id",
        client_secret="client-secret",
        start_deliverer=False,
    )
    with serving_quickbooks(app) as url:
        response = requests.post(f"{url}/_admin/companies", json={"realmId": REALM}, timeout=5)
        response.raise_for_status()
        yield url


@pytest.fixture
def services(emulator: str, tmp_path: Path) -> Services:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    settings = Settings(
        database_url=url,
        encryption_keys=(Fernet.generate_key().decode(),),
        api_key=API_KEY,
        intuit_environment="sandbox",
        intuit_client_id="client-id",
        intuit_client_secret="client-secret",
        intuit_redirect_uri=REDIRECT,
        intuit_api_base_url=emulator,
        intuit_auth_url=f"{emulator}/connect/oauth2",
        intuit_token_url=f"{emulator}/oauth2/v1/tokens/bearer",
        intuit_revoke_url=f"{emulator}/v2/oauth2/tokens/revoke",
    )
    return Services(settings, store=Store.open(url))


@pytest.fixture
def client(services: Services):
    return create_app(services=services).test_client()


def auth() -> dict:
    return {"Authorization": f"Bearer {API_KEY}"}


def connect(services: Services) -> IntuitOAuth:
    """The company's consent through the emulator's OAuth, its tokens in the vault."""
    oauth = IntuitOAuth(services.settings)
    consent = requests.get(
        oauth.authorization_url("state-1"),
        params={"realmId": REALM},
        allow_redirects=False,
        timeout=5,
    )
    back = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    services.vault.save(oauth.exchange_code(back["code"], back["realmId"]))
    return oauth


def test_a_connected_company_answers_with_its_name(client, services) -> None:
    connect(services)
    response = client.post(f"/api/connections/{REALM}/test", headers=auth())
    assert response.status_code == 200, response.json
    body = response.json
    assert body["ok"] is True
    assert isinstance(body["companyName"], str) and body["companyName"]
    assert body["checkedAt"].endswith("Z")


def test_a_revoked_authorization_says_reconnect(client, services) -> None:
    oauth = connect(services)
    oauth.revoke(services.vault.get(REALM).refresh_token)
    response = client.post(f"/api/connections/{REALM}/test", headers=auth())
    assert response.status_code == 200, response.json
    assert response.json["ok"] is False
    assert "Reconnect" in response.json["message"]
    # The vault learnt it too: the next test answers without calling QuickBooks.
    again = client.post(f"/api/connections/{REALM}/test", headers=auth())
    assert again.json == {**response.json, "checkedAt": again.json["checkedAt"]}


@pytest.mark.parametrize(
    ("kind", "words"),
    [("throttle", "limiting requests"), ("error", "could not be reached")],
)
def test_quickbooks_trouble_is_said_in_plain_words(client, services, emulator, kind, words):
    connect(services)
    requests.post(
        f"{emulator}/_admin/faults",
        json={"family": "companyinfo", "kind": kind, "count": 1},
        timeout=5,
    ).raise_for_status()
    response = client.post(f"/api/connections/{REALM}/test", headers=auth())
    assert response.status_code == 200, response.json
    assert response.json["ok"] is False and words in response.json["message"]
    assert "Bearer" not in response.json["message"]


def test_an_unknown_or_malformed_realm_and_a_missing_key_are_refused(client) -> None:
    assert client.post(f"/api/connections/{OTHER}/test", headers=auth()).status_code == 404
    assert client.post("/api/connections/a%20b/test", headers=auth()).status_code == 400
    assert client.post(f"/api/connections/{REALM}/test").status_code == 401
    assert client.get("/api/backlog").status_code == 401


def event(realm: str, entity: str, entity_id: str, key: str) -> ChangeEvent:
    return ChangeEvent(
        realm_id=realm,
        entity=entity,
        entity_id=entity_id,
        operation="Update",
        occurred_at=NOW,
        event_key=key,
    )


def test_backlog_counts_waiting_events_per_realm(client, services) -> None:
    ledger = services.store.events
    ledger.add(
        [event(REALM, "Customer", str(n), f"k{n}") for n in range(3)]
        + [event(OTHER, "Invoice", "9", "o9")]
    )
    (done,) = [e.id for e in ledger.events() if e.event_key == "k0"]
    ledger.claim("worker-1", 1, 60, now=NOW)
    ledger.mark_done([done])
    response = client.get("/api/backlog", headers=auth())
    assert response.status_code == 200
    waiting = {r["realmId"]: r["waiting"] for r in response.json["realms"]}
    assert waiting == {REALM: 2, OTHER: 1}
    one = client.get("/api/backlog", query_string={"realmId": OTHER}, headers=auth()).json
    assert [r["realmId"] for r in one["realms"]] == [OTHER]
    assert one["realms"][0]["oldestReceivedAt"].endswith("Z")
    none = client.get("/api/backlog", query_string={"realmId": "555"}, headers=auth()).json
    assert none == {"realms": [{"realmId": "555", "waiting": 0, "oldestReceivedAt": None}]}
    assert client.get("/api/backlog?realmId=../x", headers=auth()).status_code == 400
