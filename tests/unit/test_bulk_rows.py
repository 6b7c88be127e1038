"""Upsert bodies as Bulk API 2.0 CSV rows (Bulk API 2.0 Developer Guide, "Prepare CSV Files"):
`#N/A` clears a field, a lookup by external id is a `Relationship.Field` column, numbers have no
exponent, booleans are true/false."""

from __future__ import annotations

from qbsync.salesforce.client import BULK_NULL, bulk_cell, bulk_row


def test_cells() -> None:
    assert bulk_cell(None) == BULK_NULL == "#N/A"
    assert (bulk_cell(True), bulk_cell(False)) == ("true", "false")
    assert bulk_cell(1e20) == "100000000000000000000"
    assert bulk_cell(0.1) == "0.1"
    assert bulk_cell(12) == "12"
    assert bulk_cell('Ünïcode, "quoted"') == 'Ünïcode, "quoted"'


def test_a_lookup_by_external_id_is_a_relationship_column() -> None:
    body = {
        "attributes": {"type": "Account"},
        "QB_External_Id__c": "r-Customer-7",
        "Name": "Acme",
        "Phone": None,
        "Parent": {"attributes": {"type": "Account"}, "QB_External_Id__c": "r-Customer-1"},
    }
    assert bulk_row(body) == {
        "QB_External_Id__c": "r-Customer-7",
        "Name": "Acme",
        "Phone": "#N/A",
        "Parent.QB_External_Id__c": "r-Customer-1",
    }
