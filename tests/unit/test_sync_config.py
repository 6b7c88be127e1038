"""qbsync.sync_config: the realm's mapping records, validated and cached."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from qbsync.catalog import load_catalog, parse_catalog
from qbsync.config import Settings
from qbsync.mapping import ParentTarget
from qbsync.salesforce.auth import SalesforceLogin
from qbsync.salesforce.client import SalesforceClient
from qbsync.store.config_signal import ConfigSignal
from qbsync.sync_config import (
    SyncConfigStore,
    config_query,
    parse_realm_config,
)
from tests.support.catalogs import transactions_catalog

REALM = "9130350000000000"
INSTANCE = "https://example.my.salesforce.com"
QUERY_URL = re.compile(rf"^{re.escape(INSTANCE)}/services/data/v66\.0/query/?")


def field_row(qb, sf, transform=None, default=None, id_="a01"):
    return {
        "attributes": {"type": "QB_Field_Mapping__c", "url": f"/x/{id_}"},
        "Id": id_,
        "QB_Field__c": qb,
        "Salesforce_Field__c": sf,
        "Transform__c": transform,
        "Default_Value__c": default,
    }


def mapping_row(qb_object, sf_object="Account", fields=(), realtime=True, status="Connected"):
    """One record of the contract query, as query_all returns it (nested child query result)."""
    return {
        "attributes": {"type": "QB_Object_Mapping__c", "url": "/services/data/v66.0/x"},
        "Id": f"a00{qb_object}",
        "QB_Object__c": qb_object,
        "Salesforce_Object__c": sf_object,
        "External_Id_Field__c": "QB_External_Id__c",
        "Realtime_Enabled__c": realtime,
        "Delete_Behavior__c": "Deactivate",
        "Field_Mapping_Count__c": float(len(fields)),
        "Company__r": {
            "attributes": {"type": "QB_Company__c", "url": "/x"},
            "Realm_Id__c": REALM,
            "Status__c": status,
        },
        "Field_Mappings__r": (
            {"totalSize": len(fields), "done": True, "records": list(fields)} if fields else None
        ),
    }


def test_query_is_the_contract_query_with_the_realm_escaped():
    soql = config_query("12'3")
    assert soql.startswith("SELECT Id, QB_Object__c, Salesforce_Object__c, External_Id_Field__c,")
    assert "(SELECT Id, QB_Field__c, Salesforce_Field__c, Transform__c, Default_Value__c " in soql
    assert "FROM Field_Mappings__r)" in soql
    assert soql.endswith("WHERE Company__r.Realm_Id__c = '12\\'3'")


def test_rows_parse_into_validated_mappings():
    rows = [
        mapping_row(
            "customer",  # case differs from the catalog: normalised to its spelling
            fields=[
                field_row("DisplayName", "Name"),
                field_row("BillAddr.City", "BillingCity", transform="Uppercase"),
                field_row("ParentRef", "ParentId"),
                field_row("CurrencyRef.value", "Description"),
                field_row("Active", "QB_Active__c", default="true"),
                field_row("NoSuchField", "Site"),
                field_row("displayname", "Site"),
            ],
        ),
        mapping_row("Item", "Product2", fields=[], realtime=False),
        mapping_row("Gizmo", "Thing__c", fields=[field_row("Name", "Name")]),
    ]
    config = parse_realm_config(REALM, rows, load_catalog())
    assert config.company_status == "Connected" and config.connected
    customer = config.mapping("Customer")
    assert customer.qb_object == "Customer"
    assert customer.realtime_enabled and customer.delete_behavior == "Deactivate"
    assert [(f.qb_field, f.salesforce_field) for f in customer.field_mappings] == [
        ("DisplayName", "Name"),
        ("BillAddr.City", "BillingCity"),
        ("ParentRef", "ParentId"),
        ("CurrencyRef.value", "Description"),
        ("Active", "QB_Active__c"),
    ]
    by_field = {f.qb_field: f for f in customer.field_mappings}
    assert by_field["ParentRef"].reference_to == "Customer"
    assert by_field["CurrencyRef.value"].reference_to == "CompanyCurrency"
    assert by_field["BillAddr.City"].transform == "Uppercase"
    assert by_field["Active"].default_value == "true"
    assert customer.active_field() == "QB_Active__c"
    assert customer.problems == ()
    assert len(customer.warnings) == 2
    assert "Unknown field 'NoSuchField' on QuickBooks object Customer" in customer.warnings[0]
    assert "did you mean 'DisplayName'?" in customer.warnings[1]

    item = config.mapping("item")
    assert item.field_mappings == () and not item.realtime_enabled and item.problems == ()

    gizmo = config.mapping("Gizmo")
    assert gizmo.problems and "Unknown QuickBooks object 'Gizmo'" in gizmo.problems[0]
    assert config.parent_targets() == {
        "Customer": ParentTarget("Account", "QB_External_Id__c"),
        "Item": ParentTarget("Product2", "QB_External_Id__c"),
    }


def test_a_list_item_path_the_catalog_knows_is_left_out_with_its_reason():
    line = "Line[DetailType=SalesItemLineDetail].Amount"
    rows = [
        mapping_row(
            "Invoice",
            "Opportunity",
            fields=[field_row("DocNumber", "Name"), field_row(line, "Amount")],
        )
    ]
    invoice = parse_realm_config(REALM, rows, load_catalog()).mapping("Invoice")
    assert load_catalog().validate_mapping("Invoice", line) is None  # a valid mapping …
    assert [f.qb_field for f in invoice.field_mappings] == ["DocNumber"]
    assert invoice.warnings == (
        f"field mapping {line} → Amount: {line} picks one of the record's lines; map lines "
        "with a line mapping; left out",
    )


def test_mapping_whose_every_field_is_invalid_cannot_be_used():
    rows = [mapping_row("Customer", fields=[field_row("Nope", "Name")])]
    mapping = parse_realm_config(REALM, rows, load_catalog()).mapping("Customer")
    assert mapping.field_mappings == ()
    assert mapping.problems[0].startswith("no field mapping can be used: field mapping Nope")


def test_no_rows_means_nothing_mapped_and_status_unknown():
    config = parse_realm_config(REALM, [], load_catalog())
    assert config.mapping("Customer") is None
    assert config.company_status is None and not config.connected


@pytest.fixture
def signal(database):
    return ConfigSignal(database)


@pytest.fixture
def salesforce():
    return SalesforceClient(
        Settings(salesforce_login_url="https://login.example.com"),
        login_with=lambda settings, session: SalesforceLogin(INSTANCE, "session-token"),
    )


def _query_response(rows):
    return {"totalSize": len(rows), "done": True, "records": rows}


@responses.activate
def test_store_caches_refreshes_on_ttl_and_on_config_signal(signal, salesforce):
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    responses.get(
        QUERY_URL,
        json=_query_response([mapping_row("Customer", fields=[field_row("DisplayName", "Name")])]),
    )
    store = SyncConfigStore(salesforce, signal, load_catalog(), 60, clock=lambda: now[0])

    first = store.get(REALM)
    assert first.mapping("Customer").salesforce_object == "Account"
    assert len(responses.calls) == 1
    sent = parse_qs(urlparse(responses.calls[0].request.url).query)["q"][0]
    assert sent == config_query(REALM)

    now[0] += timedelta(seconds=59)
    store.get(REALM)
    assert len(responses.calls) == 1  # cached

    signal.changed(REALM)
    store.get(REALM)
    assert len(responses.calls) == 2  # the signal forces a read

    now[0] += timedelta(seconds=60)
    store.get(REALM)
    assert len(responses.calls) == 3  # the TTL ran out

    store.get("other-realm")
    assert len(responses.calls) == 4  # per realm


# --- line mappings (contract-10): rows with Parent_Mapping__c, linked to their parent ---

TRANSACTIONS = parse_catalog(transactions_catalog())
SALES = "Line[DetailType=SalesItemLineDetail]"


def line_row(parent_id, path=SALES, fields=(), parent_field="Transaction__c", id_="a00line"):
    row = mapping_row("Invoice", "QB_Transaction_Line__c", fields=fields)
    row.update(
        Id=id_,
        Parent_Mapping__c=parent_id,
        Collection_Path__c=path,
        Parent_Field__c=parent_field,
        Realtime_Enabled__c=False,
    )
    return row


def invoice_rows(*lines):
    parent = mapping_row("Invoice", "QB_Transaction__c", fields=[field_row("TotalAmt", "X__c")])
    return [*lines, parent]  # order does not matter: children come before their parent here


def test_the_query_reads_the_line_mapping_fields():
    assert "Parent_Mapping__c, Collection_Path__c, Parent_Field__c" in config_query(REALM)


def test_line_mappings_are_linked_to_their_parent_and_never_replace_it():
    rows = invoice_rows(
        line_row(
            "a00Invoice",
            fields=[
                field_row("Amount", "Amount__c"),
                field_row("SalesItemLineDetail.ItemRef", "Product__c"),
            ],
        )
    )
    config = parse_realm_config(REALM, rows, TRANSACTIONS)
    invoice = config.mapping("Invoice")
    assert (invoice.salesforce_object, invoice.realtime_enabled) == ("QB_Transaction__c", True)
    (lines,) = invoice.line_mappings
    assert (lines.collection_path, lines.salesforce_object, lines.parent_field) == (
        SALES,
        "QB_Transaction_Line__c",
        "Transaction__c",
    )
    assert [(f.qb_field, f.reference_to) for f in lines.field_mappings] == [
        ("Amount", None),
        ("SalesItemLineDetail.ItemRef", "Item"),
    ]
    assert invoice.warnings == ()
    # A line object is no reference target of its own: only top-level mappings are.
    assert set(config.parent_targets()) == {"Invoice"}


def test_a_line_field_mapping_the_collection_does_not_know_is_left_out_and_named():
    rows = invoice_rows(
        line_row(
            "a00Invoice",
            fields=[field_row("Amount", "Amount__c"), field_row("TotalAmt", "Total__c")],
        )
    )
    invoice = parse_realm_config(REALM, rows, TRANSACTIONS).mapping("Invoice")
    assert [f.qb_field for f in invoice.line_mappings[0].field_mappings] == ["Amount"]
    assert invoice.warnings == (
        f"line mapping {SALES}: field mapping TotalAmt → Total__c: Unknown field 'TotalAmt' on "
        f"the items of {SALES} of Invoice.; left out",
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"Collection_Path__c": "Line"},
            f"Unknown collection 'Line' on QuickBooks object Invoice; its collections: {SALES}, "
            "Line[DetailType=DescriptionOnly].",
        ),
        ({"Parent_Field__c": None}, "Parent_Field__c is empty"),
        ({"Parent_Field__c": "Transaction__c) OR"}, "Parent_Field__c 'Transaction__c) OR' is not"),
        (
            {"Field_Mappings__r": {"records": [field_row("Nope", "Amount__c")]}},
            "no field mapping can be used: field mapping Nope → Amount__c",
        ),
    ],
)
def test_a_line_mapping_with_problems_is_left_out_and_named_on_its_parent(change, reason):
    row = line_row("a00Invoice", fields=[field_row("Amount", "Amount__c")])
    row.update(change)
    invoice = parse_realm_config(REALM, invoice_rows(row), TRANSACTIONS).mapping("Invoice")
    assert invoice.line_mappings == ()
    assert invoice.problems == ()  # the invoices themselves still sync
    (warning,) = invoice.warnings
    assert warning.startswith(
        f"line mapping {change.get('Collection_Path__c', SALES)} cannot be used: "
    )
    assert reason in warning and warning.endswith("; left out")


def test_custom_fields_by_name_and_the_currency_code_map_on_the_header():
    rows = [
        mapping_row(
            "Invoice",
            "QB_Transaction__c",
            fields=[
                field_row("CustomField[Name=Crew #].StringValue", "Crew__c"),
                field_row("CurrencyRef.value", "Currency_Code__c"),
                field_row("ExchangeRate", "Exchange_Rate__c"),
            ],
        )
    ]
    invoice = parse_realm_config(REALM, rows, load_catalog()).mapping("Invoice")
    assert invoice.warnings == ()
    assert [f.qb_field for f in invoice.field_mappings] == [
        "CustomField[Name=Crew #].StringValue",
        "CurrencyRef.value",
        "ExchangeRate",
    ]


def test_the_recommended_mappings_with_their_lines_read_back_whole():
    """What "Use recommended mappings" writes (the same rows as Stack.apply_recommended_mappings)
    is usable as it is: every field mapping and line mapping of the packaged catalog."""
    catalog = load_catalog()
    rows = []
    for recommended in catalog.recommended:
        fields = [field_row(f.qb_field, f.salesforce_field) for f in recommended.fields]
        parent = mapping_row(recommended.qb_object, recommended.salesforce_object, fields=fields)
        rows.append(parent)
        for n, lines in enumerate(recommended.lines):
            row = mapping_row(
                recommended.qb_object,
                lines.salesforce_object,
                fields=[field_row(f.qb_field, f.salesforce_field) for f in lines.fields],
            )
            row.update(
                Id=f"{parent['Id']}L{n}",
                Parent_Mapping__c=parent["Id"],
                Collection_Path__c=lines.collection_path,
                Parent_Field__c=lines.parent_field,
            )
            rows.append(row)
    config = parse_realm_config(REALM, rows, catalog)
    for recommended in catalog.recommended:
        mapping = config.mapping(recommended.qb_object)
        assert (mapping.problems, mapping.warnings) == ((), ()), recommended.qb_object
        assert len(mapping.field_mappings) == len(recommended.fields)
        assert [m.collection_path for m in mapping.line_mappings] == [
            lines.collection_path for lines in recommended.lines
        ]
        for line_mapping, lines in zip(mapping.line_mappings, recommended.lines, strict=True):
            assert len(line_mapping.field_mappings) == len(lines.fields)
    assert any(m.line_mappings for m in config.mappings.values())


def test_match_rules_are_read_with_the_mapping_and_unknown_ones_named():
    assert "Match_Rules__c" in config_query(REALM)
    row = {**mapping_row("Customer", fields=[field_row("DisplayName", "Name")])}
    row["Match_Rules__c"] = "Name;Phone;Nickname"
    config = parse_realm_config(REALM, [row, mapping_row("Vendor")], load_catalog())
    customer = config.mapping("Customer")
    assert customer.match_rules == ("Name", "Phone")
    assert "unknown match rule 'Nickname' in Match_Rules__c; left out" in customer.warnings
    assert config.mapping("Vendor").match_rules == ()  # blank: always create
