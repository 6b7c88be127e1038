"""Object and external-id field names from Salesforce are checked before they reach a URL or SOQL
(issue 15, item 6): the delete path puts External_Id_Field__c into a SOQL statement."""

from __future__ import annotations

import pytest

from qbsync.catalog import load_catalog
from qbsync.sync_config import parse_object_mapping


def row(**changes) -> dict:
    return {
        "Id": "a00000000000001AAA",
        "QB_Object__c": "Customer",
        "Salesforce_Object__c": "Account",
        "External_Id_Field__c": "QB_External_Id__c",
        "Realtime_Enabled__c": True,
        "Delete_Behavior__c": "Delete",
        "Field_Mappings__r": {
            "records": [{"Id": "a01", "QB_Field__c": "DisplayName", "Salesforce_Field__c": "Name"}]
        },
        **changes,
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("External_Id_Field__c", "QB_External_Id__c FROM Account WHERE Name != ''"),
        ("External_Id_Field__c", "Name, (SELECT Id FROM Contacts)"),
        ("External_Id_Field__c", "1Field__c"),
        ("Salesforce_Object__c", "Account/../../sobjects/User"),
    ],
)
def test_a_name_that_is_not_an_api_name_makes_the_mapping_unusable(name, value):
    mapping = parse_object_mapping(row(**{name: value}), load_catalog())
    assert mapping.problems == (f"{name} {value!r} is not a Salesforce API name",)


def test_api_names_pass():
    mapping = parse_object_mapping(
        row(Salesforce_Object__c="ns__Thing__c", External_Id_Field__c="ns__QB_Id__c"),
        load_catalog(),
    )
    assert mapping.problems == ()
