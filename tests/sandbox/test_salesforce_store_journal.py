"""The Salesforce emulator's indexes and savepoints (issue 19): fast, and exactly as before.

Unique and external-id fields are looked up in an index and a savepoint is a position in an undo
journal; these tests check the records, their order, the recycle bin and every lookup after
changes, deletes and rollbacks, directly on the store and through allOrNone collections.
"""

from __future__ import annotations

import time

import pytest

from qbsync_sandbox.emulators.salesforce import Org, create_salesforce_app, load_schema
from qbsync_sandbox.emulators.salesforce.errors import DmlFailure
from qbsync_sandbox.emulators.salesforce.schema import FieldDef, copy_schema
from tests.support.paths import FORCE_APP

EXT = "QB_External_Id__c"


@pytest.fixture(scope="module")
def schema():
    return load_schema(FORCE_APP)


@pytest.fixture
def org(schema) -> Org:
    return Org(schema)


def _find(org: Org, sobject: str, field: str, value: str) -> list[str]:
    obj = org.object(sobject)
    return org.find(obj, obj.field(field), value)


def _state(org: Org) -> tuple:
    """Everything a rollback must restore: live rows in order, the recycle bin, the lookups."""
    return (
        [dict(r) for r in org.rows("Account")],
        [dict(r) for r in org.rows("Contact")],
        sorted(r["Id"] for r in org.rows("Account", include_deleted=True) if r["IsDeleted"]),
        {r[EXT]: _find(org, "Account", EXT, r[EXT]) for r in org.rows("Account")},
    )


def test_rollback_after_many_changes_restores_records_order_bin_and_lookups(org: Org) -> None:
    accounts = [org.create("Account", {"Name": f"A{i}", EXT: f"r-Customer-{i}"}) for i in range(60)]
    contact = org.create("Contact", {"LastName": "Lee", "AccountId": accounts[5]})
    org.delete(accounts[59])
    before = _state(org)
    with org.lock:
        savepoint = org.savepoint()
        for i in range(0, 50, 2):  # new external ids, so the index entries move
            org.update("Account", accounts[i], {EXT: f"moved-{i}", "Name": f"Moved {i}"})
        org.delete(accounts[5])  # clears the contact's lookup
        org.delete(accounts[7], hard=True)
        for i in range(20):
            org.upsert("Account", EXT, f"new-{i}", {"Name": f"New {i}"})
        org.upsert("Account", EXT, "r-Customer-1", {"Name": "Changed"})
        assert _find(org, "Account", EXT, "moved-0") == [accounts[0]]
        assert org.locate(contact)[1]["AccountId"] is None
        org.rollback(savepoint)
    assert _state(org) == before
    assert org.locate(contact)[1]["AccountId"] == accounts[5]
    for value in ("moved-0", "new-3"):
        assert _find(org, "Account", EXT, value) == []
    assert _find(org, "Account", EXT, "r-Customer-0") == [accounts[0]]
    # The duplicate check sees the restored values: nothing may take r-Customer-5 again.
    with pytest.raises(DmlFailure) as failure:
        org.create("Account", {"Name": "Dup", EXT: "r-Customer-5"})
    assert failure.value.errors[0].status_code == "DUPLICATE_VALUE"


def test_nested_savepoints_undo_only_their_own_changes(org: Org) -> None:
    with org.lock:
        outer = org.savepoint()
        first = org.create("Account", {"Name": "First", EXT: "one"})
        inner = org.savepoint()
        org.update("Account", first, {EXT: "two"})
        org.rollback(inner)
        assert _find(org, "Account", EXT, "one") == [first]
        assert _find(org, "Account", EXT, "two") == []
        org.rollback(outer)
    assert org.rows("Account") == []
    assert _find(org, "Account", EXT, "one") == []


