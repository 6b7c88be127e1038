"""The connect flow: /api/connections, Intuit's OAuth callback, disconnect, config-changed.

Intuit and Salesforce are mocked at the transport layer with `responses` (unmatched requests fail);
the store (ledger, token vault) is a real temp SQLite database.
"""

import json
import re
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
from tests.support.paths import FIXTURES

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


# The callback asks Salesforce for the company before it spends Intuit's code (query envelope:
# research/salesforce.md §1).
SF_QUERY = f"{SF_INSTANCE}/services/data/v66.0/query/"
NO_RECORDS = {"totalSize": 0, "done": True, "records": []}


def salesforce_login(mock=responses):
    mock.post(
        f"{SF_LOGIN}/services/oauth2/token",
        json={"access_token": "00Dsession", "instance_url": SF_INSTANCE, "token_type": "Bearer"},
    )
    mock.get(SF_QUERY, json=NO_RECORDS)


def salesforce_accepts_company():
    salesforce_login()
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
def test_a_name_longer_than_salesforce_holds_ends_in_an_ellipsis(client):
    state = start(client)
    responses.post(TOKEN_URL, json=TOKENS)
    long_name = "Acme Holdings " * 7  # 98 characters
    responses.get(
        COMPANY_URL, json={"CompanyInfo": {**COMPANY_INFO["CompanyInfo"], "CompanyName": long_name}}
    )
    salesforce_accepts_company()

    client.get(f"/oauth/quickbooks/callback?code=AB11&state={state}&realmId={REALM}")

    (record,) = json.loads(responses.calls[-1].request.body)["records"]
    assert len(record["Name"]) == 80
    assert record["Name"] == long_name[:79] + "\u2026"


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
    salesforce_login()
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
    salesforce_login()
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
        # The revoked tokens' dates go too: the card shows none for a disconnected company.
        "Refresh_Token_Expires_At__c": None,
        "Refresh_Token_Hard_Expires_At__c": None,
        "Renewed_At__c": None,
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


# --- issue 15 item 2: connect and reconnect are all-or-nothing -----------------------------------

ORIGIN = "https://acme.lightning.force.com"
OTHER_REALM = "4620816365251234567"
NEW_TOKENS = {
    **TOKENS,
    "refresh_token": "AB11new-refresh-token-from-the-second-consent",
    "access_token": "eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0..new-access",
}
# Intuit's answer to a token used for a company it was not issued for (Accounting API Fault,
# ApplicationAuthorizationFailed, code 003100: research/quickbooks.md §4; as the emulator's
# errors.forbidden_realm answers).
FORBIDDEN_REALM = {
    "Fault": {
        "Error": [
            {
                "Message": "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                "Detail": "The access token does not grant access to this company",
                "code": "3100",
            }
        ],
        "type": "AuthorizationFault",
    },
    "time": "2026-11-24T10:00:00.000-08:00",
}


def company_url(realm: str) -> str:
    return f"https://sandbox-quickbooks.api.intuit.com/v3/company/{realm}/companyinfo/{realm}"


def start_for(client, **body) -> str:
    response = client.post("/api/connections", headers=auth(), json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return parse_qs(urlsplit(response.get_json()["authorizationUrl"]).query)["state"][0]


@pytest.fixture
def origins_client(settings, store):
    configured = settings.with_overrides(salesforce_origins=(ORIGIN,))
    return create_app(services=Services(configured, store=store)).test_client()


@pytest.fixture
def connected(client, vault):
    """REALM connected once, with TOKENS; the responses registry is left empty."""
    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, json=TOKENS)
        mock.get(COMPANY_URL, json=COMPANY_INFO)
        salesforce_login(mock)
        mock.patch(
            SF_COMPANY_UPSERT,
            json=[{"id": "a00000000000001AAA", "success": True, "errors": [], "created": True}],
        )
        state = start(client)
        page = client.get(f"/oauth/quickbooks/callback?code=A&state={state}&realmId={REALM}")
        assert page.status_code == 200
    assert vault.get(REALM).refresh_token == TOKENS["refresh_token"]
    return vault


