"""A small catalog document in the shape contract-10 gives the packaged one: Invoice with its
product lines, Payment with its linked invoices, and a recommended Invoice mapping with lines.
Tests of collections use it so that they do not depend on what the packaged catalog lists."""

from __future__ import annotations

SALES_LINES = {
    "path": "Line[DetailType=SalesItemLineDetail]",
    "label": "Product and service lines",
    "fields": [
        {"path": "Id", "label": "Line Id", "type": "string"},
        {"path": "LineNum", "label": "Line Number", "type": "integer"},
        {"path": "Description", "label": "Description", "type": "string", "maxLength": 4000},
        {"path": "Amount", "label": "Amount", "type": "decimal"},
        {
            "path": "SalesItemLineDetail.ItemRef",
            "label": "Product/Service",
            "type": "reference",
            "referenceTo": "Item",
        },
        {"path": "SalesItemLineDetail.Qty", "label": "Quantity", "type": "decimal"},
    ],
}
DESCRIPTION_LINES = {
    "path": "Line[DetailType=DescriptionOnly]",
    "label": "Description lines",
    "fields": [
        {"path": "Description", "label": "Description", "type": "string", "maxLength": 4000},
        {"path": "Amount", "label": "Amount", "type": "decimal"},
    ],
}
PAYMENT_LINES = {
    "path": "Line",
    "label": "Invoices paid",
    "fields": [
        {"path": "Amount", "label": "Amount", "type": "decimal"},
        {
            "path": "LinkedTxn[TxnType=Invoice].TxnId",
            "label": "Invoice",
            "type": "reference",
            "referenceTo": "Invoice",
        },
    ],
}


def entity(name, fields=(), collections=None):
    raw = {
        "name": name,
        "label": name,
        "operations": ["Create", "Update"],
        "cdc": True,
        "fields": [{"path": "Id", "label": "Id", "type": "string"}, *fields],
    }
    if collections is not None:
        raw["collections"] = collections
    return raw


def transactions_catalog() -> dict:
    def ref(path, to):
        return {"path": path, "label": path, "type": "reference", "referenceTo": to}

    def decimal(path):
        return {"path": path, "label": path, "type": "decimal"}

    return {
        "version": 1,
        "entities": [
            entity("Item", [{"path": "Name", "label": "Name", "type": "string"}]),
            entity("Customer", [{"path": "DisplayName", "label": "Name", "type": "string"}]),
            entity(
                "Invoice",
                [decimal("TotalAmt"), decimal("Balance"), ref("CustomerRef", "Customer")],
                [SALES_LINES, DESCRIPTION_LINES],
            ),
            entity(
                "Payment",
                [decimal("TotalAmt"), ref("CustomerRef", "Customer")],
                collections=[PAYMENT_LINES],
            ),
        ],
        "recommended": [
            {
                "qbObject": "Invoice",
                "salesforceObject": "QB_Transaction__c",
                "externalIdField": "QB_External_Id__c",
                "deleteBehavior": "Delete",
                "fields": [{"qbField": "TotalAmt", "salesforceField": "Total_Amount__c"}],
                "lines": [
                    {
                        "collectionPath": "Line[DetailType=SalesItemLineDetail]",
                        "salesforceObject": "QB_Transaction_Line__c",
                        "externalIdField": "QB_External_Id__c",
                        "parentField": "Transaction__c",
                        "fields": [
                            {"qbField": "Amount", "salesforceField": "Amount__c"},
                            {
                                "qbField": "SalesItemLineDetail.ItemRef",
                                "salesforceField": "Product__c",
                            },
                        ],
                    }
                ],
            }
        ],
    }
