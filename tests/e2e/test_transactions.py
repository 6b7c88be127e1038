"""Transactions with lines (issue 10) over real processes: the QuickBooks emulator computes the
amounts, the worker writes the transaction, then its lines, and Salesforce's formula shows the
status. Every assertion reads the Salesforce emulator's records."""

import subprocess
import uuid

import pytest
from simple_salesforce import format_soql

from qbsync.salesforce.schema import external_id
from qbsync_sandbox.stack import wait_until
from tests.support.paths import SCRIPTS

pytestmark = pytest.mark.e2e

TRANSACTION_FIELDS = "Id, Total_Amount__c, Balance__c, Voided__c, Status__c, Account__c"


@pytest.fixture(scope="module")
def transactions(stack, mappings):
    """Invoice and Payment in real time besides the session's Customer and Item."""
    for qb_object in ("Invoice", "Payment"):
        stack.set_realtime(mappings[qb_object], True)
    yield
    for qb_object in ("Invoice", "Payment"):
        stack.set_realtime(mappings[qb_object], False)


@pytest.fixture
def customer(stack):
    return stack.create_entity("Customer", {"DisplayName": f"Fountains {uuid.uuid4().hex[:8]}"})


@pytest.fixture(scope="module")
def item(stack, transactions):
    # "1" is the emulator's seeded income account, which a service item needs.
    body = {"Name": f"Pump {uuid.uuid4().hex[:8]}", "IncomeAccountRef": {"value": "1"}}
    return stack.create_entity("Item", body)


def sale(item, amount, line_id=None):
    line = {
        "Amount": amount,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
    }
    return {**line, "Id": line_id} if line_id else line


def invoice_for(stack, customer, *lines):
    return stack.create_entity(
        "Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": list(lines)}
    )


def lines_of(sf, parent_id, sobject="QB_Transaction_Line__c", parent_field="Transaction__c"):
    soql = format_soql(
        "SELECT QB_External_Id__c, Amount__c FROM {:literal} WHERE {:literal} = {}",
        sobject,
        parent_field,
        parent_id,
    )
    return {r["QB_External_Id__c"]: r["Amount__c"] for r in sf.query(soql)["records"]}


def wait_for_lines(sf, parent_id, expected, **kwargs):
    wait_until(
        lambda: lines_of(sf, parent_id, **kwargs) == expected,
        timeout=15,
        what=f"lines {expected}",
    )


def transaction(stack, sf, entity_id, where=""):
    return stack.wait_for_record(
        sf, "QB_Transaction__c", "Invoice", entity_id, fields=TRANSACTION_FIELDS, where=where
    )


def line_keys(stack, record):
    parent = external_id(stack.realm_id, "Invoice", record["Id"])
    return [f"{parent}-{line['Id']}" for line in record["Line"] if line.get("Id")]


def test_a_line_added_changed_and_removed(stack, sf, transactions, customer, item):
    created = invoice_for(stack, customer, sale(item, 100), sale(item, 50))
    header = transaction(stack, sf, created["Id"])
    first, second = line_keys(stack, created)
    wait_for_lines(sf, header["Id"], {first: 100, second: 50})

    kept = next(line for line in created["Line"] if line.get("Id"))
    updated = stack.update_entity(
        "Invoice",
        created["Id"],
        {"Line": [sale(item, 120, kept["Id"]), sale(item, 30)]},
    )
    changed, added = line_keys(stack, updated)
    assert changed == first and added not in (first, second)
    wait_for_lines(sf, header["Id"], {first: 120, added: 30})
    transaction(stack, sf, created["Id"], where="Total_Amount__c = 150")