def revoked_tokens() -> list[str]:
    return [
        json.loads(call.request.body)["token"]
        for call in responses.calls
        if call.request.url == REVOKE_URL
    ]


def test_start_records_the_realm_and_origin_and_names_the_callback_origin(origins_client, store):
    response = origins_client.post(
        "/api/connections", headers=auth(), json={"realmId": REALM, "origin": ORIGIN + "/"}
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["realmId"] == REALM
    assert body["callbackOrigin"] == "https://qbsync.example.com"
    with store.engine.connect() as conn:
        row = conn.execute(select(qb_oauth_states.c.realm_id, qb_oauth_states.c.origin)).one()
    assert tuple(row) == (REALM, ORIGIN)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"origin": "https://evil.example.com"}, "not allowed to connect"),
        ({"origin": "http://acme.lightning.force.com"}, "not allowed to connect"),
        ({"origin": ORIGIN + "/lightning/n/QB_Setup"}, "not allowed to connect"),
        ({"origin": 7}, "not allowed to connect"),
        ({"realmId": "1 OR 1=1"}, "realmId must be a QuickBooks realm id"),
        ({"realmId": "9" * 33}, "realmId must be a QuickBooks realm id"),
        ([REALM], "must be a JSON object"),
    ],
)
def test_start_refuses_an_unlisted_origin_or_a_bad_realm(origins_client, store, body, message):
    response = origins_client.post("/api/connections", headers=auth(), json=body)
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    with store.engine.connect() as conn:
        assert conn.execute(select(qb_oauth_states.c.nonce)).all() == []


def test_an_origin_is_refused_when_none_is_configured(client):
    response = client.post("/api/connections", headers=auth(), json={"origin": ORIGIN})
    assert response.status_code == 400
    assert "QBSYNC_SALESFORCE_ORIGINS" in response.get_json()["error"]


@responses.activate
def test_reconnect_while_salesforce_is_over_its_limit_keeps_the_old_connection(
    client, connected, store
):
    state = start_for(client, realmId=REALM)
    responses.post(TOKEN_URL, json=NEW_TOKENS)
    responses.get(COMPANY_URL, json=COMPANY_INFO)
    salesforce_login()
    # Salesforce's own error body for the org's exhausted API allocation.
    responses.patch(
        SF_COMPANY_UPSERT,
        status=403,
        json=json.loads((FIXTURES / "salesforce" / "request_limit_exceeded.json").read_text()),
    )
    responses.post(REVOKE_URL, status=200)

    page = client.get(f"/oauth/quickbooks/callback?code=B&state={state}&realmId={REALM}")

    assert page.status_code == 502
    text = page.get_data(as_text=True)
    assert "REQUEST_LIMIT_EXCEEDED" in text
    assert "existing connection was left as it was" in text
    kept = connected.get(REALM)
    assert kept.refresh_token == TOKENS["refresh_token"]
    assert connected.connection(REALM).status == "connected"
    assert revoked_tokens() == [NEW_TOKENS["refresh_token"]]
    assert store.revocations.pending() == []


@responses.activate
def test_reconnect_while_intuit_fails_changes_nothing_and_spends_no_code(client, connected):
    state = start_for(client, realmId=REALM)
    salesforce_login()
    responses.get(COMPANY_URL, status=503, body="Service Unavailable")

    page = client.get(f"/oauth/quickbooks/callback?code=B&state={state}&realmId={REALM}")

    assert page.status_code == 503
    assert "QuickBooks is not answering" in page.get_data(as_text=True)
    assert "Nothing was changed: try again later." in page.get_data(as_text=True)
    assert not any(call.request.url == TOKEN_URL for call in responses.calls)
    assert connected.get(REALM).refresh_token == TOKENS["refresh_token"]


