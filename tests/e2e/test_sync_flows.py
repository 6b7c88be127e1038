"""QuickBooks → middleware → Salesforce over real HTTP between real processes.

Every assertion reads the Salesforce emulator's records (or the sync log the worker wrote there);
nothing here looks inside the middleware.
"""

import subprocess
import uuid

import pytest
from simple_salesforce import format_soql

from qbsync.salesforce.schema import external_id
from qbsync_sandbox.probes import deliveries_idle
from qbsync_sandbox.stack import wait_until
from tests.support.paths import SCRIPTS

pytestmark = pytest.mark.e2e


def unique(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:8]}"


def accounts(sf, stack, entity, entity_id):
    soql = format_soql(
        "SELECT Id, Name, QB_Active__c FROM Account WHERE QB_External_Id__c = {}",
        external_id(stack.realm_id, entity, entity_id),
    )
    return sf.query(soql)["records"]


def sync_logs(sf, entity, entity_id):
    soql = format_soql(
        "SELECT Status__c, Operation__c, Message__c, Detail__c, Salesforce_Record_Id__c "
        "FROM QB_Sync_Log__c "
        "WHERE QB_Object__c = {} AND QB_Record_Id__c = {}",
        entity,
        entity_id,
    )
    return sf.query(soql)["records"]


def test_customer_create_then_update(stack, sf, mappings):
    name = unique("Bayshore Birds")
    customer = stack.create_entity(
        "Customer",
        {"DisplayName": name, "BillAddr": {"City": "Bayshore", "PostalCode": "94326"}},
    )
    account = stack.wait_for_record(
        sf, "Account", "Customer", customer["Id"], fields="Id, Name, BillingCity, QB_Active__c"
    )
    assert account["Name"] == name
    assert account["BillingCity"] == "Bayshore"

    renamed = unique("Finch Street Birds")
    stack.update_entity("Customer", customer["Id"], {"DisplayName": renamed})
    stack.wait_for_record(
        sf, "Account", "Customer", customer["Id"], where=format_soql("Name = {}", renamed)
    )
    assert len(accounts(sf, stack, "Customer", customer["Id"])) == 1
    # Sync logs are written after the upserts they report: wait for them, not for the Account.
    wait_until(
        lambda: any(
            log["Status__c"] == "Success" for log in sync_logs(sf, "Customer", customer["Id"])
        ),
        timeout=15,
        what="a Success sync log of the Customer",
    )


def test_a_field_cleared_in_quickbooks_is_cleared_in_salesforce(stack, sf, mappings):
    # QuickBooks returns only properties with values: a cleared BillAddr is simply absent.
    customer = stack.create_entity(
        "Customer", {"DisplayName": unique("Clearing"), "BillAddr": {"City": "Bayshore"}}
    )
    stack.wait_for_record(
        sf, "Account", "Customer", customer["Id"], where="BillingCity = 'Bayshore'"
    )

    stack.update_entity("Customer", customer["Id"], {"BillAddr": {}})

    stack.wait_for_record(sf, "Account", "Customer", customer["Id"], where="BillingCity = null")


def test_customer_delete_deactivates_the_account(stack, sf, mappings):
    customer = stack.create_entity("Customer", {"DisplayName": unique("Short-lived")})
    stack.wait_for_record(sf, "Account", "Customer", customer["Id"])

    stack.delete_entity("Customer", customer["Id"])

    stack.wait_for_record(sf, "Account", "Customer", customer["Id"], where="QB_Active__c = false")


def test_customer_merge_updates_survivor_and_deactivates_the_merged_away(stack, sf, mappings):
    survivor = stack.create_entity("Customer", {"DisplayName": unique("Survivor")})
    merged = stack.create_entity("Customer", {"DisplayName": unique("Merged away")})
    stack.wait_for_record(sf, "Account", "Customer", survivor["Id"])
    stack.wait_for_record(sf, "Account", "Customer", merged["Id"])

    stack.merge_entities("Customer", merged["Id"], survivor["Id"])

    stack.wait_for_record(sf, "Account", "Customer", merged["Id"], where="QB_Active__c = false")
    (account,) = accounts(sf, stack, "Customer", survivor["Id"])
    assert account["QB_Active__c"] is True


