"""The `Preferences` of an emulated company: a subset of the sections Intuit's Preferences entity
has (developer.intuit.com …/api/accounting/all-entities/preferences; python-quickbooks
`objects/preferences.py` reads the same section names), with the settings of a new US company."""

from __future__ import annotations

from typing import Any


def company_preferences(metadata: dict[str, str]) -> dict[str, Any]:
    """One company's Preferences record; it has no Id of its own beyond "1" and never changes."""
    return {
        "AccountingInfoPrefs": {
            "TrackDepartments": False,
            "ClassTrackingPerTxn": False,
            "ClassTrackingPerTxnLine": False,
            "CustomerTerminology": "Customers",
        },
        "ProductAndServicesPrefs": {
            "ForSales": True,
            "ForPurchase": True,
            "QuantityWithPriceAndRate": True,
            "QuantityOnHand": True,
        },
        "SalesFormsPrefs": {
            "AllowDeposit": False,
            "AllowDiscount": True,
            "AllowShipping": False,
            "AllowServiceDate": False,
            "CustomTxnNumbers": False,
            "ETransactionEnabledStatus": "NotApplicable",
        },
        "VendorAndPurchasesPrefs": {
            "TrackingByCustomer": True,
            "BillableExpenseTracking": True,
        },
        "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": True},
        "CurrencyPrefs": {
            "MultiCurrencyEnabled": False,
            "HomeCurrency": {"value": "USD"},
        },
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "domain": "QBO",
        "sparse": False,
        "Id": "1",
        "SyncToken": "0",
        "MetaData": dict(metadata),
    }
