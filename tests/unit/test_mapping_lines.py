"""qbsync.mapping for transactions (issue 10): line bodies from a record's collection, paths
that select list items (CustomField by name, LinkedTxn by type), and CurrencyRef/ExchangeRate."""

from __future__ import annotations

import copy

import pytest

from qbsync.mapping import (
    FieldMapping,
    LineMapping,
    MappingError,
    ObjectMapping,
    ParentTarget,
    SObjectDescribe,
    build_lines,
    build_record,
    get_path,
    line_key,
    select_items,
)
from tests.support.builders import quickbooks_sample

REALM = "9130350000000000"
INVOICE = quickbooks_sample("invoice")
PAYMENT = quickbooks_sample("payment")
SALES_LINES = "Line[DetailType=SalesItemLineDetail]"


def sf_field(name, type_="string", length=0, **extra):
    return {
        "name": name,
        "type": type_,
        "length": length,
        "scale": extra.pop("scale", None),
        "precision": extra.pop("precision", 0),
        "relationshipName": extra.pop("relationshipName", None),
        "referenceTo": extra.pop("referenceTo", []),
        "createable": True,
        "updateable": True,
    }


TRANSACTION = SObjectDescribe.from_json(
    {
        "name": "QB_Transaction__c",
        "fields": [
            sf_field("Name", "string", 80),
            sf_field("QB_External_Id__c", "string", 255),
            sf_field("Total_Amount__c", "currency", scale=2, precision=16),
            sf_field("Currency_Code__c", "string", 3),
            sf_field("Exchange_Rate__c", "double", scale=6, precision=12),
            sf_field("Crew__c", "string", 20),
            sf_field(
                "Account__c",
                "reference",
                18,
                relationshipName="Account__r",
                referenceTo=["Account"],
            ),
        ],
    }
)
LINE = SObjectDescribe.from_json(
    {
        "name": "QB_Transaction_Line__c",
        "fields": [
            sf_field("QB_External_Id__c", "string", 255),
            sf_field(
                "Transaction__c",
                "reference",
                18,
                relationshipName="Transaction__r",
                referenceTo=["QB_Transaction__c"],
            ),
            sf_field(
                "Product__c",
                "reference",
                18,
                relationshipName="Product__r",
                referenceTo=["Product2"],
            ),
            sf_field("Line_Number__c", "double", scale=0, precision=6),
            sf_field("Description__c", "textarea", 10),
            sf_field("Quantity__c", "double", scale=4, precision=14),
            sf_field("Amount__c", "currency", scale=2, precision=16),
        ],
    }
)
PAYMENT_LINE = SObjectDescribe.from_json(
    {
        "name": "QB_Payment_Line__c",
        "fields": [
            sf_field("QB_External_Id__c", "string", 255),
            sf_field(
                "Payment__c",
                "reference",
                18,
                relationshipName="Payment__r",
                referenceTo=["QB_Payment__c"],
            ),
            sf_field(
                "Transaction__c",
                "reference",
                18,
                relationshipName="Transaction__r",
                referenceTo=["QB_Transaction__c"],
            ),
            sf_field("Amount__c", "currency", scale=2, precision=16),
        ],
    }
)
PARENTS = {
    "Customer": ParentTarget("Account", "QB_External_Id__c"),
    "Item": ParentTarget("Product2", "QB_External_Id__c"),
    "Invoice": ParentTarget("QB_Transaction__c", "QB_External_Id__c"),
}


def fm(qb, sf, reference_to=None, **extra):
    return FieldMapping(qb, sf, reference_to=reference_to, **extra)


PRODUCT_LINES = LineMapping(
    collection_path=SALES_LINES,
    salesforce_object="QB_Transaction_Line__c",
    external_id_field="QB_External_Id__c",
    parent_field="Transaction__c",
    field_mappings=(
        fm("LineNum", "Line_Number__c"),
        fm("Description", "Description__c"),
        fm("Amount", "Amount__c"),
        fm("SalesItemLineDetail.Qty", "Quantity__c"),
        fm("SalesItemLineDetail.ItemRef", "Product__c", reference_to="Item"),
    ),
)
INVOICES = ObjectMapping(
    "Invoice",
    "QB_Transaction__c",
    "QB_External_Id__c",
    field_mappings=(
        fm("TotalAmt", "Total_Amount__c"),
        fm("CurrencyRef.value", "Currency_Code__c"),
        fm("ExchangeRate", "Exchange_Rate__c", default_value="1"),
        fm("CustomField[Name=Crew #].StringValue", "Crew__c"),
        fm("CustomerRef", "Account__c", reference_to="Customer"),
    ),
    line_mappings=(PRODUCT_LINES,),
)
PAYMENT_LINES = LineMapping(
    "Line",
    "QB_Payment_Line__c",
    "QB_External_Id__c",
    "Payment__c",
    (
        fm("Amount", "Amount__c"),
        fm("LinkedTxn[TxnType=Invoice].TxnId", "Transaction__c", reference_to="Invoice"),
    ),
)
PAYMENTS = ObjectMapping(
    "Payment", "QB_Payment__c", "QB_External_Id__c", line_mappings=(PAYMENT_LINES,)
)
INVOICE_KEY = f"{REALM}-Invoice-130"