def test_a_payment_applied_to_two_invoices(stack, sf, transactions, customer, item):
    paid = invoice_for(stack, customer, sale(item, 100))
    partly = invoice_for(stack, customer, sale(item, 80))
    for record in (paid, partly):
        transaction(stack, sf, record["Id"], where="Status__c = 'Open'")

    payment = stack.create_entity(
        "Payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": 140,
            "Line": [
                {"Amount": 100, "LinkedTxn": [{"TxnId": paid["Id"], "TxnType": "Invoice"}]},
                {"Amount": 40, "LinkedTxn": [{"TxnId": partly["Id"], "TxnType": "Invoice"}]},
            ],
        },
    )

    header = stack.wait_for_record(sf, "QB_Payment__c", "Payment", payment["Id"])
    key = external_id(stack.realm_id, "Payment", payment["Id"])
    wait_for_lines(
        sf,
        header["Id"],
        {f"{key}-Invoice{paid['Id']}": 100, f"{key}-Invoice{partly['Id']}": 40},
        sobject="QB_Payment_Line__c",
        parent_field="Payment__c",
    )
    # The invoices change without a webhook of their own: the payment's sync wrote them.
    assert transaction(stack, sf, paid["Id"])["Balance__c"] == 0
    assert transaction(stack, sf, paid["Id"])["Status__c"] == "Paid"
    assert transaction(stack, sf, partly["Id"])["Balance__c"] == 40
    assert transaction(stack, sf, partly["Id"])["Status__c"] == "Partially Paid"


def test_a_voided_invoice_stays_marked_voided_with_quickbooks_amounts(
    stack, sf, transactions, customer, item
):
    created = invoice_for(stack, customer, sale(item, 75))
    header = transaction(stack, sf, created["Id"])
    (line,) = line_keys(stack, created)
    wait_for_lines(sf, header["Id"], {line: 75})

    stack.void_entity("Invoice", created["Id"])

    voided = transaction(stack, sf, created["Id"], where="Voided__c = true")
    assert (voided["Id"], voided["Total_Amount__c"], voided["Status__c"]) == (
        header["Id"],
        0,
        "Voided",
    )
    wait_for_lines(sf, header["Id"], {line: 0})


def test_an_invoice_for_a_customer_created_in_the_same_second(stack, sf, transactions, item):
    name = f"Same Second {uuid.uuid4().hex[:8]}"
    new_customer = stack.create_entity("Customer", {"DisplayName": name})
    created = invoice_for(stack, new_customer, sale(item, 20))

    header = transaction(stack, sf, created["Id"], where="Account__c != null")
    account = stack.wait_for_record(sf, "Account", "Customer", new_customer["Id"])
    assert header["Account__c"] == account["Id"]
    assert account["Name"] == name
    soql = format_soql(
        "SELECT Id FROM Account WHERE QB_External_Id__c = {}",
        external_id(stack.realm_id, "Customer", new_customer["Id"]),
    )
    assert len(sf.query(soql)["records"]) == 1


def test_a_merge_of_the_customer_moves_its_invoices_to_the_survivor(
    stack, sf, transactions, customer, item
):
    survivor = stack.create_entity("Customer", {"DisplayName": f"Survivor {uuid.uuid4().hex[:8]}"})
    created = invoice_for(stack, customer, sale(item, 10))
    header = transaction(stack, sf, created["Id"], where="Account__c != null")
    merged_account = stack.wait_for_record(sf, "Account", "Customer", customer["Id"])
    assert header["Account__c"] == merged_account["Id"]
    survivor_account = stack.wait_for_record(sf, "Account", "Customer", survivor["Id"])

    stack.merge_entities("Customer", customer["Id"], survivor["Id"])

    # QuickBooks moves the invoice without a webhook for it; the Merge event's sync follows.
    where = format_soql("Account__c = {}", survivor_account["Id"])
    assert transaction(stack, sf, created["Id"], where=where)["Id"] == header["Id"]
    stack.wait_for_record(sf, "Account", "Customer", customer["Id"], where="QB_Active__c = false")


def test_demo_once_with_an_invoice_exits_zero_when_its_lines_arrive():
    result = subprocess.run(
        [str(SCRIPTS / "demo"), "--once", "--object", "Invoice"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "and its 3 lines (275.0, 25.5, 47.5) arrived in Salesforce" in result.stdout
