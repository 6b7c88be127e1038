"""The catalog's collections (issue 10): the lists whose items line mappings map, and the
validation of a line field path against its collection. An inline document in the contract's
shape keeps these tests independent of what the packaged catalog lists."""

from __future__ import annotations

import copy

import pytest

from qbsync.catalog import CatalogError, parse_catalog
from tests.support.catalogs import SALES_LINES
from tests.support.catalogs import transactions_catalog as document


def test_collections_are_read_with_their_fields():
    catalog = parse_catalog(document())
    invoice = catalog.entity("invoice")
    lines = invoice.collection("Line[DetailType=SalesItemLineDetail]")
    assert lines.label == "Product and service lines"
    assert lines.match("Amount").type == "decimal"
    assert lines.match("SalesItemLineDetail.ItemRef.value").reference_to == "Item"
    assert invoice.collection("Line") is None
    assert catalog.entity("Customer").collections == ()


def test_a_path_into_a_collection_is_recognised_as_one():
    invoice = parse_catalog(document()).entity("Invoice")
    assert (
        invoice.in_collection("Line[DetailType=DescriptionOnly].Amount").path == SALES_LINES["path"]
    )
    assert invoice.in_collection("TotalAmt") is None


def test_recommended_lines_are_read():
    (recommended,) = parse_catalog(document()).recommended
    (lines,) = recommended.lines
    assert (lines.collection_path, lines.salesforce_object, lines.parent_field) == (
        "Line[DetailType=SalesItemLineDetail]",
        "QB_Transaction_Line__c",
        "Transaction__c",
    )
    assert [f.qb_field for f in lines.fields] == ["Amount", "SalesItemLineDetail.ItemRef"]


@pytest.mark.parametrize(
    ("qb_object", "collection", "qb_field", "expected"),
    [
        ("Invoice", "Line[DetailType=SalesItemLineDetail]", "Amount", None),
        ("invoice", "Line[DetailType=SalesItemLineDetail]", "SalesItemLineDetail.ItemRef", None),
        (
            "Invoice",
            "Line[DetailType=SalesItemLineDetail]",
            "SalesItemLineDetail.ItemRef.value",
            None,
        ),
        ("Payment", "Line", "LinkedTxn[TxnType=Invoice].TxnId", None),
        (
            "Invoice",
            "Line[DetailType=SalesItemLineDetail]",
            "amount",
            "Unknown field 'amount' on the items of Line[DetailType=SalesItemLineDetail] of "
            "Invoice; did you mean 'Amount'?",
        ),
        (
            "Invoice",
            "Line[DetailType=SalesItemLineDetail]",
            "Line.Amount",
            "Unknown field 'Line.Amount' on the items of Line[DetailType=SalesItemLineDetail] of "
            "Invoice.",
        ),
        (
            "Invoice",
            "Line",
            "Amount",
            "Unknown collection 'Line' on QuickBooks object Invoice; its collections: "
            "Line[DetailType=SalesItemLineDetail], Line[DetailType=DescriptionOnly].",
        ),
        (
            "Customer",
            "Line",
            "Amount",
            "Unknown collection 'Line' on QuickBooks object Customer; its collections: none.",
        ),
        (
            "Invoice",
            "Line[DetailType=SalesItemLineDetail]",
            "",
            "QuickBooks field is empty in a line mapping for Line[DetailType=SalesItemLineDetail] "
            "of Invoice.",
        ),
        (
            "Invoice",
            "Line[DetailType=SalesItemLineDetail]",
            "Amount..x",
            "QuickBooks field 'Amount..x' on Line[DetailType=SalesItemLineDetail] of Invoice is "
            "not a field path: names joined by dots, each optionally selecting list items by "
            "[Member=Value].",
        ),
        (
            "Nope",
            "Line",
            "Amount",
            "Unknown QuickBooks object 'Nope'; expected one of: Item, Customer, Invoice, Payment.",
        ),
    ],
)
def test_validate_line_mapping(qb_object, collection, qb_field, expected):
    catalog = parse_catalog(document())
    assert catalog.validate_line_mapping(qb_object, collection, qb_field) == expected


def _break(mutate):
    doc = copy.deepcopy(document())
    mutate(doc)
    return doc


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["entities"][2].update(collections="Line"),
            "'collections' is missing or not a list",
        ),
        (
            lambda d: d["entities"][2]["collections"].append(copy.deepcopy(SALES_LINES)),
            "a collection is listed twice",
        ),
        (
            lambda d: d["entities"][2]["collections"][0].update(path="Line[Detail"),
            "not a path in the documented syntax",
        ),
        (
            lambda d: d["entities"][2]["collections"][0]["fields"].append(
                {"path": "Amount", "label": "again", "type": "decimal"}
            ),
            "a field path is listed twice",
        ),
        (
            lambda d: d["entities"][3]["collections"][0]["fields"][1].update(referenceTo="Bill"),
            "referenceTo 'Bill' is not a catalog entity",
        ),
        (
            lambda d: d["recommended"][0]["lines"][0].update(collectionPath="Line"),
            "'Line' is not a collection of Invoice",
        ),
        (
            lambda d: d["recommended"][0]["lines"][0]["fields"].append(
                {"qbField": "Qty", "salesforceField": "Quantity__c"}
            ),
            "'Qty' is not a field of its items",
        ),
        (
            lambda d: d["recommended"][0]["lines"][0].pop("parentField"),
            "'parentField' is missing or not a str",
        ),
    ],
)
def test_malformed_collections_are_refused(mutate, message):
    with pytest.raises(CatalogError, match=message.replace("[", r"\[")):
        parse_catalog(_break(mutate))
