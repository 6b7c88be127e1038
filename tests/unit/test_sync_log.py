"""qbsync.sync_log: QB_Sync_Log__c rows written 200 at a time; what Salesforce could not take
is kept for the next write, in the database (`qbsync.store.sync_log_outbox`), so a crash loses
none. The real SalesforceClient talks to `LogOrg` through responses; the outbox is on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import responses

from qbsync.config import Settings
from qbsync.salesforce.auth import SalesforceLogin
from qbsync.salesforce.client import SalesforceClient
from qbsync.store.database import make_engine, transaction
from qbsync.store.sync_log_outbox import SyncLogOutbox
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


LEASE_SECONDS = 60


def client() -> SalesforceClient:
    settings = Settings(salesforce_login_url="https://login.example.com")
    return SalesforceClient(
        settings, login_with=lambda s, session: SalesforceLogin(INSTANCE, "sf-session")
    )


@pytest.fixture
def writer(database) -> SyncLogWriter:
    return SyncLogWriter(client(), SyncLogOutbox(database), "worker-1", LEASE_SECONDS)


def entry(n: int, status: str = "Success") -> SyncLogEntry:
    return SyncLogEntry(
        f"ce:{n}", "9130", "Customer", str(n), "Create", status, "created", 1, NOW, NOW
    )


def test_a_failed_call_keeps_only_its_own_rows_for_the_next_write(org, writer):
    org.refused_calls.add("ce:300")  # the second call: rows 200..399

    assert writer.write([entry(n) for n in range(450)]) is False

    # One call of 200 failed: those rows wait, the other 250 are written.
    assert len(org.rows) == 250 and "ce:300" not in org.rows
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


def test_rows_kept_with_the_outcomes_survive_a_crash_and_the_next_worker_sends_them(org, database):
    crashed = SyncLogWriter(client(), SyncLogOutbox(database), "worker-1", LEASE_SECONDS)
    with transaction(database) as connection:  # the transaction that records the outcomes
        crashed.keep(connection, [entry(1), entry(2)])
    # The process dies here, before it sent anything.

    other_process = make_engine(database.url.render_as_string(hide_password=False))
    try:
        successor = SyncLogWriter(client(), SyncLogOutbox(other_process), "worker-2", 60)
        assert successor.pending == 2
        assert successor.send() is True
    finally:
        other_process.dispose()
    assert set(org.rows) == {"ce:1", "ce:2"}


def test_rows_a_sender_took_before_it_died_go_out_when_its_lease_ends(org, database):
    outbox = SyncLogOutbox(database)
    with transaction(database) as connection:
        outbox.keep(connection, [("ce:5", entry(5).row())])
    (taken,) = outbox.take("worker-1", 10, lease_seconds=60, now=NOW)  # then it died

    assert outbox.take("worker-2", 10, lease_seconds=60, now=NOW) == []
    (again,) = outbox.take("worker-2", 10, lease_seconds=60, now=NOW + timedelta(seconds=61))
    assert again.log_key == taken.log_key == "ce:5"


def test_a_row_replaced_while_it_is_out_stays_and_goes_out_as_its_newer_version(org, database):
    outbox = SyncLogOutbox(database)
    with transaction(database) as connection:
        outbox.keep(connection, [("ce:7", entry(7, "Retrying").row())])
    (older,) = outbox.take("worker-1", 10, lease_seconds=60)
    with transaction(database) as connection:
        outbox.keep(connection, [("ce:7", entry(7, "Success").row())])
    # Not taken by another sender while the older version is out: it cannot overtake it.
    assert outbox.take("worker-2", 10, lease_seconds=60) == []

    outbox.sent([older])

    (newer,) = outbox.take("worker-2", 10, lease_seconds=60)
    assert newer.row["Status__c"] == "Success" and newer.stamp != older.stamp
    outbox.sent([newer])
    assert outbox.count() == 0


def test_senders_take_the_oldest_rows_first_up_to_their_limit_and_only_those(database):
    # Rows go out in the order their outcomes were recorded (those of one batch by key), a
    # sender leases only the rows it takes, and its next take brings new rows, not those it holds.
    outbox = SyncLogOutbox(database)
    with transaction(database) as connection:
        outbox.keep(connection, [("ce:z", entry(1).row())])
    with transaction(database) as connection:
        outbox.keep(connection, [("ce:c", entry(2).row()), ("ce:b", entry(3).row())])
    with transaction(database) as connection:
        outbox.keep(connection, [("ce:a", entry(4).row())])
    with transaction(database) as connection:
        outbox.keep(connection, [("ce:y", entry(5).row()), ("ce:x", entry(6).row())])

    def keys(rows) -> list[str]:
        return [row.log_key for row in rows]

    assert keys(outbox.take("worker-1", 2, lease_seconds=60, now=NOW)) == ["ce:z", "ce:b"]
    assert keys(outbox.take("worker-2", 1, lease_seconds=60, now=NOW)) == ["ce:c"]
    assert keys(outbox.take("worker-1", 5, lease_seconds=60, now=NOW)) == ["ce:a", "ce:x", "ce:y"]


def test_a_senders_lease_ends_at_its_moment(database):
    outbox = SyncLogOutbox(database)
    with transaction(database) as connection:
        outbox.keep(connection, [("ce:5", entry(5).row())])
    outbox.take("worker-1", 10, lease_seconds=60, now=NOW)
    ends = NOW + timedelta(seconds=60)
    assert outbox.take("worker-2", 10, lease_seconds=60, now=ends - timedelta(microseconds=1)) == []
    assert [row.log_key for row in outbox.take("worker-2", 10, 60, now=ends)] == ["ce:5"]


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