@responses.activate
def test_reconnect_while_salesforce_is_down_spends_no_code(client, connected):
    state = start_for(client, realmId=REALM)
    responses.post(
        f"{SF_LOGIN}/services/oauth2/token",
        json={"access_token": "00Dsession", "instance_url": SF_INSTANCE},
    )
    responses.get(
        SF_QUERY,
        status=403,
        json=json.loads((FIXTURES / "salesforce" / "request_limit_exceeded.json").read_text()),
    )

    page = client.get(f"/oauth/quickbooks/callback?code=B&state={state}&realmId={REALM}")

    assert page.status_code == 503
    assert "Salesforce is not answering" in page.get_data(as_text=True)
    assert "REQUEST_LIMIT_EXCEEDED" in page.get_data(as_text=True)
    assert not any(call.request.url == TOKEN_URL for call in responses.calls)
    assert connected.get(REALM).refresh_token == TOKENS["refresh_token"]


@responses.activate
def test_new_tokens_intuit_does_not_confirm_are_revoked_later_and_the_old_kept(
    client, connected, store
):
    state = start_for(client, realmId=REALM)
    salesforce_login()
    responses.get(COMPANY_URL, json=COMPANY_INFO)  # with the stored token: QuickBooks answers
    responses.get(COMPANY_URL, status=503, body="Service Unavailable")  # then it fails
    responses.post(TOKEN_URL, json=NEW_TOKENS)
    # Intuit is down for the revocation too: the new token waits for the worker.
    responses.post(REVOKE_URL, status=503, json={"error": "server_error"})

    page = client.get(f"/oauth/quickbooks/callback?code=B&state={state}&realmId={REALM}")

    assert page.status_code == 502
    assert "QuickBooks did not confirm the new authorization" in page.get_data(as_text=True)
    assert connected.get(REALM).refresh_token == TOKENS["refresh_token"]
    assert connected.connection(REALM).status == "connected"
    (pending,) = store.revocations.pending()
    assert pending.realm_id == REALM
    assert connected.unseal(pending.secret, REALM) == NEW_TOKENS["refresh_token"]
    # Nothing was written to Salesforce: it still shows the old connection.
    assert not any(call.request.method == "PATCH" for call in responses.calls)


@responses.activate
def test_a_tampered_realm_id_keeps_the_other_companys_tokens(client, connected, store):
    # Someone consents with their own company, then edits realmId to a connected company's id.
    state = start(client)
    salesforce_login()
    responses.get(COMPANY_URL, json=COMPANY_INFO)  # the stored tokens still work
    responses.post(TOKEN_URL, json=NEW_TOKENS)
    responses.get(COMPANY_URL, status=403, json=FORBIDDEN_REALM)
    responses.post(REVOKE_URL, status=200)

    page = client.get(f"/oauth/quickbooks/callback?code=B&state={state}&realmId={REALM}")

    assert page.status_code == 502
    assert "ApplicationAuthorizationFailed" in page.get_data(as_text=True)
    assert connected.get(REALM).refresh_token == TOKENS["refresh_token"]
    assert connected.connection(REALM).status == "connected"
    assert revoked_tokens() == [NEW_TOKENS["refresh_token"]]
    # The new token was tried as it is, never as the stored one.
    checks = [c for c in responses.calls if c.request.url.startswith(COMPANY_URL)]
    assert [c.request.headers["Authorization"] for c in checks] == [
        f"Bearer {TOKENS['access_token']}",
        f"Bearer {NEW_TOKENS['access_token']}",
    ]


@responses.activate
def test_a_reconnect_accepts_only_the_company_it_was_started_for(client, connected, store):
    state = start_for(client, realmId=REALM)

    page = client.get(f"/oauth/quickbooks/callback?code=B&state={state}&realmId={OTHER_REALM}")

    assert page.status_code == 409
    text = page.get_data(as_text=True)
    assert f"reconnecting the company with realm {REALM}" in text
    assert f"chose the company with realm {OTHER_REALM}" in text
    assert len(responses.calls) == 0  # no code exchange: Intuit issued no tokens to revoke
    assert connected.get(REALM).refresh_token == TOKENS["refresh_token"]
    assert connected.get(OTHER_REALM) is None


@responses.activate
def test_a_reconnect_of_the_same_company_replaces_the_tokens(client, connected, store):
    state = start_for(client, realmId=REALM)
    responses.post(TOKEN_URL, json=NEW_TOKENS)
    responses.get(COMPANY_URL, json=COMPANY_INFO)
    salesforce_accepts_company()

    page = client.get(f"/oauth/quickbooks/callback?code=B&state={state}&realmId={REALM}")

    assert page.status_code == 200
    assert connected.get(REALM).refresh_token == NEW_TOKENS["refresh_token"]
    assert revoked_tokens() == []


