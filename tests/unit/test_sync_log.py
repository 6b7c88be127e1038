"""qbsync.sync_log: QB_Sync_Log__c rows written 200 at a time; what Salesforce could not take
is kept for the next write. The real SalesforceClient talks to `LogOrg` through responses."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses

from qbsync.config import Settings
from qbsync.salesforce.auth import SalesforceLogin
from qbsync.salesforce.client import SalesforceClient
from qbsync.sync_log import SyncLogEntry, SyncLogWriter, record_name

INSTANCE = "https://example.my.salesforce.com"
LOG_UPSERT = f"{INSTANCE}/services/data/v66.0/composite/sobjects/QB_Sync_Log__c/Event_Key__c"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class LogOrg:
    """Sync-log rows by event key. `refused_calls`: a call holding that key fails (503);
    `row_errors`: that row alone is refused with the given statusCode."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.rows: dict[str, dict] = {}
        self.refused_calls: set[str] = set()
        self.row_errors: dict[str, str] = {}
        rsps.add_callback(responses.PATCH, LOG_UPSERT, callback=self._upsert)

    def _upsert(self, request) -> tuple[int, dict, str]:
        records = json.loads(request.body)["records"]
        assert len(records) <= 200
        if any(r["Event_Key__c"] in self.refused_calls for r in records):
            body = [{"errorCode": "SERVER_UNAVAILABLE", "message": "try later"}]
            return 503, {}, json.dumps(body)
        results = []
        for record in records:
            code = self.row_errors.get(record["Event_Key__c"])
            if code:
                results.append(
                    {"success": False, "errors": [{"statusCode": code, "message": code}]}
                )
                continue
            self.rows[record["Event_Key__c"]] = record
            results.append({"id": "a03000000000001", "success": True, "errors": []})
        return 200, {}, json.dumps(results)


@pytest.fixture
def org():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield LogOrg(rsps)


@pytest.fixture
def writer() -> SyncLogWriter:
    settings = Settings(salesforce_login_url="https://login.example.com")
    client = SalesforceClient(
        settings, login_with=lambda s, session: SalesforceLogin(INSTANCE, "sf-session")
    )
    return SyncLogWriter(client)


def entry(n: int, status: str = "Success") -> SyncLogEntry:
    return SyncLogEntry(
        f"ce:{n}", "9130", "Customer", str(n), "Create", status, "created", 1, NOW, NOW
    )


def test_a_failed_call_keeps_only_its_own_rows_for_the_next_write(org, writer):
    org.refused_calls.add("ce:300")  # the second call: rows 200..399

    assert writer.write([entry(n) for n in range(450)]) is False

    assert set(org.rows) == {f"ce:{n}" for n in [*range(200), *range(400, 450)]}
    assert writer.pending == 200

    org.refused_calls.clear()
    assert writer.write(()) is True
    assert set(org.rows) == {f"ce:{n}" for n in range(450)} and writer.pending == 0


def test_a_row_refused_for_now_is_kept_and_a_row_refused_for_good_is_dropped(org, writer):
    org.row_errors = {
        "ce:1": "UNABLE_TO_LOCK_ROW",
        "ce:2": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    }

    assert writer.write([entry(0), entry(1), entry(2)]) is False

    assert set(org.rows) == {"ce:0"} and writer.pending == 1
    org.row_errors.clear()
    assert writer.write(()) is True
    assert set(org.rows) == {"ce:0", "ce:1"}  # ce:2 can never be written as it is


def test_a_newer_outcome_of_an_event_replaces_the_waiting_row(org, writer):
    org.refused_calls.add("ce:7")
    writer.write([entry(7, "Retrying")])
    org.refused_calls.clear()

    writer.write([entry(7, "Success")])

    assert org.rows["ce:7"]["Status__c"] == "Success" and writer.pending == 0


def test_a_row_names_the_record_and_keeps_the_detail_apart():
    failed = SyncLogEntry(
        "ce:9",
        "9130",
        "Customer",
        "9",
        "Create",
        "Failed",
        "Customer \u201cAcme\u201d (QuickBooks 9): the value 'ten' …",
        1,
        NOW,
        NOW,
        record_name="A" * 300,
        detail="decimal.InvalidOperation: [<class 'decimal.ConversionSyntax'>]",
        reason="Value does not fit the field",
    )

    row = failed.row()

    assert row["Record_Name__c"] == "A" * 255
    assert row["Detail__c"] == "decimal.InvalidOperation: [<class 'decimal.ConversionSyntax'>]"
    # Unknown ones are left blank, not written as empty text.
    assert entry(1).row()["Record_Name__c"] is None
    assert entry(1).row()["Detail__c"] is None
    assert row["Reason__c"] == "Value does not fit the field"
    assert entry(1).row()["Reason__c"] is None


@pytest.mark.parametrize(
    ("record", "name"),
    [
        (
            {"DisplayName": "Amy's Bird Sanctuary", "FullyQualifiedName": "x"},
            "Amy's Bird Sanctuary",
        ),
        ({"FullyQualifiedName": "Parent:Child", "Name": "Child"}, "Parent:Child"),
        ({"Name": "Rock Fountain"}, "Rock Fountain"),
        ({"DocNumber": "1037", "TxnDate": "2026-01-01"}, "1037"),
        ({"DisplayName": "  ", "Id": "3"}, None),
        ({"Id": "3"}, None),
    ],
)
def test_record_name_is_the_name_quickbooks_shows(record, name):
    assert record_name(record) == name
