"""The Retry action of a failed sync log, end to end: a sync fails on a mapping mistake, the
mapping is fixed, Salesforce asks the middleware to retry the log's event (POST /api/events/retry
with the log's Event_Key__c, as QBSyncLogController does through the Named Credential), and the
record arrives. Assertions read the Salesforce emulator and the middleware's HTTP answers.
"""

import uuid

import pytest
import requests
from simple_salesforce import format_soql

from qbsync_sandbox.stack import wait_until

pytestmark = pytest.mark.e2e


def customer_logs(sf, customer_id):
    soql = format_soql(
        "SELECT Id, Event_Key__c, Status__c, Message__c, Detail__c, Salesforce_Record_Id__c "
        "FROM QB_Sync_Log__c WHERE QB_Object__c = 'Customer' AND QB_Record_Id__c = {}",
        customer_id,
    )
    return sf.query(soql)["records"]


def name_mapping_id(sf, object_mapping_id):
    (mapping,) = sf.query(
        format_soql(
            "SELECT Id FROM QB_Field_Mapping__c WHERE Object_Mapping__c = {} "
            "AND Salesforce_Field__c = 'Name'",
            object_mapping_id,
        )
    )["records"]
    return mapping["Id"]


def map_account_name_from(stack, admin_sf, mapping_id, qb_field):
    admin_sf.QB_Field_Mapping__c.update(mapping_id, {"QB_Field__c": qb_field})
    stack.api("POST", "/api/config-changed", json={"realmId": stack.realm_id}).raise_for_status()


def test_retry_of_a_failed_sync_log_after_a_mapping_fix(stack, sf, admin_sf, mappings):
    mapping_id = name_mapping_id(sf, mappings["Customer"])
    # The mistake: Account.Name from CompanyName, which this Customer does not have.
    map_account_name_from(stack, admin_sf, mapping_id, "CompanyName")
    try:
        name = f"Retry Rabbits {uuid.uuid4().hex[:8]}"
        customer = stack.create_entity("Customer", {"DisplayName": name})
        # The webhook's event: the reconciliation that the mapping change starts may also find
        # the Customer unapplied and fail it as an event of its own (a `cdc:` key, see below).
        (failed,) = wait_until(
            lambda: [
                log
                for log in customer_logs(sf, customer["Id"])
                if log["Status__c"] == "Failed" and not log["Event_Key__c"].startswith("cdc:")
            ],
            timeout=15,
            what="a Failed sync log of the webhook's event",
        )
        assert "Salesforce requires Account.Name" in failed["Message__c"]
        assert "REQUIRED_FIELD_MISSING" in failed["Detail__c"]

        # Before the fix a retry would fail the same way; the admin fixes the mapping first.
        map_account_name_from(stack, admin_sf, mapping_id, "DisplayName")
        response = stack.api("POST", "/api/events/retry", json={"eventKey": failed["Event_Key__c"]})
        assert (response.status_code, response.json()) == (200, {"retried": 1})

        account = stack.wait_for_record(
            sf, "Account", "Customer", customer["Id"], fields="Id, Name"
        )
        assert account["Name"] == name
        # The worker's new outcome lands on the same log row (upsert on Event_Key__c).
        log = wait_until(
            lambda: next(
                (
                    log
                    for log in customer_logs(sf, customer["Id"])
                    if log["Id"] == failed["Id"] and log["Status__c"] == "Success"
                ),
                None,
            ),
            timeout=15,
            what="the sync log turned Success",
        )
        assert log["Salesforce_Record_Id__c"] == account["Id"]
        logs = customer_logs(sf, customer["Id"])
        assert [e["Id"] for e in logs if e["Event_Key__c"] == failed["Event_Key__c"]] == [
            failed["Id"]
        ]
        # CDC reconciliation may also have found the Customer unapplied (it failed) and synced it
        # as an event of its own: any other row is such an event, never a second row of this one.
        assert all(e["Event_Key__c"].startswith("cdc:") for e in logs if e["Id"] != failed["Id"])

        # Retrying again is refused: the event is done.
        again = stack.api("POST", "/api/events/retry", json={"eventKey": failed["Event_Key__c"]})
        assert again.status_code == 409
        assert again.json()["state"] == "done"
    finally:
        map_account_name_from(stack, admin_sf, mapping_id, "DisplayName")


def test_retry_of_an_unknown_event_is_not_found(stack):
    response = stack.api("POST", "/api/events/retry", json={"eventKey": "ce:no-such-event"})
    assert response.status_code == 404
    assert "no event with key 'ce:no-such-event'" in response.json()["error"]


def test_retry_needs_the_api_key(stack):
    response = requests.post(
        f"{stack.web_url}/api/events/retry",
        json={"eventKey": "ce:no-such-event"},
        headers={"Authorization": "Bearer wrong"},
        timeout=10,
    )
    assert response.status_code == 401