# --- issue 15 item 5: the callback page ------------------------------------------------------------


def script_of(page: str) -> tuple[str, str] | None:
    """(nonce, text) of the page's one script, or None."""
    found = re.search(r'<script nonce="([^"]+)">(.*?)</script>', page, re.S)
    return None if found is None else (found.group(1), found.group(2))


@responses.activate
def test_the_callback_page_posts_only_to_the_origin_that_started_it(origins_client, vault):
    state = start_for(origins_client, origin=ORIGIN)
    responses.post(TOKEN_URL, json=TOKENS)
    responses.get(COMPANY_URL, json=COMPANY_INFO)
    salesforce_accepts_company()

    page = origins_client.get(f"/oauth/quickbooks/callback?code=A&state={state}&realmId={REALM}")

    assert page.status_code == 200
    nonce, script = script_of(page.get_data(as_text=True))
    assert '"*"' not in script
    assert script.rstrip("; }").endswith(f'"{ORIGIN}")')
    message = json.loads(re.search(r"postMessage\((\{.*?\}), ", script).group(1))
    assert message == {
        "type": "qbsync:connected",
        "realmId": REALM,
        "companyName": "Sandbox Company_US_1",
    }
    csp = page.headers["Content-Security-Policy"]
    assert f"script-src 'nonce-{nonce}'" in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"


@responses.activate
def test_a_failed_connect_tells_the_card_why(origins_client, vault):
    state = start_for(origins_client, origin=ORIGIN)
    salesforce_login()
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_grant"})

    page = origins_client.get(f"/oauth/quickbooks/callback?code=A&state={state}&realmId={REALM}")

    assert page.status_code == 502
    _, script = script_of(page.get_data(as_text=True))
    message = json.loads(re.search(r"postMessage\((\{.*?\}), ", script).group(1))
    assert message["type"] == "qbsync:connect-failed"
    assert message["message"].startswith("QuickBooks was not connected: Intuit refused the code")


def test_a_callback_without_a_known_origin_posts_nothing_and_is_still_locked_down(client):
    page = client.get(f"/oauth/quickbooks/callback?code=A&state=forged&realmId={REALM}")
    assert page.status_code == 400
    assert script_of(page.get_data(as_text=True)) is None
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]


def test_the_api_answers_carry_no_callback_page_headers(client):
    response = client.get("/api/connections", headers=auth())
    assert "Content-Security-Policy" not in response.headers


# --- issue 15 item 3: disconnect revokes first, then Salesforce, then deletes ----------------------


@responses.activate
def test_disconnect_revokes_then_updates_salesforce_then_forgets(client, connected):
    responses.post(REVOKE_URL, status=200)
    salesforce_accepts_company()

    response = client.delete(f"/api/connections/{REALM}", headers=auth())

    assert response.status_code == 200
    assert response.get_json() == {"realmId": REALM, "status": "Disconnected", "revoked": True}
    urls = [call.request.url for call in responses.calls]
    assert urls.index(REVOKE_URL) < urls.index(SF_COMPANY_UPSERT)
    assert connected.get(REALM) is None


@responses.activate
def test_disconnect_while_intuit_fails_revokes_in_the_background(client, connected, store):
    responses.post(REVOKE_URL, status=503, json={"error": "server_error"})
    salesforce_accepts_company()

    response = client.delete(f"/api/connections/{REALM}", headers=auth())

    assert response.status_code == 200
    assert response.get_json()["revoked"] is False
    assert connected.get(REALM) is None
    (pending,) = store.revocations.pending(REALM)
    assert pending.last_error.startswith("Intuit refused to revoke the token: server_error")
    assert TOKENS["refresh_token"] not in pending.secret  # encrypted like the vault's tokens


