"""qbsync.drift and `qbsync verify`: missing, stale and unexpected records, exit codes.

Salesforce is the real SalesforceClient with HTTP mocked by `responses` (query results and
describe in their documented shapes, research salesforce.md). QuickBooks is a list of records
behind `query_all(realm, entity)` (`QuickBooksRecords`; the client's own paging is tested in
test_quickbooks_client.py); the records are Intuit's Customer sample, research §6.
"""

from __future__ import annotations

import copy
import json
import re
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from click.testing import CliRunner
from cryptography.fernet import Fernet

from qbsync import drift
from qbsync.catalog import load_catalog
from qbsync.cli import main
from qbsync.config import Settings
from qbsync.salesforce.auth import SalesforceLogin
from qbsync.salesforce.client import SalesforceClient
from qbsync.services import Services

REALM = "9130350000000000"
INSTANCE = "https://example.my.salesforce.com"
API = f"{INSTANCE}/services/data/v66.0"
SF_QUERY = re.compile(rf"^{re.escape(API)}/query/")
CATALOG = load_catalog()

CUSTOMER = {
    "domain": "QBO",
    "DisplayName": "Amy's Bird Sanctuary",
    "PrimaryPhone": {"FreeFormNumber": "(650) 555-3311"},
    "Active": True,
    "MetaData": {"LastUpdatedTime": "2015-07-01T10:14:15-07:00"},
    "BillAddr": {"City": "Bayshore", "Line1": "4581 Finch St.", "Id": "2"},
    "Balance": 274.0,
    "Id": "1",
}


def customer(id_: str, **changes) -> dict:
    return {**copy.deepcopy(CUSTOMER), "Id": id_, **changes}


def field(name, type_="string", length=255, **extra):
    return {
        "name": name,
        "type": type_,
        "length": length,
        "scale": extra.get("scale", 0),
        "relationshipName": extra.get("relationshipName"),
        "referenceTo": extra.get("referenceTo", []),
        "createable": True,
        "updateable": True,
    }


ACCOUNT_DESCRIBE = {
    "name": "Account",
    "fields": [
        field("Id", "id", 18),
        field("Name"),
        field("BillingCity", length=40),
        field("Phone", "phone", 40),
        field("AnnualRevenue", "currency", 0, scale=2),
        field("QB_Active__c", "boolean", 0),
        field("QB_External_Id__c"),
    ],
}

FIELDS = (
    ("DisplayName", "Name"),
    ("BillAddr.City", "BillingCity"),
    ("PrimaryPhone.FreeFormNumber", "Phone"),
    ("Balance", "AnnualRevenue"),
    ("Active", "QB_Active__c"),
)


def mapping_row(delete_behavior="Deactivate", realtime=True):
    children = [
        {"Id": f"a02{i}", "QB_Field__c": qb, "Salesforce_Field__c": sf}
        for i, (qb, sf) in enumerate(FIELDS)
    ]
    return {
        "Id": "a01000000000001AAA",
        "QB_Object__c": "Customer",
        "Salesforce_Object__c": "Account",
        "External_Id_Field__c": "QB_External_Id__c",
        "Realtime_Enabled__c": realtime,
        "Delete_Behavior__c": delete_behavior,
        "Field_Mapping_Count__c": float(len(children)),
        "Company__r": {"Realm_Id__c": REALM, "Status__c": "Connected"},
        "Field_Mappings__r": {"totalSize": len(children), "done": True, "records": children},
    }


def account(qb_id: str, sf_id: str, **changes) -> dict:
    """The Salesforce record the worker writes for `customer(qb_id)`, as SOQL returns it."""
    return {
        "attributes": {"type": "Account", "url": f"/services/data/v66.0/sobjects/Account/{sf_id}"},
        "Id": sf_id,
        "QB_External_Id__c": f"{REALM}-Customer-{qb_id}",
        "Name": "Amy's Bird Sanctuary",
        "BillingCity": "Bayshore",
        "Phone": "(650) 555-3311",
        "AnnualRevenue": 274.0,
        "QB_Active__c": True,
        **changes,
    }


class QuickBooksRecords:
    """The records `select * from <Entity>` pages through (active name-list records only)."""

    def __init__(self, *records: dict) -> None:
        self.records = list(records)
        self.calls: list[tuple[str, str]] = []

    def query_all(self, realm_id: str, entity: str) -> list[dict]:
        self.calls.append((realm_id, entity))
        return copy.deepcopy(self.records)


class Org:
    """Answers the configuration query and the verify query; remembers the SOQL it was sent."""

    def __init__(self, mapping: dict, accounts: list[dict]) -> None:
        self.mapping, self.accounts, self.soql = mapping, accounts, []

    def __call__(self, request):
        soql = parse_qs(urlparse(request.url).query)["q"][0]
        self.soql.append(soql)
        records = [self.mapping] if "FROM QB_Object_Mapping__c" in soql else self.accounts
        body = {"totalSize": len(records), "done": True, "records": records}
        return 200, {}, json.dumps(body)


@pytest.fixture
def salesforce() -> SalesforceClient:
    settings = Settings(salesforce_login_url=INSTANCE)
    return SalesforceClient(
        settings, login_with=lambda s, session: SalesforceLogin(INSTANCE, "sf-session")
    )


def services(quickbooks: QuickBooksRecords, salesforce: SalesforceClient) -> Services:
    return Services(Settings(), quickbooks=quickbooks, salesforce=salesforce, catalog=CATALOG)


def serve(mapping: dict, accounts: list[dict]) -> Org:
    org = Org(mapping, accounts)
    responses.add_callback(responses.GET, SF_QUERY, callback=org)
    responses.get(f"{API}/sobjects/Account/describe", json=ACCOUNT_DESCRIBE)
    return org