def test_each_keyed_item_of_the_collection_becomes_one_line_body():
    bodies = build_lines(INVOICE, INVOICES, PRODUCT_LINES, LINE, REALM, PARENTS)
    # The SubTotalLineDetail line has neither a DetailType match nor an Id: not synced.
    assert [b.external_id for b in bodies] == [
        f"{INVOICE_KEY}-1",
        f"{INVOICE_KEY}-2",
        f"{INVOICE_KEY}-3",
    ]
    assert bodies[2].fields == {
        "QB_External_Id__c": f"{INVOICE_KEY}-3",
        "Transaction__r": {"QB_External_Id__c": INVOICE_KEY},
        "Line_Number__c": 3,
        "Description__c": "Concrete f",
        "Amount__c": 47.5,
        "Quantity__c": 5,
        "Product__r": {"QB_External_Id__c": f"{REALM}-Item-3"},
    }
    # Description__c holds 10 characters: cut, with the warning naming the line.
    assert bodies[2].warnings == ["line 3: Description → Description__c: 34 characters cut to 10"]


def test_the_header_maps_currency_exchange_rate_and_custom_fields_by_name():
    record = copy.deepcopy(INVOICE)
    body = build_record(record, INVOICES, TRANSACTION, REALM, PARENTS)
    assert body.fields["Currency_Code__c"] == "USD"
    assert body.fields["Exchange_Rate__c"] == 1  # absent in QuickBooks: the default
    assert body.fields["Crew__c"] == "102"
    record["ExchangeRate"] = 1.2345678
    record["CustomField"] = [{"DefinitionId": "1", "Name": "Crew #", "Type": "StringType"}]
    body = build_record(record, INVOICES, TRANSACTION, REALM, PARENTS)
    assert body.fields["Exchange_Rate__c"] == 1.234568
    assert body.fields["Crew__c"] is None  # the custom field has no value: cleared


def test_payment_lines_are_keyed_by_the_transaction_they_link():
    bodies = build_lines(PAYMENT, PAYMENTS, PAYMENT_LINES, PAYMENT_LINE, REALM, PARENTS)
    key = f"{REALM}-Payment-163-Invoice70"
    assert [b.fields for b in bodies] == [
        {
            "QB_External_Id__c": key,
            "Payment__r": {"QB_External_Id__c": f"{REALM}-Payment-163"},
            "Amount__c": 55,
            "Transaction__r": {"QB_External_Id__c": f"{REALM}-Invoice-70"},
        }
    ]


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"Id": "7", "LinkedTxn": [{"TxnId": "1", "TxnType": "Invoice"}]}, "7"),
        ({"Id": 8}, "8"),
        (
            {
                "LinkedTxn": [
                    {"TxnId": "69", "TxnType": "Invoice"},
                    {"TxnId": "2", "TxnType": "CreditMemo"},
                ]
            },
            "Invoice69",
        ),
        ({"LinkedTxn": []}, None),
        ({"LinkedTxn": [{"TxnId": "69"}]}, None),
        ({"Amount": 1, "DetailType": "SubTotalLineDetail"}, None),
    ],
)
def test_line_key(item, expected):
    assert line_key(item) == expected


def test_items_are_selected_by_the_collection_path():
    record = {
        "Line": [
            {"Id": "1", "DetailType": "SalesItemLineDetail"},
            {"Id": "2", "DetailType": "DescriptionOnly"},
            "not an item",
            {"Id": "3", "DetailType": "SalesItemLineDetail"},
        ]
    }
    assert [i["Id"] for i in select_items(record, SALES_LINES)] == ["1", "3"]
    assert [i["Id"] for i in select_items(record, "Line[DetailType=DescriptionOnly]")] == ["2"]
    assert [i["Id"] for i in select_items(record, "Line")] == ["1", "2", "3"]
    assert select_items({}, "Line") == []
    assert select_items({"Line": {"Id": "1"}}, "Line") == []


def test_selector_paths_pick_the_first_matching_item():
    assert get_path(INVOICE, "CustomField[Name=Crew #].StringValue") == "102"
    assert get_path(INVOICE, "LinkedTxn[TxnType=Estimate].TxnId") == "100"
    assert get_path(PAYMENT["Line"][0], "LinkedTxn[TxnType=Invoice].TxnId") == "70"
    missing = get_path(INVOICE, "CustomField[Name=Other].StringValue")
    assert missing is get_path(INVOICE, "NoSuch")  # both absent


def test_a_line_that_cannot_be_mapped_fails_the_record_naming_the_line():
    record = copy.deepcopy(INVOICE)
    record["Line"][1]["SalesItemLineDetail"]["Qty"] = "lots"
    with pytest.raises(MappingError, match=r"^Line\[DetailType=SalesItemLineDetail\] line 2: "):
        build_lines(record, INVOICES, PRODUCT_LINES, LINE, REALM, PARENTS)