def test_item_becomes_a_product(stack, sf, mappings):
    item = stack.create_entity(
        "Item",
        {
            "Name": unique("Rock Fountain"),
            "Sku": "RF-1",
            "Type": "NonInventory",
            "IncomeAccountRef": {"value": "1"},
        },
    )
    product = stack.wait_for_record(
        sf, "Product2", "Item", item["Id"], fields="Id, Name, ProductCode, IsActive"
    )
    assert product["Name"] == item["Name"]
    assert product["ProductCode"] == "RF-1"
    assert product["IsActive"] is True


def skipped_log(sf, stack, entity):
    """The company's one sync log for skipped changes of `entity` (worker.skipped_rows)."""
    soql = format_soql(
        "SELECT Status__c, QB_Record_Id__c, Message__c, Detail__c FROM QB_Sync_Log__c "
        "WHERE Event_Key__c = {}",
        f"skipped:{stack.realm_id}:{entity}",
    )
    return sf.query(soql)["records"]


def test_object_not_enabled_is_skipped_and_logged_once_for_the_object(stack, sf, mappings):
    vendors = [
        stack.create_entity("Vendor", {"DisplayName": unique(f"Not yet enabled {n}")})
        for n in range(3)
    ]
    ids = [vendor["Id"] for vendor in vendors]

    # The row names the latest skipped Vendor; each skip overwrites it, the last of the three.
    (log,) = wait_until(
        lambda: [
            row for row in skipped_log(sf, stack, "Vendor") if row["QB_Record_Id__c"] == ids[-1]
        ],
        timeout=15,
        what="the company's skipped-Vendor sync log to name the last vendor",
    )

    assert log["Status__c"] == "Skipped"
    assert "not enabled" in log["Message__c"].lower()
    assert "one sync log for skipped Vendor changes" in log["Detail__c"]
    # No row per event: the three skips share the company's one row.
    soql = format_soql(
        "SELECT Event_Key__c FROM QB_Sync_Log__c "
        "WHERE QB_Object__c = 'Vendor' AND QB_Record_Id__c IN {}",
        ids,
    )
    keys = [row["Event_Key__c"] for row in sf.query(soql)["records"]]
    assert keys == [f"skipped:{stack.realm_id}:Vendor"]
    for entity_id in ids:
        assert accounts(sf, stack, "Vendor", entity_id) == []


def test_enabling_an_object_applies_without_restart(stack, sf, mappings):
    stack.set_realtime(mappings["Vendor"], True)
    try:
        vendor = stack.create_entity("Vendor", {"DisplayName": unique("Enabled vendor")})
        account = stack.wait_for_record(sf, "Account", "Vendor", vendor["Id"])
        assert account["Name"] == vendor["DisplayName"]
    finally:
        stack.set_realtime(mappings["Vendor"], False)


def test_legacy_webhook_format(stack, sf, mappings, webhooks):
    assert webhooks(format="legacy")["format"] == "legacy"
    customer = stack.create_entity("Customer", {"DisplayName": unique("Legacy format")})
    account = stack.wait_for_record(sf, "Account", "Customer", customer["Id"])
    assert account["Name"] == customer["DisplayName"]


def test_duplicated_and_reordered_webhooks_give_one_correct_record(stack, sf, mappings, webhooks):
    webhooks(duplicate_rate=1.0, reorder_rate=1.0, seed=11)
    customer = stack.create_entity("Customer", {"DisplayName": unique("Chaos v0")})
    final = customer
    for version in range(1, 4):
        final = stack.update_entity(
            "Customer", customer["Id"], {"DisplayName": unique(f"Chaos v{version}")}
        )

    stack.wait_for_record(
        sf,
        "Account",
        "Customer",
        customer["Id"],
        where=format_soql("Name = {}", final["DisplayName"]),
    )
    # The Account can converge through CDC reconciliation before the chaotic webhooks are all
    # served: wait for the deliveries themselves, then check nothing was duplicated in Salesforce.
    wait_until(
        lambda: deliveries_idle(stack) and stack.qbo("GET", "/deliveries")["duplicated"] > 0,
        timeout=60,
        what="the duplicated and reordered webhooks to be delivered",
    )
    assert len(accounts(sf, stack, "Customer", customer["Id"])) == 1