def test_index_follows_external_id_updates_deletes_and_duplicates(org: Org) -> None:
    first, created = org.upsert("Account", EXT, "r-Customer-1", {"Name": "Acme"})
    assert created
    org.update("Account", first, {EXT: "r-Customer-2"})
    assert _find(org, "Account", EXT, "r-Customer-1") == []
    assert org.upsert("Account", EXT, "r-Customer-2", {"Name": "Acme 2"}) == (first, False)
    second, created = org.upsert("Account", EXT, "r-Customer-1", {"Name": "Other"})
    assert created and second != first
    with pytest.raises(DmlFailure) as failure:
        org.update("Account", second, {EXT: "r-Customer-2"})
    assert failure.value.errors[0].status_code == "DUPLICATE_VALUE"
    assert _find(org, "Account", EXT, "r-Customer-1") == [second]  # the failed update left it
    org.delete(first)
    assert _find(org, "Account", EXT, "r-Customer-2") == []
    assert org.is_deleted(first)
    third, created = org.upsert("Account", EXT, "r-Customer-2", {"Name": "Again"})
    assert created and third not in (first, second)
    org.update("Account", third, {EXT: None})
    assert _find(org, "Account", EXT, "r-Customer-2") == []


def test_case_rules_of_unique_fields_hold_with_the_index(org: Org) -> None:
    # Account.QB_External_Id__c is case-sensitive; QB_Company__c.Realm_Id__c is not.
    upper = org.create("Account", {"Name": "Upper", EXT: "r-Customer-A"})
    lower = org.create("Account", {"Name": "Lower", EXT: "r-customer-a"})
    assert _find(org, "Account", EXT, "r-Customer-A") == [upper]
    assert _find(org, "Account", EXT, "r-customer-a") == [lower]
    company = org.create("QB_Company__c", {"Name": "Co", "Realm_Id__c": "ABC"})
    assert _find(org, "QB_Company__c", "Realm_Id__c", "abc") == [company]
    with pytest.raises(DmlFailure) as failure:
        org.create("QB_Company__c", {"Name": "Co 2", "Realm_Id__c": "abc"})
    assert failure.value.errors[0].status_code == "DUPLICATE_VALUE"


def test_reset_empties_the_indexes(org: Org) -> None:
    org.create("Account", {"Name": "Gone", EXT: "r-Customer-9"})
    org.reset()
    assert _find(org, "Account", EXT, "r-Customer-9") == []
    org.create("Account", {"Name": "Back", EXT: "r-Customer-9"})  # no duplicate left behind


