"""Real-time creates follow the admin's match rules, end to end: real processes, the change
delivered as Intuit's webhook, every assertion read from the Salesforce emulator.

An Account typed into Salesforce before the sync, then the Customer created or changed in
QuickBooks with match rules saved: the one Account gets the external id and the mapped fields,
no second Account. Two Accounts that match are not guessed: a QB_Match_Review__c without a job
lists them and the change's sync log says Skipped. Without match rules the Customer is created,
as before.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from simple_salesforce import format_soql

from qbsync.salesforce.schema import external_id
from qbsync_sandbox.stack import wait_until

pytestmark = pytest.mark.e2e

SYSADMIN = "sysadmin@qbsync.sandbox"


@pytest.fixture
def match_by_name(stack, admin_sf, mappings):
    """The Customer mapping's Match_Rules__c saved as `Name` for one test (the admin's Save in
    QB Setup: the record, then the middleware told), cleared afterwards."""

    def save(rules: str | None) -> None:
        admin_sf.QB_Object_Mapping__c.update(mappings["Customer"], {"Match_Rules__c": rules})
        stack.api(
            "POST", "/api/config-changed", json={"realmId": stack.realm_id}
        ).raise_for_status()

    save("Name")
    yield
    save(None)


def _accounts(sf, name: str) -> list[dict]:
    soql = format_soql(
        "SELECT Id, QB_External_Id__c, BillingCity FROM Account WHERE Name = {}", name
    )
    return sf.query_all(soql)["records"]


def _logs(sf, qb_id: str) -> list[dict]:
    soql = format_soql(
        "SELECT Status__c, Message__c, Salesforce_Record_Id__c FROM QB_Sync_Log__c "
        "WHERE QB_Object__c = 'Customer' AND QB_Record_Id__c = {}",
        qb_id,
    )
    return sf.query_all(soql)["records"]


def test_a_customer_changed_after_save_links_the_account_typed_in_before(
    stack, sf, match_by_name
) -> None:
    name = f"Typed In {uuid.uuid4().hex[:8]}"
    realm = stack.realm_id
    # From before the connection (no webhook, stamped ten days back: the reconciliation that
    # saving the rules starts looks one day back and does not see it).
    (qb_id,) = stack.qbo(
        "POST",
        f"/companies/{realm}/Customer/bulk",
        json={
            "records": [{"DisplayName": name}],
            "notify": False,
            "createdAt": (datetime.now(UTC) - timedelta(days=10)).isoformat(),
        },
    )["ids"]
    typed_in = stack.salesforce(SYSADMIN).Account.create({"Name": name})["id"]

    stack.update_entity("Customer", qb_id, {"BillAddr": {"City": "Harbor Town"}})

    key = external_id(realm, "Customer", qb_id)
    linked = wait_until(
        lambda: [a for a in _accounts(sf, name) if a["QB_External_Id__c"] == key],
        timeout=30,
        what="the typed-in Account to get the Customer's external id",
    )
    assert [a["Id"] for a in linked] == [typed_in]
    (account,) = _accounts(sf, name)  # one Account: linked, not duplicated
    assert account["BillingCity"] == "Harbor Town"
    (log,) = wait_until(lambda: _logs(sf, qb_id), timeout=30, what="the change's sync log")
    assert log["Status__c"] == "Success" and log["Salesforce_Record_Id__c"] == typed_in
    assert log["Message__c"].startswith("linked to an existing Account matched by Name")

    # Its next change is an update by the external id.
    stack.update_entity("Customer", qb_id, {"BillAddr": {"City": "Gull Point"}})
    wait_until(
        lambda: _accounts(sf, name)[0]["BillingCity"] == "Gull Point",
        timeout=30,
        what="the linked Account to be updated",
    )
    assert [a["Id"] for a in _accounts(sf, name)] == [typed_in]


def test_a_customer_created_with_two_matching_accounts_is_listed_for_review(
    stack, sf, match_by_name
) -> None:
    name = f"Twin {uuid.uuid4().hex[:8]}"
    typed_in = stack.salesforce(SYSADMIN)
    twins = sorted(typed_in.Account.create({"Name": n})["id"] for n in (name, name.upper()))

    qb_id = stack.create_entity("Customer", {"DisplayName": name})["Id"]

    soql = format_soql(
        "SELECT Id, Candidate_Ids__c, Matched_By__c, Status__c, Sync_Job__c "
        "FROM QB_Match_Review__c WHERE QB_Object__c = 'Customer' AND QB_Record_Id__c = {}",
        qb_id,
    )
    (review,) = wait_until(
        lambda: sf.query_all(soql)["records"], timeout=30, what="the match review"
    )
    assert sorted(review["Candidate_Ids__c"].split(",")) == twins
    assert review["Status__c"] == "Open" and review["Matched_By__c"] == "Name"
    assert review["Sync_Job__c"] is None
    logs = wait_until(lambda: _logs(sf, qb_id), timeout=30, what="the change's sync log")
    assert {log["Status__c"] for log in logs} == {"Skipped"}
    assert all("link, create or skip it in QB Setup" in log["Message__c"] for log in logs)
    # Not guessed, not created: the twins untouched, no third Account.
    accounts = _accounts(sf, name)
    assert sorted(a["Id"] for a in accounts) == twins
    assert all(a["QB_External_Id__c"] is None for a in accounts)


def test_without_match_rules_a_customer_is_created_as_before(stack, sf, mappings) -> None:
    name = f"Unmatched {uuid.uuid4().hex[:8]}"
    typed_in = stack.salesforce(SYSADMIN).Account.create({"Name": name})["id"]

    qb_id = stack.create_entity("Customer", {"DisplayName": name})["Id"]

    key = external_id(stack.realm_id, "Customer", qb_id)
    wait_until(
        lambda: any(a["QB_External_Id__c"] == key for a in _accounts(sf, name)),
        timeout=30,
        what="the Customer's Account",
    )
    accounts = {a["Id"]: a["QB_External_Id__c"] for a in _accounts(sf, name)}
    assert len(accounts) == 2 and accounts[typed_in] is None