def test_missing_required_field_is_a_failed_sync_log(stack, sf, admin_sf, mappings):
    # Map Account.Name from CompanyName instead of DisplayName: a Customer without a company
    # name then reaches Salesforce without the required Name.
    (name_mapping,) = sf.query(
        format_soql(
            "SELECT Id FROM QB_Field_Mapping__c WHERE Object_Mapping__c = {} "
            "AND Salesforce_Field__c = 'Name'",
            mappings["Customer"],
        )
    )["records"]
    admin_sf.QB_Field_Mapping__c.update(name_mapping["Id"], {"QB_Field__c": "CompanyName"})
    stack.api("POST", "/api/config-changed", json={"realmId": stack.realm_id}).raise_for_status()
    try:
        customer = stack.create_entity("Customer", {"DisplayName": unique("No company name")})
        logs = wait_until(
            lambda: [
                log
                for log in sync_logs(sf, "Customer", customer["Id"])
                if log["Status__c"] == "Failed"
            ],
            timeout=15,
            what="a Failed sync log",
        )
        # In words, naming the mapping row; Salesforce's error code stays in the detail.
        assert "Salesforce requires Account.Name" in logs[0]["Message__c"]
        assert "CompanyName \u2192 Name" in logs[0]["Message__c"]
        assert "REQUIRED_FIELD_MISSING" in logs[0]["Detail__c"]
        assert accounts(sf, stack, "Customer", customer["Id"]) == []
    finally:
        admin_sf.QB_Field_Mapping__c.update(name_mapping["Id"], {"QB_Field__c": "DisplayName"})
        stack.api("POST", "/api/config-changed", json={"realmId": stack.realm_id})


def test_a_value_salesforce_cannot_hold_is_explained_in_the_sync_log(stack, sf, admin_sf, mappings):
    # Notes (text in QuickBooks) mapped to the checkbox Account.QB_Active__c: "ten" is neither
    # true nor false. (The integration user may write no number field of Account.)
    added = admin_sf.QB_Field_Mapping__c.create(
        {
            "Object_Mapping__c": mappings["Customer"],
            "QB_Field__c": "Notes",
            "Salesforce_Field__c": "QB_Active__c",
        }
    )
    stack.api("POST", "/api/config-changed", json={"realmId": stack.realm_id}).raise_for_status()
    try:
        name = unique("Acme Ltd")
        customer = stack.create_entity("Customer", {"DisplayName": name, "Notes": "ten"})
        soql = format_soql(
            "SELECT Status__c, Event_Key__c, Message__c, Detail__c, Reason__c, Record_Name__c, "
            "Salesforce_Record__c "
            "FROM QB_Sync_Log__c WHERE QB_Object__c = 'Customer' AND QB_Record_Id__c = {}",
            customer["Id"],
        )
        # The webhook's event: the reconciliation that the mapping change starts may also find
        # the Customer unapplied and fail it as an event of its own (a `cdc:` key).
        (log,) = wait_until(
            lambda: [
                r
                for r in sf.query(soql)["records"]
                if r["Status__c"] == "Failed" and not r["Event_Key__c"].startswith("cdc:")
            ],
            timeout=15,
            what="a Failed sync log of the webhook's event",
        )
        assert log["Record_Name__c"] == name
        assert log["Message__c"] == (
            f"Customer \u201c{name}\u201d (QuickBooks {customer['Id']}): the value 'ten' of Notes "
            "cannot be written to Account.QuickBooks Active (true or false). Change the field "
            "mapping Notes \u2192 QB_Active__c or the value in QuickBooks."
        )
        assert log["Detail__c"].startswith("ValueError: not true/false")
        assert log["Reason__c"] == "Value does not fit the field"
        # Nothing was written, so there is nothing to link to.
        assert not log["Salesforce_Record__c"]
    finally:
        admin_sf.QB_Field_Mapping__c.delete(added["id"])
        stack.api("POST", "/api/config-changed", json={"realmId": stack.realm_id})

    # The same Customer, fixed in QuickBooks: its log links to the Account, by the record's name.
    stack.update_entity("Customer", customer["Id"], {"Notes": "a fine customer"})
    account = stack.wait_for_record(sf, "Account", "Customer", customer["Id"], fields="Id")
    (log,) = wait_until(
        lambda: [
            r
            for r in sf.query(soql)["records"]
            if r["Status__c"] == "Success" and not r["Event_Key__c"].startswith("cdc:")
        ],
        timeout=15,
        what="a Success sync log of the webhook's event",
    )
    assert log["Salesforce_Record__c"] == f'<a href="/{account["Id"]}" target="_self">{name}</a>'


def test_demo_once_exits_zero_when_the_account_arrives():
    result = subprocess.run(
        [str(SCRIPTS / "demo"), "--once"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "arrived in Salesforce" in result.stdout