@responses.activate
def test_disconnect_while_salesforce_fails_answers_502_and_can_be_repeated(client, connected):
    responses.post(REVOKE_URL, status=200)
    salesforce_login()
    responses.patch(
        SF_COMPANY_UPSERT,
        status=403,
        json=json.loads((FIXTURES / "salesforce" / "request_limit_exceeded.json").read_text()),
    )

    failed = client.delete(f"/api/connections/{REALM}", headers=auth())

    assert failed.status_code == 502
    assert "was revoked, but Salesforce was not updated" in failed.get_json()["error"]
    assert "Click Disconnect again" in failed.get_json()["error"]
    # Kept for the second click, but never used again for QuickBooks calls.
    assert connected.connection(REALM).status == "reconnect_required"

    responses.replace(
        responses.PATCH,
        SF_COMPANY_UPSERT,
        json=[{"id": "a00000000000001AAA", "success": True, "errors": [], "created": False}],
    )
    # Intuit no longer knows the revoked token (RFC 7009 allows 200; Intuit may answer 400).
    responses.replace(responses.POST, REVOKE_URL, status=400, json={"error": "invalid_token"})
    again = client.delete(f"/api/connections/{REALM}", headers=auth())
    assert again.status_code == 200
    assert connected.get(REALM) is None


def test_disconnect_refuses_a_malformed_realm(client):
    response = client.delete("/api/connections/a%20b", headers=auth())
    assert response.status_code == 400
    assert "realmId" in response.get_json()["error"]


@responses.activate
def test_a_lost_authorization_does_not_stop_its_own_reconnect(client, connected):
    connected.mark_reconnect_required(REALM, "invalid_grant: refresh token revoked")
    state = start_for(client, realmId=REALM)
    responses.post(TOKEN_URL, json=NEW_TOKENS)
    responses.get(COMPANY_URL, json=COMPANY_INFO)
    salesforce_accepts_company()

    page = client.get(f"/oauth/quickbooks/callback?code=B&state={state}&realmId={REALM}")

    assert page.status_code == 200
    assert connected.get(REALM).refresh_token == NEW_TOKENS["refresh_token"]
    assert connected.connection(REALM).status == "connected"
    checks = [c for c in responses.calls if c.request.url.startswith(COMPANY_URL)]
    assert [c.request.headers["Authorization"] for c in checks] == [
        f"Bearer {NEW_TOKENS['access_token']}"
    ]


@pytest.mark.parametrize("path", ["/quickbooks/reconnect", "/quickbooks/disconnect"])
def test_intuits_reconnect_and_disconnect_pages_are_locked_down_too(client, path):
    page = client.get(path)
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    nonce = re.search(r'<style nonce="([^"]+)">', page.get_data(as_text=True)).group(1)
    assert f"style-src 'nonce-{nonce}'" in page.headers["Content-Security-Policy"]
    assert script_of(page.get_data(as_text=True)) is None


@responses.activate
def test_disconnect_of_tokens_no_key_opens_still_disconnects(client, connected, store):
    # The key that encrypted them was dropped from QBSYNC_ENCRYPTION_KEY: never a 500.
    store.tokens.update(REALM, secret=Fernet(Fernet.generate_key()).encrypt(b"{}").decode())
    salesforce_accepts_company()

    response = client.delete(f"/api/connections/{REALM}", headers=auth())

    assert response.status_code == 200
    assert response.get_json() == {"realmId": REALM, "status": "Disconnected", "revoked": False}
    assert connected.connection(REALM) is None
    assert not any(call.request.url == REVOKE_URL for call in responses.calls)


@responses.activate
def test_a_reconnect_repairs_tokens_no_key_opens(client, connected, store):
    store.tokens.update(REALM, secret=Fernet(Fernet.generate_key()).encrypt(b"{}").decode())
    state = start_for(client, realmId=REALM)
    responses.post(TOKEN_URL, json=NEW_TOKENS)
    responses.get(COMPANY_URL, json=COMPANY_INFO)
    salesforce_accepts_company()

    page = client.get(f"/oauth/quickbooks/callback?code=B&state={state}&realmId={REALM}")

    assert page.status_code == 200
    assert connected.get(REALM).refresh_token == NEW_TOKENS["refresh_token"]
