"""The connect flow: /api/connections, Intuit's OAuth callback, disconnect, config-changed.

Intuit and Salesforce are mocked at the transport layer with `responses` (unmatched requests fail);
the store (ledger, token vault) is a real temp SQLite database.
"""

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from cryptography.fernet import Fernet
from sqlalchemy import select, text, update

from qbsync.app import create_app
from qbsync.config import Settings
from qbsync.quickbooks.tokens import TokenVault
from qbsync.services import Services
from qbsync.store import Store
from qbsync.store.schema import qb_oauth_states
from tests.support import builders

REALM = "9341455130166501"
API_KEY = "k" * 40
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
COMPANY_URL = f"https://sandbox-quickbooks.api.intuit.com/v3/company/{REALM}/companyinfo/{REALM}"
SF_LOGIN = "https://login.example.my.salesforce.com"
SF_INSTANCE = "https://example.my.salesforce.com"
SF_COMPANY_UPSERT = (
    f"{SF_INSTANCE}/services/data/v66.0/composite/sobjects/QB_Company__c/Realm_Id__c"
)

# Intuit's token response (research/quickbooks.md §5, success_refreshtoken_response.json shape).
TOKENS = {
    "token_type": "bearer",
    "expires_in": 3600,
    "refresh_token": "L311478109728uVoOkDSUCl4s8FDRvjHR6kUKz0RHe3WtZQuBq",
    "x_refresh_token_expires_in": 8726400,
    "access_token": "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0..access",
}
COMPANY_INFO = {
    "CompanyInfo": {"CompanyName": "Sandbox Company_US_1", "Id": "1", "Country": "US"},
    "time": "2026-11-24T10:00:00.000-08:00",
}


@pytest.fixture
def store(tmp_path):
    return Store.open(f"sqlite:///{tmp_path / 'ledger.db'}")


@pytest.fixture
def settings(tmp_path):
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        encryption_keys=(Fernet.generate_key().decode(),),
        api_key=API_KEY,
        intuit_client_id="intuit-client",
        intuit_client_secret="intuit-secret",
        intuit_redirect_uri="https://qbsync.example.com/oauth/quickbooks/callback",
        intuit_webhook_verifier_token="verifier",
        intuit_environment="sandbox",
        salesforce_login_url=SF_LOGIN,
        salesforce_client_id="consumer",
        salesforce_client_secret="consumer-secret",
    )


@pytest.fixture
def client(settings, store):
    return create_app(services=Services(settings, store=store)).test_client()


@pytest.fixture
def vault(settings, store):
    return TokenVault(store.tokens, settings.encryption_keys)


def auth(key=API_KEY):
    return {"Authorization": f"Bearer {key}"}


def start(client) -> str:
    response = client.post("/api/connections", headers=auth())
    assert response.status_code == 201, response.get_data(as_text=True)
    return parse_qs(urlsplit(response.get_json()["authorizationUrl"]).query)["state"][0]


def salesforce_accepts_company():
    responses.post(
        f"{SF_LOGIN}/services/oauth2/token",
        json={"access_token": "00Dsession", "instance_url": SF_INSTANCE, "token_type": "Bearer"},
    )
    responses.patch(
        SF_COMPANY_UPSERT,
        json=[{"id": "a00000000000001AAA", "success": True, "errors": [], "created": True}],
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/connections"),
        ("GET", "/api/connections"),
        ("DELETE", f"/api/connections/{REALM}"),
        ("POST", "/api/config-changed"),
    ],
)
@pytest.mark.parametrize("headers", [{}, auth("wrong"), {"Authorization": API_KEY}])
def test_api_refuses_a_missing_or_wrong_key(client, method, path, headers):
    response = client.open(path, method=method, headers=headers)
    assert response.status_code == 401
    assert "API key" in response.get_json()["error"]


