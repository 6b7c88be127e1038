"""GROUP BY in the emulator's SOQL: one AggregateResult per group, the grouped fields under their
API names beside the aliased counts; an ungrouped plain field is refused as Salesforce refuses it
(SOQL and SOSL Reference, "GROUP BY")."""

from __future__ import annotations

import pytest

from qbsync_sandbox.emulators.salesforce import Org, load_schema
from qbsync_sandbox.emulators.salesforce.errors import ApiError
from tests.support.paths import FORCE_APP


@pytest.fixture
def org() -> tuple[Org, str]:
    org = Org(load_schema(FORCE_APP))
    company = org.create("QB_Company__c", {"Name": "Acme", "Realm_Id__c": "1"})
    for entity, status in [
        ("Customer", "Success"),
        ("Customer", "Failed"),
        ("Customer", "Success"),
        ("Invoice", "Success"),
    ]:
        org.create("QB_Sync_Log__c", {"Company__c": company, "QB_Object__c": entity,
                                      "Status__c": status})  # fmt: skip
    return org, company


def test_counts_per_group_with_the_grouped_fields(org):
    org, _ = org
    total, rows = org.query(
        "SELECT QB_Object__c, Status__c, COUNT(Id) n FROM QB_Sync_Log__c "
        "WHERE Status__c != NULL GROUP BY QB_Object__c, Status__c"
    )
    assert total == 3
    counts = {(r["QB_Object__c"], r["Status__c"]): r["n"] for r in rows}
    assert counts == {("Customer", "Success"): 2, ("Customer", "Failed"): 1,
                      ("Invoice", "Success"): 1}  # fmt: skip
    assert all(r["attributes"] == {"type": "AggregateResult"} for r in rows)


def test_a_field_neither_grouped_nor_aggregated_is_refused(org):
    org, _ = org
    with pytest.raises(ApiError) as refused:
        org.query("SELECT QB_Object__c, Name, COUNT(Id) FROM QB_Sync_Log__c GROUP BY QB_Object__c")
    assert "Field must be grouped or aggregated: Name" in str(refused.value)