def test_all_or_none_collection_upsert_rolls_back_many_updates(org: Org) -> None:
    app = create_salesforce_app(org, client_id="test", client_secret="secret")
    client = app.test_client()
    session = client.post("/_admin/session", query_string={"username": "sysadmin@qbsync.example"})
    headers = {"Authorization": f"Bearer {session.get_json()['access_token']}"}
    ids = [org.create("Account", {"Name": f"A{i}", EXT: f"k-{i}"}) for i in range(150)]
    before = _state(org)
    records = [{"attributes": {"type": "Account"}, EXT: f"k-{i}", "Name": "X"} for i in range(150)]
    records.append({"attributes": {"type": "Account"}, EXT: "k-new", "Name": "N" * 300})
    response = client.patch(
        f"/services/data/v66.0/composite/sobjects/Account/{EXT}",
        json={"allOrNone": True, "records": records},
        headers=headers,
    )
    assert response.status_code == 200
    results = response.get_json()
    assert not any(r["success"] for r in results)
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[-1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert _state(org) == before
    assert _find(org, "Account", EXT, "k-7") == [ids[7]]


def test_a_deployed_unique_field_is_indexed(org: Org) -> None:
    org.create("Contact", {"LastName": "Before", "Email": "a@example.com"})
    changed = copy_schema(org.schema)
    changed.object("Contact").add(
        FieldDef("Badge__c", "Badge", "Text", length=20, unique=True, external_id=True)
    )
    org.install_schema(changed)
    first, created = org.upsert("Contact", "Badge__c", "B-1", {"LastName": "One"})
    assert created
    assert org.upsert("Contact", "Badge__c", "b-1", {"LastName": "Two"}) == (first, False)
    with pytest.raises(DmlFailure) as failure:
        org.create("Contact", {"LastName": "Three", "Badge__c": "B-1"})
    assert failure.value.errors[0].status_code == "DUPLICATE_VALUE"


def _ids(org: Org, soql: str) -> list[str]:
    return [r["attributes"]["url"].rsplit("/", 1)[1] for r in org.query(soql)[1]]


def test_soql_lookups_by_external_id_and_id_answer_as_a_scan_would(org: Org) -> None:
    upper = org.create("Account", {"Name": "Upper", EXT: "r-Customer-A"})
    lower = org.create("Account", {"Name": "Lower", EXT: "r-customer-a"})
    other = org.create("Account", {"Name": "Other", EXT: "r-Customer-B"})
    select = "SELECT Id FROM Account WHERE "
    # Stored order whatever the order of the IN list; the rest of the condition still applies.
    assert _ids(org, select + f"{EXT} IN ('r-Customer-B', 'r-Customer-A')") == [upper, other]
    assert _ids(org, select + f"{EXT} IN ('r-Customer-B', 'r-Customer-A') AND Name = 'Other'") == [
        other
    ]
    assert _ids(org, select + f"{EXT} = 'r-customer-a'") == [lower]  # case-sensitive unique
    assert _ids(org, select + f"Id = '{other[:15]}'") == [other]
    assert _ids(org, select + f"Id IN ('{upper}', '{other}') OR Name = 'Lower'") == [
        upper,
        lower,
        other,
    ]
    org.update("Account", other, {EXT: "r-Customer-C"})
    assert _ids(org, select + f"{EXT} = 'r-Customer-B'") == []
    org.delete(upper)
    assert _ids(org, select + f"{EXT} = 'r-Customer-A'") == []
    company = org.create("QB_Company__c", {"Name": "Co", "Realm_Id__c": "ABC"})
    assert _ids(org, "SELECT Id FROM QB_Company__c WHERE Realm_Id__c = 'abc'") == [company]


def test_soql_on_a_case_sensitive_external_id_that_is_not_unique_ignores_case(org: Org) -> None:
    # SOQL compares case-sensitively only on unique case-sensitive fields; the index of this
    # field is case-sensitive, so it must not answer the query.
    changed = copy_schema(org.schema)
    changed.object("Contact").add(
        FieldDef("Badge__c", "Badge", "Text", length=20, external_id=True, case_sensitive=True)
    )
    org.install_schema(changed)
    contact = org.create("Contact", {"LastName": "One", "Badge__c": "abc"})
    assert _ids(org, "SELECT Id FROM Contact WHERE Badge__c = 'ABC'") == [contact]


def test_a_record_is_timed_at_its_commit_not_its_write(org: Org) -> None:
    """The benchmarks' clock: a record counts from the moment the transaction that wrote it
    commits (the outermost lock released), and a rolled-back write is not a commit."""
    kept = org.create("Account", {"Name": "Kept", EXT: "kept"})
    first_commit = org.commit_times([kept])[kept]
    assert first_commit is not None
    with org.lock:
        written = org.create("Account", {"Name": "Later", EXT: "later"})
        savepoint = org.savepoint()
        org.update("Account", kept, {"Name": "Rolled back"})
        org.rollback(savepoint)
        assert org.commit_times([written]) == {written: None}  # written, not yet committed
        before_commit = time.time()
    after = org.commit_times([written, kept, written[:15]])
    assert after[written] >= before_commit
    assert after[written[:15]] == after[written]  # a 15-character Id names it too
    assert after[kept] == first_commit  # its rolled-back update committed nothing


def test_commit_times_through_the_admin_api(org: Org) -> None:
    app = create_salesforce_app(org, client_id="test", client_secret="secret")
    client = app.test_client()
    record_id = org.create("Account", {"Name": "A", EXT: "k"})
    answer = client.post("/_admin/commit-times", json={"ids": [record_id, "001000000000000AAA"]})
    assert answer.status_code == 200
    times = answer.get_json()["commitTimes"]
    assert times == {
        record_id: org.commit_times([record_id])[record_id],
        "001000000000000AAA": None,
    }
    refused = client.post("/_admin/commit-times", json={"ids": "001"})
    assert refused.status_code == 400
    assert refused.get_json() == {"error": 'body must be {"ids": [record id, ...]}'}