def test_start_returns_intuit_consent_url(client, settings):
    response = client.post("/api/connections", headers=auth())
    assert response.status_code == 201
    url = urlsplit(response.get_json()["authorizationUrl"])
    query = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://appcenter.intuit.com/connect/oauth2"
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    assert query["client_id"] == ["intuit-client"]
    assert query["redirect_uri"] == [settings.intuit_redirect_uri]
    assert query["response_type"] == ["code"]
    assert query["state"][0]


@responses.activate
def test_callback_connects_the_company(client, vault, store):
    state = start(client)
    responses.post(TOKEN_URL, json=TOKENS)
    responses.get(COMPANY_URL, json=COMPANY_INFO)
    salesforce_accepts_company()

    response = client.get(f"/oauth/quickbooks/callback?code=AB11&state={state}&realmId={REALM}")

    assert response.status_code == 200
    assert "Sandbox Company_US_1" in response.get_data(as_text=True)
    stored = vault.get(REALM)
    assert stored.refresh_token == TOKENS["refresh_token"]
    body = json.loads(responses.calls[-1].request.body)
    (record,) = body["records"]
    assert record["Realm_Id__c"] == REALM
    assert record["Name"] == "Sandbox Company_US_1"
    assert record["Status__c"] == "Connected"
    assert record["Environment__c"] == "sandbox"
    assert record["Refresh_Token_Expires_At__c"]
    # Encrypted at rest: the raw database holds no token value.
    with store.engine.connect() as conn:
        dump = "\n".join(str(row) for row in conn.execute(text("SELECT * FROM qb_tokens")))
    assert TOKENS["refresh_token"] not in dump and TOKENS["access_token"] not in dump
    # Nor does anything sent to Salesforce.
    assert TOKENS["refresh_token"] not in responses.calls[-1].request.body.decode()


@responses.activate
def test_state_is_single_use(client):
    state = start(client)
    responses.post(TOKEN_URL, json=TOKENS)
    responses.get(COMPANY_URL, json=COMPANY_INFO)
    salesforce_accepts_company()
    assert (
        client.get(f"/oauth/quickbooks/callback?code=A&state={state}&realmId={REALM}").status_code
        == 200
    )

    replay = client.get(f"/oauth/quickbooks/callback?code=A&state={state}&realmId={REALM}")

    assert replay.status_code == 400
    assert "already used" in replay.get_data(as_text=True)


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("", "no state parameter"),
        ("forged.state.value", "not one this server issued"),
    ],
)
def test_missing_or_forged_state_stores_nothing(client, vault, state, reason):
    response = client.get(f"/oauth/quickbooks/callback?code=A&state={state}&realmId={REALM}")
    assert response.status_code == 400
    assert reason in response.get_data(as_text=True)
    assert vault.get(REALM) is None


def test_tampered_state_is_refused(client, vault):
    state = start(client)
    tampered = state[:-2] + ("AA" if not state.endswith("AA") else "BB")
    response = client.get(f"/oauth/quickbooks/callback?code=A&state={tampered}&realmId={REALM}")
    assert response.status_code == 400
    assert vault.get(REALM) is None


def test_expired_state_is_refused(client, vault, store):
    state = start(client)
    with store.engine.begin() as conn:
        conn.execute(
            update(qb_oauth_states).values(created_at=datetime.now(UTC) - timedelta(minutes=11))
        )
    response = client.get(f"/oauth/quickbooks/callback?code=A&state={state}&realmId={REALM}")
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert vault.get(REALM) is None


def test_declined_consent_stores_nothing(client, vault, store):
    state = start(client)
    response = client.get(f"/oauth/quickbooks/callback?error=access_denied&state={state}")
    assert response.status_code == 400
    assert "declined" in response.get_data(as_text=True)
    assert vault.get(REALM) is None
    with store.engine.connect() as conn:
        assert conn.execute(select(qb_oauth_states.c.used_at)).scalar_one() is not None


