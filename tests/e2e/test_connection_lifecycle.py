"""A connection made, used, lost and repaired, over real HTTP (issue 5).

The stack fixture connected the company through the real OAuth flow: the QuickBooks emulator's
consent page, its token endpoint, the middleware's callback, and a QB_Company__c upsert into the
Salesforce emulator.
"""

import uuid
from pathlib import Path

import pytest
import requests
from simple_salesforce import format_soql

from qbsync.quickbooks.tokens import TokenVault
from qbsync.store import Store
from qbsync_sandbox.stack import SF_ADMIN_USERNAME, wait_until

pytestmark = pytest.mark.e2e


def company(sf, stack) -> dict:
    soql = format_soql(
        "SELECT Name, Status__c, Environment__c, Connected_At__c, Refresh_Token_Expires_At__c, "
        "Last_Error__c, Last_Event_At__c FROM QB_Company__c WHERE Realm_Id__c = {}",
        stack.realm_id,
    )
    (record,) = sf.query(soql)["records"]
    return record


def reconnect_alerts(stack) -> tuple[list[dict], list[dict]] | None:
    """The Reconnect Required notifications and emails the Salesforce emulator recorded for the
    stack's company, once both exist."""
    title = f"QuickBooks company {stack.company_name} needs reconnecting"
    sent = [
        [item for item in stack.sf_admin("GET", path).json()["records"] if title in item[key]]
        for path, key in (("/notifications", "title"), ("/emails", "subject"))
    ]
    return (sent[0], sent[1]) if all(sent) else None


def test_connect_round_trip_ends_with_a_connected_company(stack, sf):
    record = company(sf, stack)
    assert record["Status__c"] == "Connected"
    assert record["Name"] == stack.company_name
    assert record["Environment__c"] == "sandbox"
    assert record["Connected_At__c"] and record["Refresh_Token_Expires_At__c"]

    listed = stack.api("GET", "/api/connections").json()["connections"]
    assert [(c["realmId"], c["status"]) for c in listed] == [(stack.realm_id, "connected")]


def test_lost_authorization_holds_events_until_reconnect(stack, sf, mappings, webhooks):
    # A change Intuit has queued, then the company's authorization lapses (refresh token expired).
    webhooks(paused=True)
    name = f"Waits for reconnect {uuid.uuid4().hex[:8]}"
    customer = stack.create_entity("Customer", {"DisplayName": name})
    stack.qbo("POST", "/oauth/expire", json={"realmId": stack.realm_id, "refresh": True})
    webhooks(paused=False)

    wait_until(
        lambda: company(sf, stack)["Status__c"] == "Reconnect Required",
        timeout=15,
        what="QB_Company__c Reconnect Required",
    )
    assert "invalid_grant" in (company(sf, stack)["Last_Error__c"] or "")
    # The worker's alerts thread tells the admins (qbsync.alerts), by notification and email.
    wait_until(
        lambda: reconnect_alerts(stack),
        timeout=15,
        what="the admins' Reconnect Required notification and email",
    )
    ((notification,), emails) = reconnect_alerts(stack)
    assert notification["notificationType"] == "QBSync_Alert"
    assert [email["to"] for email in emails] == [[SF_ADMIN_USERNAME]]
    ledger = Store.open(stack.middleware_env["QBSYNC_DATABASE_URL"]).events
    waiting = [e for e in ledger.events(limit=10_000) if e.entity_id == customer["Id"]]
    assert waiting and {e.state for e in waiting} <= {"pending", "claimed"}

    stack.connect()

    account = stack.wait_for_record(sf, "Account", "Customer", customer["Id"], timeout=20)
    assert account["Name"] == name
    assert company(sf, stack)["Status__c"] == "Connected"
    # The worker writes Last_Event_At__c after the batch whose Account is already visible: wait
    # for that write itself rather than expect it the moment the Account appears.
    wait_until(
        lambda: company(sf, stack)["Last_Event_At__c"],
        timeout=15,
        what="the connection card's Last event (QB_Company__c.Last_Event_At__c)",
    )


def test_no_secret_reaches_the_middleware_logs(stack, sf, mappings):
    # After connect, refresh (the previous test) and sync: search every middleware log line.
    store = Store.open(stack.middleware_env["QBSYNC_DATABASE_URL"])
    tokens = TokenVault(store.tokens, [stack.encryption_key]).get(stack.realm_id)
    secrets = {
        "access token": tokens.access_token,
        "refresh token": tokens.refresh_token,
        "API key": stack.api_key,
        "verifier token": stack.verifier_token,
        "Intuit client secret": stack.intuit_client_secret,
        "encryption key": stack.encryption_key,
    }
    logs = {name: Path(stack.log_path(name)).read_text() for name in ("web", "worker")}
    assert all(logs.values())
    for log_name, text in logs.items():
        for secret_name, value in secrets.items():
            assert value not in text, f"the {secret_name} appears in the {log_name} log"