def test_a_parent_field_that_is_not_a_reference_is_a_mapping_error():
    lines = LineMapping(SALES_LINES, "QB_Transaction_Line__c", "QB_External_Id__c", "Amount__c")
    with pytest.raises(MappingError, match="Parent_Field__c Amount__c is not a lookup"):
        build_lines(INVOICE, INVOICES, lines, LINE, REALM, PARENTS)


def test_an_invoice_with_1000_lines_maps_every_line_once():
    record = copy.deepcopy(INVOICE)
    template = record["Line"][0]
    record["Line"] = []
    for n in range(1, 1001):
        item = copy.deepcopy(template)
        item.update(Id=str(n), LineNum=n, Amount=n * 1.25)
        record["Line"].append(item)
    # Its speed is a benchmark figure (scripts/bench --invoices), not a timed test.
    bodies = build_lines(record, INVOICES, PRODUCT_LINES, LINE, REALM, PARENTS)
    assert len(bodies) == 1000
    assert len({b.external_id for b in bodies}) == 1000
    assert bodies[-1].fields["Amount__c"] == 1250


def test_a_collection_inside_a_selected_line_is_read_through_its_path():
    # A bundle (group) line holds its own lines: QuickBooks' GroupLineDetail.Line.
    record = {
        "Line": [
            {"Id": "1", "DetailType": "SalesItemLineDetail"},
            {
                "Id": "2",
                "DetailType": "GroupLineDetail",
                "GroupLineDetail": {"Line": [{"Id": "21"}, {"Id": "22"}]},
            },
        ],
        "TxnTaxDetail": {"TaxLine": [{"Amount": 1.5}]},
    }
    path = "Line[DetailType=GroupLineDetail].GroupLineDetail.Line"
    assert [i["Id"] for i in select_items(record, path)] == ["21", "22"]
    assert select_items(record, "TxnTaxDetail.TaxLine") == [{"Amount": 1.5}]
    assert select_items(record, "Line[DetailType=Other].GroupLineDetail.Line") == []


def test_a_selector_skips_items_without_the_member_it_compares():
    record = {
        "CustomField": [
            {"DefinitionId": "1", "Type": "StringType"},
            {"DefinitionId": "2", "Name": "Crew #", "StringValue": "7"},
        ]
    }
    assert get_path(record, "CustomField[Name=Crew #].StringValue") == "7"


def test_a_line_with_an_empty_id_is_keyed_by_the_transaction_it_links():
    item = {"Id": "", "LinkedTxn": [{"TxnId": "69", "TxnType": "Invoice"}]}
    assert line_key(item) == "Invoice69"


def test_a_record_without_an_id_has_no_lines_and_no_body():
    record = copy.deepcopy(INVOICE)
    del record["Id"]
    with pytest.raises(MappingError, match=r"^QuickBooks Invoice record has no Id$"):
        build_lines(record, INVOICES, PRODUCT_LINES, LINE, REALM, PARENTS)
    with pytest.raises(MappingError, match=r"^QuickBooks Invoice record has no Id$"):
        build_record(record, INVOICES, TRANSACTION, REALM, PARENTS)


def test_a_line_external_id_field_missing_from_the_describe_is_named():
    lines = LineMapping(SALES_LINES, "QB_Transaction_Line__c", "QB_Key__c", "Transaction__c")
    with pytest.raises(MappingError) as raised:
        build_lines(INVOICE, INVOICES, lines, LINE, REALM, PARENTS)
    assert str(raised.value) == (
        "INVALID_FIELD: External_Id_Field__c QB_Key__c does not exist on QB_Transaction_Line__c"
    )


def test_lines_after_a_subtotal_line_are_still_synced():
    record = copy.deepcopy(INVOICE)
    subtotal = record["Line"].pop()
    record["Line"].insert(0, subtotal)
    lines = LineMapping(
        "Line",
        "QB_Transaction_Line__c",
        "QB_External_Id__c",
        "Transaction__c",
        (fm("Amount", "Amount__c"),),
    )
    bodies = build_lines(record, INVOICES, lines, LINE, REALM, PARENTS)
    assert [b.external_id for b in bodies] == [f"{INVOICE_KEY}-{n}" for n in (1, 2, 3)]


def test_a_line_referring_to_an_unmapped_object_names_the_line_and_the_fix():
    parents = {key: value for key, value in PARENTS.items() if key != "Item"}
    with pytest.raises(MappingError) as raised:
        build_lines(INVOICE, INVOICES, PRODUCT_LINES, LINE, REALM, parents)
    assert str(raised.value) == (
        "Line[DetailType=SalesItemLineDetail] line 1: SalesItemLineDetail.ItemRef refers to "
        "QuickBooks Item, which has no object mapping; map Item before mapping "
        "SalesItemLineDetail.ItemRef to Product__c"
    )


def test_a_selection_that_matches_no_item_is_absent_like_a_missing_field():
    absent = get_path(INVOICE, "NoSuch")
    assert get_path(INVOICE, "LinkedTxn[TxnType=Bill]") is absent
    assert get_path(INVOICE, "CustomField[Name=Other]") is absent