@responses.activate
def test_clean_realm_has_no_drift(salesforce) -> None:
    org = serve(mapping_row(), [account("1", "001A"), account("2", "001B")])
    quickbooks = QuickBooksRecords(customer("1"), customer("2"))

    (report,) = drift.verify_realm(services(quickbooks, salesforce), REALM, None)

    assert report.clean
    assert (report.quickbooks_records, report.salesforce_records) == (2, 2)
    assert quickbooks.calls == [(REALM, "Customer")]
    columns = "Id, QB_External_Id__c, Name, BillingCity, Phone, AnnualRevenue, QB_Active__c"
    where = f"QB_External_Id__c LIKE '{REALM}-Customer-%'"
    assert org.soql[1] == f"SELECT {columns} FROM Account WHERE {where}"  # noqa: S608
    assert drift.format_report(REALM, [report]).endswith(f"realm {REALM}: no drift")


@responses.activate
def test_missing_stale_and_unexpected_records(salesforce) -> None:
    serve(
        mapping_row(delete_behavior="Delete"),
        [
            account("1", "001A"),
            account("2", "001B", BillingCity="Old Town"),
            account("9", "001Z"),  # deleted in QuickBooks, still in Salesforce
            account("4", "001X", QB_External_Id__c="77-Customer-4"),  # another realm's
        ],
    )
    quickbooks = QuickBooksRecords(customer("1"), customer("2"), customer("3"))

    (report,) = drift.verify_realm(services(quickbooks, salesforce), REALM, "customer")

    assert [(d.kind, d.qb_id, d.salesforce_id) for d in report.drift] == [
        ("stale", "2", "001B"),
        ("missing", "3", None),
        ("unexpected", "9", "001Z"),
    ]
    assert report.drift[0].detail == "BillingCity: Salesforce 'Old Town', QuickBooks 'Bayshore'"
    text = drift.format_report(REALM, [report])
    assert "1 missing, 1 stale, 1 unexpected" in text
    assert text.endswith("DRIFT")


@responses.activate
def test_deleted_records_follow_the_delete_behaviour(salesforce) -> None:
    accounts = [
        account("1", "001A"),
        account("8", "001Y", QB_Active__c=False),
        account("9", "001Z"),
    ]
    serve(mapping_row(delete_behavior="Deactivate"), accounts)
    quickbooks = QuickBooksRecords(customer("1"))

    (report,) = drift.verify_realm(services(quickbooks, salesforce), REALM, None)

    # Deactivate: 8 was deactivated (fine), 9 is still active (stale).
    assert [(d.kind, d.qb_id) for d in report.drift] == [("stale", "9")]
    assert "expected False" in report.drift[0].detail


@responses.activate
def test_ignore_keeps_deleted_records_without_drift(salesforce) -> None:
    serve(mapping_row(delete_behavior="Ignore"), [account("1", "001A"), account("9", "001Z")])

    (report,) = drift.verify_realm(
        services(QuickBooksRecords(customer("1")), salesforce), REALM, None
    )

    assert report.clean


@responses.activate
def test_values_compare_by_type(salesforce) -> None:
    # Salesforce answers numbers as floats and may hold null for an empty text.
    serve(mapping_row(), [account("1", "001A", AnnualRevenue=274, Phone=None)])
    quickbooks = QuickBooksRecords(customer("1", PrimaryPhone={"FreeFormNumber": ""}))

    (report,) = drift.verify_realm(services(quickbooks, salesforce), REALM, None)

    assert report.clean


@responses.activate
def test_an_unmapped_object_is_a_clear_error(salesforce) -> None:
    serve(mapping_row(), [])

    with pytest.raises(drift.VerifyError, match="'Vendor' has no object mapping"):
        drift.verify_realm(services(QuickBooksRecords(), salesforce), REALM, "Vendor")


# --- the command --------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path) -> dict[str, str]:
    return {
        "QBSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
        "QBSYNC_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "INTUIT_CLIENT_ID": "client",
        "INTUIT_CLIENT_SECRET": "secret",
        "SALESFORCE_LOGIN_URL": INSTANCE,
        "SALESFORCE_CLIENT_ID": "sf-client",
        "SALESFORCE_CLIENT_SECRET": "sf-secret",
    }


@responses.activate
@pytest.mark.parametrize(
    ("accounts", "exit_code", "last_line"),
    [
        ([account("1", "001A")], 0, "no drift"),
        ([account("1", "001A", Name="Someone else")], 1, "DRIFT"),
    ],
)
def test_verify_command_exit_code(cli_env, salesforce, accounts, exit_code, last_line) -> None:
    serve(mapping_row(), accounts)
    given = services(QuickBooksRecords(customer("1")), salesforce)

    result = CliRunner().invoke(main, ["verify", "--realm", REALM], env=cli_env, obj=given)

    assert result.exit_code == exit_code, result.output
    assert result.output.strip().splitlines()[-1] == f"realm {REALM}: {last_line}"
    if exit_code:
        assert "stale" in result.output and "Name: Salesforce 'Someone else'" in result.output


@responses.activate
def test_verify_command_names_an_unmapped_object(cli_env, salesforce) -> None:
    serve(mapping_row(), [])
    given = services(QuickBooksRecords(), salesforce)

    result = CliRunner().invoke(
        main, ["verify", "--realm", REALM, "--object", "Invoice"], env=cli_env, obj=given
    )

    assert result.exit_code == 1
    assert "'Invoice' has no object mapping" in result.output
    assert "Traceback" not in result.output
