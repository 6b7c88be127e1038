"""A historical sync matches before it creates (issue 17, item 5), end to end: real processes,
the job started through POST /api/backfills, the review resolved through POST /api/match-reviews.

Customers that existed before the connection (no webhook) meet Accounts typed into Salesforce
before the sync: one of the same name is linked, not duplicated; two of the same name are not
guessed: a QB_Match_Review__c lists them and the job counts the record as ambiguous.
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


def _match_rules(stack, admin_sf, mapping_id: str, rules: str | None) -> None:
    admin_sf.QB_Object_Mapping__c.update(mapping_id, {"Match_Rules__c": rules})
    stack.api("POST", "/api/config-changed", json={"realmId": stack.realm_id}).raise_for_status()


def _accounts(sf, name: str) -> list[dict]:
    soql = format_soql("SELECT Id, QB_External_Id__c FROM Account WHERE Name = {}", name)
    return sf.query_all(soql)["records"]


def test_backfill_links_an_existing_account_and_lists_twins_for_review(
    stack, sf, admin_sf, mappings
) -> None:
    tag = uuid.uuid4().hex[:8]
    solo, twin, fresh = f"Solo {tag}", f"Twin {tag}", f"Fresh {tag}"
    realm = stack.realm_id
    solo_id, twin_id, fresh_id = stack.qbo(
        "POST",
        f"/companies/{realm}/Customer/bulk",
        json={
            "records": [{"DisplayName": n} for n in (solo, twin, fresh)],
            "notify": False,
            # From before the connection: stamped now, the reconciliation that saving the match
            # rules starts (CDC a day back) would sync them as missed webhooks, unmatched,
            # racing the job.
            "createdAt": (datetime.now(UTC) - timedelta(days=10)).isoformat(),
        },
    )["ids"]
    typed_in = stack.salesforce(SYSADMIN)
    existing = typed_in.Account.create({"Name": solo})["id"]
    twins = sorted(typed_in.Account.create({"Name": n})["id"] for n in (twin, twin.upper()))
    _match_rules(stack, admin_sf, mappings["Customer"], "Name")
    try:
        started = stack.api(
            "POST", "/api/backfills", json={"realmId": realm, "objects": ["Customer"]}
        )
        assert started.status_code == 202, started.text
        (queued,) = started.json()["jobs"]

        def finished() -> dict | None:
            listed = stack.api("GET", "/api/backfills", params={"realmId": realm}).json()
            job = next(j for j in listed["jobs"] if j["id"] == queued["id"])
            return job if job["state"] in ("Done", "Failed", "Cancelled") else None

        job = wait_until(finished, timeout=120, interval=0.2, what="the backfill job to finish")
        assert job["state"] == "Done", job
        assert job["matched"] >= 1 and job["ambiguous"] >= 1, job

        # Linked, not duplicated: the Account typed in carries the Customer's external id.
        (linked_solo,) = _accounts(sf, solo)
        assert linked_solo["Id"] == existing
        assert linked_solo["QB_External_Id__c"] == external_id(realm, "Customer", solo_id)
        # Not guessed: both twins untouched, no third one created.
        assert sorted(r["Id"] for r in _accounts(sf, twin)) == twins
        assert all(r["QB_External_Id__c"] is None for r in _accounts(sf, twin))
        # Nothing to match: created.
        (created,) = _accounts(sf, fresh)
        assert created["QB_External_Id__c"] == external_id(realm, "Customer", fresh_id)

        soql = format_soql(
            "SELECT Id, Candidate_Ids__c, Matched_By__c, Status__c, Sync_Job__r.Job_Key__c "
            "FROM QB_Match_Review__c WHERE QB_Object__c = 'Customer' AND QB_Record_Id__c = {}",
            twin_id,
        )
        (review,) = sf.query_all(soql)["records"]
        assert sorted(review["Candidate_Ids__c"].split(",")) == twins
        assert review["Matched_By__c"] == "Name" and review["Status__c"] == "Open"
        assert review["Sync_Job__r"]["Job_Key__c"] == queued["id"]

        # The admin links the review to one of the twins: it gets the external id.
        answer = stack.api(
            "POST",
            f"/api/match-reviews/{review['Id']}",
            json={"action": "link", "recordId": twins[1]},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"status": "Linked", "recordId": twins[1]}
        linked = {r["Id"]: r["QB_External_Id__c"] for r in _accounts(sf, twin)}
        assert linked == {twins[0]: None, twins[1]: external_id(realm, "Customer", twin_id)}
    finally:
        _match_rules(stack, admin_sf, mappings["Customer"], None)