@responses.activate
def test_failed_code_exchange_stores_nothing(client, vault):
    state = start(client)
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})
    response = client.get(f"/oauth/quickbooks/callback?code=bad&state={state}&realmId={REALM}")
    assert response.status_code == 502
    assert "Intuit refused the code" in response.get_data(as_text=True)
    assert vault.get(REALM) is None


@responses.activate
def test_salesforce_refusal_leaves_nothing_half_connected(client, vault):
    state = start(client)
    responses.post(TOKEN_URL, json=TOKENS)
    responses.get(COMPANY_URL, json=COMPANY_INFO)
    responses.post(
        f"{SF_LOGIN}/services/oauth2/token",
        json={"access_token": "00Dsession", "instance_url": SF_INSTANCE},
    )
    responses.patch(
        SF_COMPANY_UPSERT,
        json=[
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "INVALID_FIELD",
                        "message": "No such column 'Realm_Id__c'",
                        "fields": [],
                    }
                ],
            }
        ],
    )
    response = client.get(f"/oauth/quickbooks/callback?code=A&state={state}&realmId={REALM}")
    assert response.status_code == 502
    assert "Realm_Id__c" in response.get_data(as_text=True)
    assert vault.get(REALM) is None


@responses.activate
def test_list_and_disconnect(client, vault):
    state = start(client)
    responses.post(TOKEN_URL, json=TOKENS)
    responses.get(COMPANY_URL, json=COMPANY_INFO)
    salesforce_accepts_company()
    client.get(f"/oauth/quickbooks/callback?code=A&state={state}&realmId={REALM}")

    listed = client.get("/api/connections", headers=auth()).get_json()["connections"]
    assert [c["realmId"] for c in listed] == [REALM]
    assert listed[0]["refreshTokenExpiresAt"]
    assert TOKENS["access_token"] not in json.dumps(listed)

    responses.post(REVOKE_URL, json={})
    responses.patch(
        SF_COMPANY_UPSERT,
        json=[{"id": "a00000000000001AAA", "success": True, "errors": [], "created": False}],
    )
    response = client.delete(f"/api/connections/{REALM}", headers=auth())
    assert response.status_code == 200
    assert vault.get(REALM) is None
    revoke = next(c for c in responses.calls if c.request.url == REVOKE_URL)
    assert json.loads(revoke.request.body) == {"token": TOKENS["refresh_token"]}
    status = json.loads(responses.calls[-1].request.body)["records"][0]
    assert status == {
        "attributes": {"type": "QB_Company__c"},
        "Realm_Id__c": REALM,
        "Status__c": "Disconnected",
    }
    assert client.delete(f"/api/connections/{REALM}", headers=auth()).status_code == 404


def test_config_changed_signals_workers(client, store):
    before = store.config_signal.generation()
    response = client.post("/api/config-changed", headers=auth(), json={"realmId": REALM})
    assert response.status_code == 202
    assert store.config_signal.generation() > before
    bad = client.post("/api/config-changed", headers=auth(), json={"realmId": 5})
    assert bad.status_code == 400
    assert "realmId" in bad.get_json()["error"]


@pytest.mark.parametrize(
    ("path", "title", "says"),
    [
        (
            "/quickbooks/reconnect",
            "Reconnect QuickBooks",
            "choose Reconnect on its connection card",
        ),
        ("/quickbooks/disconnect", "QuickBooks disconnected", "no longer connected"),
    ],
)
def test_intuits_reconnect_and_disconnect_urls_answer_without_changing_anything(
    client, vault, path, title, says
):
    vault.save(builders.tokens(REALM))

    known = client.get(f"{path}?realmId={REALM}")
    unknown = client.get(f"{path}?realmId=<script>alert(1)</script>")

    assert known.status_code == unknown.status_code == 200
    page = known.get_data(as_text=True)
    assert title in page and says in page and f"(realm {REALM})" in page
    other = unknown.get_data(as_text=True)
    assert "<script>alert" not in other and "(realm" not in other
    # An unauthenticated GET neither forgets nor changes the company's tokens.
    assert vault.connection(REALM).status == "connected"
