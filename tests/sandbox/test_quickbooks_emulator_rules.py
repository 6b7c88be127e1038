"""The QuickBooks emulator's query language and write rules over raw HTTP, where the exact
answer matters more than what a client library makes of it (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from qbsync_sandbox.emulators.quickbooks import QboState, create_qbo_app
from tests.support.emulators import serving_quickbooks

REDIRECT = "https://middleware.example/callback"


class Api:
    def __init__(self, base: str, realm: str, token: str) -> None:
        self.base, self.realm, self.token = base, realm, token

    def post(self, path: str, body: object, **params: str) -> requests.Response:
        return requests.post(
            f"{self.base}/v3/company/{self.realm}/{path}",
            json=body,
            params=params,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
            timeout=10,
        )

    def query(self, statement: str) -> requests.Response:
        return requests.post(
            f"{self.base}/v3/company/{self.realm}/query",
            data=statement,
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/json",
                "Content-Type": "application/text",
            },
            timeout=10,
        )


@pytest.fixture
def api() -> Iterator[Api]:
    state = QboState()
    realm = state.create_company("9341455130166777")
    app = create_qbo_app(
        state, verifier_token="v", client_id="cid", client_secret="secret", start_deliverer=False
    )
    with serving_quickbooks(app) as base:
        consent = requests.get(
            f"{base}/connect/oauth2",
            params={
                "client_id": "cid",
                "response_type": "code",
                "scope": "com.intuit.quickbooks.accounting",
                "redirect_uri": REDIRECT,
                "state": "s",
            },
            allow_redirects=False,
            timeout=10,
        )
        code = parse_qs(urlsplit(consent.headers["Location"]).query)["code"][0]
        tokens = requests.post(
            f"{base}/oauth2/v1/tokens/bearer",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
            auth=("cid", "secret"),
            timeout=10,
        ).json()
        yield Api(base, realm, tokens["access_token"])


def error_of(response: requests.Response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    (error,) = response.json()["Fault"]["Error"]
    return error


def test_a_selected_property_that_does_not_exist_is_a_4001(api: Api) -> None:
    error = error_of(api.query("select *, Nope from Item"))
    assert (error["code"], error["Detail"]) == (
        "4001",
        "QueryValidationError: property 'Nope' is not queryable",
    )


def test_order_by_a_property_that_is_not_sortable_is_a_4001(api: Api) -> None:
    assert error_of(api.query("select * from Vendor ORDER BY Balance"))["code"] == "4001"


# Each listed entity (listed_properties.py): a property QuickBooks does not filter on, and a filter
# it answers.
LISTED = [
    ("Bill", "PrivateNote", "VendorRef = '1'"),
    ("BillPayment", "PayType", "DocNumber = '7'"),
    ("Budget", "BudgetDetail", "StartDate > '2026-01-01'"),
    ("Class", "ParentRef", "Name = 'East'"),
    ("CompanyCurrency", "CustomField", "Code = 'EUR'"),
    ("CreditMemo", "PrivateNote", "CustomerRef = '1'"),
    ("Department", "ParentRef", "Active = true"),
    ("Deposit", "DepositToAccountRef", "TxnDate >= '2026-01-01'"),
    ("Estimate", "TxnStatus", "DocNumber = '1001'"),
    ("Invoice", "CustomerMemo", "DocNumber = '1001'"),
    ("JournalCode", "Description", "Name = 'VT'"),
    ("JournalEntry", "Adjustment", "TxnDate < '2030-01-01'"),
    ("Payment", "PaymentRefNum", "CustomerRef = '1'"),
    ("PaymentMethod", "NoSuchProperty", "Name = 'Cash'"),
    ("Preferences", "SalesFormsPrefs", "MetaData.LastUpdatedTime > '2026-01-01'"),
    ("Purchase", "PrivateNote", "PaymentType = 'Cash'"),
    ("PurchaseOrder", "Memo", "POStatus = 'Open'"),
    ("RefundReceipt", "PaymentRefNum", "TxnDate > '2026-01-01'"),
    ("SalesReceipt", "PaymentRefNum", "DocNumber LIKE '10%'"),
    ("TaxAgency", "TaxRegistrationNumber", "DisplayName = 'State'"),
    ("Term", "DueDays", "Name = 'Net 30'"),
    ("TimeActivity", "EmployeeRef", "TxnDate = '2026-01-02'"),
    ("Transfer", "FromAccountRef", "Amount > 10"),
    ("VendorCredit", "PrivateNote", "VendorRef = '2'"),
]


@pytest.mark.parametrize(("entity", "not_queryable", "answered"), LISTED)
def test_every_listed_entity_refuses_what_quickbooks_refuses(
    api: Api, entity: str, not_queryable: str, answered: str
) -> None:
    select = f"select * from {entity}"  # noqa: S608 - a query built from the table's literals
    refused = error_of(api.query(f"{select} where {not_queryable} = 'x'"))
    assert (refused["code"], refused["Detail"]) == (
        "4001",
        f"QueryValidationError: property '{not_queryable}' is not queryable",
    )
    sorted_by = error_of(api.query(f"{select} ORDERBY {not_queryable}"))
    assert sorted_by["code"] == "4001"
    found = api.query(f"{select} where {answered}")
    assert found.status_code == 200, found.text
    assert found.json()["QueryResponse"] == {}
    unknown = error_of(api.post(entity.lower(), {"Colour": "red"}))
    assert (unknown["code"], unknown["element"]) == ("2010", "Colour")


def test_a_listed_entity_finds_by_a_queryable_property_and_drops_read_only_ones(api: Api) -> None:
    term = api.post("term", {"Name": "Net 30", "DueDays": "30", "Active": "true"}).json()["Term"]
    assert (term["DueDays"], term["Active"]) == (30, True)
    found = api.query("select * from Term where Name = 'Net 30'").json()["QueryResponse"]
    assert [t["Id"] for t in found["Term"]] == [term["Id"]]
    east = api.post("class", {"Name": "East", "FullyQualifiedName": "Made:Up", "SubClass": False})
    assert east.json()["Class"]["FullyQualifiedName"] == "East"
    refused = error_of(api.post("term", {"Name": "Bad", "DueDays": "soon"}))
    assert (refused["code"], refused["element"]) == ("2010", "DueDays")


def test_an_unknown_property_names_itself(api: Api) -> None:
    error = error_of(api.post("customer", {"DisplayName": "X", "Colour": "red"}))
    assert error["code"] == "2010" and error["element"] == "Colour"


def test_a_number_must_be_a_number(api: Api) -> None:
    item = {"Name": "Odd", "IncomeAccountRef": {"value": "1"}, "UnitPrice": "cheap"}
    assert error_of(api.post("item", item))["element"] == "UnitPrice"
    item["UnitPrice"] = "12.50"
    assert api.post("item", item).json()["Item"]["UnitPrice"] == 12.5


def test_a_replayed_failure_is_replayed_too(api: Api) -> None:
    first = api.post("customer", {"DisplayName": ""}, requestid="r-1")
    assert error_of(first)["code"] == "2020"
    again = api.post("customer", {"DisplayName": "Valid Now"}, requestid="r-1")
    assert again.status_code == 400 and again.json()["Fault"] == first.json()["Fault"]


def test_a_batch_of_more_than_30_items_is_refused(api: Api) -> None:
    items = [
        {"bId": str(n), "operation": "create", "Customer": {"DisplayName": f"C{n}"}}
        for n in range(31)
    ]
    assert error_of(api.post("batch", {"BatchItemRequest": items}))["code"] == "1040"
    assert api.query("select count(*) from Customer").json()["QueryResponse"]["totalCount"] == 0


def test_a_batch_query_item(api: Api) -> None:
    api.post("customer", {"DisplayName": "In Batch"})
    body = {"BatchItemRequest": [{"bId": "q1", "Query": "select * from Customer"}]}
    (item,) = api.post("batch", body).json()["BatchItemResponse"]
    assert item["bId"] == "q1"
    assert [c["DisplayName"] for c in item["QueryResponse"]["Customer"]] == ["In Batch"]


def test_the_production_discovery_path_is_served_too(api: Api) -> None:
    document = requests.get(f"{api.base}/.well-known/openid_configuration", timeout=10).json()
    assert document["token_endpoint"] == f"{api.base}/oauth2/v1/tokens/bearer"


@pytest.mark.parametrize("name", ["Invoice", "SalesReceipt", "CreditMemo", "Estimate"])
def test_a_sales_form_without_a_line_is_a_2020(api: Api, name: str) -> None:
    entity = name.lower()
    customer = api.post("customer", {"DisplayName": f"Buyer of {entity}"}).json()["Customer"]
    form = {"CustomerRef": {"value": customer["Id"]}}
    for body in (form, {**form, "Line": []}):
        error = error_of(api.post(entity, body))
        # The Fault third parties quote from production for an invoice without Line.
        assert error == {
            "Message": "Required param missing, need to supply the required value for the API",
            "Detail": "Required parameter Line is missing in the request",
            "code": "2020",
            "element": "Line",
        }
    line = {"Amount": 10.0, "DetailType": "SalesItemLineDetail"}
    created = api.post(entity, {**form, "Line": [line]})
    assert created.status_code == 200, created.text
    saved = created.json()[name]
    # A full update that leaves Line out clears it, and is refused the same way.
    update = {**form, "Id": saved["Id"], "SyncToken": saved["SyncToken"]}
    assert error_of(api.post(entity, update))["element"] == "Line"
    sparse = api.post(entity, {**update, "sparse": True, "PrivateNote": "kept lines"})
    assert sparse.status_code == 200, sparse.text
    kept = sparse.json()[name]
    assert (kept["PrivateNote"], kept["Line"][0]["Amount"]) == ("kept lines", 10.0)