# --- issue 15 item 2: a failed reconnect keeps the working connection --------------------------


def stored_tokens(stack):
    store = Store.open(stack.middleware_env["QBSYNC_DATABASE_URL"])
    try:
        vault = TokenVault(store.tokens, [stack.encryption_key])
        return vault.get(stack.realm_id), vault.connection(stack.realm_id).status
    finally:
        store.close()


def consent(stack, *, realm_to_reconnect=None, chosen_realm=None):
    """Start a connect (a Reconnect of `realm_to_reconnect`) and pass Intuit's consent page; returns
    the callback URL Intuit redirects to, not yet opened. `chosen_realm`: the company the admin
    picks at Intuit (the emulator's consent page takes it as `realmId`)."""
    body = {"realmId": realm_to_reconnect} if realm_to_reconnect else {}
    started = stack.api("POST", "/api/connections", json=body)
    assert started.status_code == 201, started.text
    url = started.json()["authorizationUrl"]
    if chosen_realm:
        url += f"&realmId={chosen_realm}"
    redirect = requests.get(url, allow_redirects=False, timeout=10)
    assert redirect.status_code == 302, redirect.text
    return redirect.headers["Location"]


def grants_of(stack, realm):
    """(connectedAt, revoked) of the emulator's grants for `realm`, oldest first."""
    grants = stack.qbo("GET", "/oauth")["grants"]
    return [(g["connectedAt"], g["revoked"]) for g in grants if g["realmId"] == realm]


def still_syncs(stack, sf, label):
    name = f"{label} {uuid.uuid4().hex[:8]}"
    customer = stack.create_entity("Customer", {"DisplayName": name})
    account = stack.wait_for_record(sf, "Account", "Customer", customer["Id"], timeout=20)
    assert account["Name"] == name


@pytest.mark.parametrize(
    "outage",
    ["salesforce REQUEST_LIMIT_EXCEEDED", "intuit 5xx on CompanyInfo"],
)
def test_a_reconnect_during_an_outage_keeps_the_working_connection(stack, sf, mappings, outage):
    before, status = stored_tokens(stack)
    assert status == "connected"
    grants_before = grants_of(stack, stack.realm_id)
    callback = consent(stack, realm_to_reconnect=stack.realm_id)
    if outage.startswith("salesforce"):
        stack.sf_fault("request_limit", count=None)
    else:
        stack.qbo_fault("companyinfo", "error", status=503, count=None)
    try:
        page = requests.get(callback, timeout=30)
    finally:
        stack.clear_faults()

    assert page.status_code == 503, page.text
    assert "Nothing was changed: try again later." in page.text
    after, status = stored_tokens(stack)
    assert (after.refresh_token, after.access_token) == (before.refresh_token, before.access_token)
    assert status == "connected"
    assert company(sf, stack)["Status__c"] == "Connected"
    # The code was not spent: Intuit issued no new grant, and the working one is untouched.
    assert grants_of(stack, stack.realm_id) == grants_before
    still_syncs(stack, sf, f"After a failed reconnect ({outage})")


def test_a_tampered_realm_id_keeps_the_other_companys_tokens(stack, sf, mappings):
    # Someone holding a consent link consents with their own company, then edits realmId in the
    # callback to the id of a company that is connected here.
    own = "9130000000000001"
    stack.qbo("POST", "/companies", json={"realmId": own, "companyName": "Someone Else's Books"})
    before, _ = stored_tokens(stack)
    callback = consent(stack, chosen_realm=own)
    assert f"realmId={own}" in callback
    page = requests.get(callback.replace(f"realmId={own}", f"realmId={stack.realm_id}"), timeout=30)

    assert page.status_code == 502, page.text
    assert "did not confirm the new authorization" in page.text
    after, status = stored_tokens(stack)
    assert after.refresh_token == before.refresh_token and status == "connected"
    # The intruder's grant is revoked, and their company is not connected here.
    assert [revoked for _, revoked in grants_of(stack, own)] == [True]
    listed = [c["realmId"] for c in stack.api("GET", "/api/connections").json()["connections"]]
    assert own not in listed
    still_syncs(stack, sf, "After a tampered callback")


def test_a_reconnect_accepts_only_its_own_company(stack, sf, mappings):
    other = "9130000000000002"
    stack.qbo("POST", "/companies", json={"realmId": other, "companyName": "The Wrong Company"})
    before, _ = stored_tokens(stack)
    grants_before = len(stack.qbo("GET", "/oauth")["grants"])

    page = requests.get(
        consent(stack, realm_to_reconnect=stack.realm_id, chosen_realm=other), timeout=30
    )

    assert page.status_code == 409, page.text
    assert f"chose the company with realm {other}" in page.text
    after, status = stored_tokens(stack)
    assert after.refresh_token == before.refresh_token and status == "connected"
    # The code was never exchanged: Intuit issued no tokens.
    assert len(stack.qbo("GET", "/oauth")["grants"]) == grants_before
