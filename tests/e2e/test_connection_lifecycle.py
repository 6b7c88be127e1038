"""A connection made, used, lost and repaired, over real HTTP (issue 5).

The stack fixture connected the company through the real OAuth flow: the QuickBooks emulator's
consent page, its token endpoint, the middleware's callback, and a QB_Company__c upsert into the
Salesforce emulator.
"""

import uuid
from pathlib import Path

import pytest
from simple_salesforce import format_soql

from qbsync.quickbooks.tokens import TokenVault
from qbsync.store import Store
from qbsync_sandbox.stack import wait_until

pytestmark = pytest.mark.e2e


def company(sf, stack) -> dict:
    soql = format_soql(
        "SELECT Name, Status__c, Environment__c, Connected_At__c, Refresh_Token_Expires_At__c, "
        "Last_Error__c, Last_Event_At__c FROM QB_Company__c WHERE Realm_Id__c = {}",
        stack.realm_id,
    )
    (record,) = sf.query(soql)["records"]
    return record


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
