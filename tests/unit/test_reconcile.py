"""qbsync.reconcile: CDC changes the ledger has not applied become events; watermarks.

Real pieces: a temp SQLite store (store, token vault), the real QuickBooksClient. QuickBooks' CDC is
mocked at the transport with `responses` in its documented shape (research quickbooks.md §3:
`{"CDCResponse": [{"QueryResponse": [{"Customer": [...]}, ...]}]}`, deleted records carry
`"status": "Deleted"`). `cdc_server` answers like Intuit: everything changed at or after
`changedSince`, at most 1,000 objects (the oldest, as the QuickBooks emulator does).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from qbsync.catalog import load_catalog
from qbsync.config import Settings
from qbsync.events import Version
from qbsync.quickbooks.client import QuickBooksClient
from qbsync.quickbooks.tokens import TokenVault
from qbsync.reconcile import CDC_MAX_OBJECTS, Reconciler, reconcile_periodically
from qbsync.services import Services
from qbsync.store import Store
from qbsync.sync_config import parse_realm_config
from tests.support import builders
from tests.support.fakes import Clock

REALM = "9130350000000000"
API = "https://qbo.example.test"
CDC_URL = f"{API}/v3/company/{REALM}/cdc"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CATALOG = load_catalog()


def qb_time(moment: datetime) -> str:
    """MetaData.LastUpdatedTime as QuickBooks writes it (Pacific offset, whole seconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def customer(id_: str, updated: datetime, **extra) -> dict:
    return {
        "Id": id_,
        "DisplayName": f"Customer {id_}",
        "Active": True,
        "MetaData": {"CreateTime": qb_time(updated), "LastUpdatedTime": qb_time(updated)},
        **extra,
    }


def deleted(id_: str, updated: datetime) -> dict:
    return {
        "Id": id_,
        "status": "Deleted",
        "domain": "QBO",
        "MetaData": {"LastUpdatedTime": qb_time(updated)},
    }


def mapping_row(qb_object: str, realtime: bool = True, status: str = "Connected") -> dict:
    return {
        "Id": f"a01{qb_object}",
        "QB_Object__c": qb_object,
        "Salesforce_Object__c": "Account",
        "External_Id_Field__c": "QB_External_Id__c",
        "Realtime_Enabled__c": realtime,
        "Delete_Behavior__c": "Delete",
        "Field_Mapping_Count__c": 1,
        "Company__r": {"Realm_Id__c": REALM, "Status__c": status},
        "Field_Mappings__r": {
            "records": [{"Id": "a02", "QB_Field__c": "Id", "Salesforce_Field__c": "AccountNumber"}]
        },
    }


class ConfigStore:
    """The realm configuration as SyncConfigStore parses it from the configuration query."""

    def __init__(self, *rows: dict) -> None:
        self.rows = list(rows)

    def get(self, realm_id: str):
        return parse_realm_config(realm_id, self.rows, CATALOG)


@pytest.fixture
def store(tmp_path) -> Store:
    return Store.open(f"sqlite:///{tmp_path / 'store.db'}")


@pytest.fixture
def settings() -> Settings:
    return builders.settings(
        intuit_client_id="client-id",
        intuit_client_secret="client-secret",
        intuit_api_base_url=API,
        intuit_token_url="https://oauth.example.test/token",
    )


@pytest.fixture
def quickbooks(settings: Settings, store: Store) -> QuickBooksClient:
    vault = TokenVault(store.tokens, settings.encryption_keys)
    vault.save(builders.tokens(REALM, refresh_expires_at=datetime.now(UTC) + timedelta(days=100)))
    return QuickBooksClient(settings, vault)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


def make_reconciler(settings, store, quickbooks, clock, *rows) -> Reconciler:
    rows = rows or (mapping_row("Customer"),)
    services = Services(
        settings,
        store=store,
        quickbooks=quickbooks,
        configs=ConfigStore(*rows),
        catalog=CATALOG,
        clock=clock,
    )
    return Reconciler(services)


class CdcServer:
    """Intuit's CDC over a list of (entity, record): changes at or after changedSince, ≤1000."""

    def __init__(self, records: list[tuple[str, dict]]) -> None:
        self.records = records
        self.calls: list[dict[str, str]] = []

    def __call__(self, request):
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        self.calls.append(query)
        since = datetime.fromisoformat(query["changedSince"])
        wanted = query["entities"].split(",")
        changed = sorted(
            (
                (datetime.fromisoformat(r["MetaData"]["LastUpdatedTime"]), entity, r)
                for entity, r in self.records
                if entity in wanted
                and datetime.fromisoformat(r["MetaData"]["LastUpdatedTime"])
                >= since.replace(microsecond=0)
            ),
            key=lambda item: item[0],
        )[:CDC_MAX_OBJECTS]
        answers = []
        for entity in wanted:
            found = [r for _, kind, r in changed if kind == entity]
            answers.append(
                {entity: found, "startPosition": 1, "maxResults": len(found)} if found else {}
            )
        body = {"CDCResponse": [{"QueryResponse": answers}], "time": NOW.isoformat()}
        return 200, {"Content-Type": "application/json"}, json.dumps(body)


def serve(records: list[tuple[str, dict]]) -> CdcServer:
    server = CdcServer(records)
    responses.add_callback(responses.GET, CDC_URL, callback=server)
    return server


def rows(store: Store) -> list[tuple[str, str, str, str]]:
    return [
        (e.event_key, e.entity_id, e.operation, e.source) for e in store.events.events(limit=10_000)
    ]


# --- what becomes an event ----------------------------------------------------------------


@responses.activate
def test_first_pass_reads_one_day_back_and_enqueues_unapplied_changes(
    settings, store, quickbooks, clock
) -> None:
    t1, t2, t3 = NOW - timedelta(hours=3), NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    # The webhook already applied this version.
    store.versions.record_many(REALM, "Customer", {"2": Version(t2)})
    server = serve(
        [
            ("Customer", customer("1", t1)),
            ("Customer", customer("2", t2)),
            ("Customer", deleted("7", t3)),
        ]
    )

    counts = make_reconciler(settings, store, quickbooks, clock).run_once()

    assert server.calls[0]["changedSince"] == (NOW - timedelta(days=1)).isoformat(
        timespec="seconds"
    )
    assert server.calls[0]["entities"] == "Customer"
    assert rows(store) == [
        (f"cdc:{REALM}:Customer:1:{qb_time(t1)}", "1", "Update", "cdc"),
        (f"cdc:{REALM}:Customer:7:{qb_time(t3)}", "7", "Delete", "cdc"),
    ]
    assert store.events.events()[0].occurred_at == t1
    assert (counts.cdc_calls, counts.changes, counts.already_applied, counts.enqueued) == (
        1,
        3,
        1,
        2,
    )


@responses.activate
def test_a_newer_version_than_the_applied_one_is_enqueued(
    settings, store, quickbooks, clock
) -> None:
    store.versions.record_many(REALM, "Customer", {"2": Version(NOW - timedelta(hours=5))})
    serve([("Customer", customer("2", NOW - timedelta(hours=1)))])

    make_reconciler(settings, store, quickbooks, clock).run_once()

    assert [r[1:3] for r in rows(store)] == [("2", "Update")]


@responses.activate
def test_a_second_change_within_the_same_second_is_enqueued(
    settings, store, quickbooks, clock
) -> None:
    # LastUpdatedTime has whole seconds: the SyncToken tells the applied version from a newer one.
    second = NOW - timedelta(hours=1)
    store.versions.record_many(
        REALM, "Customer", {"2": Version(second, 1), "3": Version(second, 4)}
    )
    serve(
        [
            ("Customer", customer("2", second, SyncToken="2")),
            ("Customer", customer("3", second, SyncToken="4")),
        ]
    )

    counts = make_reconciler(settings, store, quickbooks, clock).run_once()

    assert rows(store) == [(f"cdc:{REALM}:Customer:2:{qb_time(second)}:2", "2", "Update", "cdc")]
    assert counts.already_applied == 1


@responses.activate
def test_only_real_time_enabled_cdc_objects_of_connected_realms(
    settings, store, quickbooks, clock
) -> None:
    server = serve([])
    reconciler = make_reconciler(
        settings,
        store,
        quickbooks,
        clock,
        mapping_row("Customer"),
        mapping_row("Vendor", realtime=False),
        mapping_row("Invoice"),
        mapping_row("TimeActivity"),  # CDC does not serve it (research §3)
    )

    reconciler.run_once()

    assert server.calls[0]["entities"] == "Customer,Invoice"

    not_connected = make_reconciler(
        settings, store, quickbooks, clock, mapping_row("Customer", status="Reconnect Required")
    )
    counts = not_connected.run_once()
    assert len(server.calls) == 1
    assert counts.realms == 0
    assert "Reconnect Required" in counts.skipped[0]


@responses.activate
def test_a_second_pass_resumes_with_overlap_and_never_duplicates(
    settings, store, quickbooks, clock
) -> None:
    t1 = NOW - timedelta(minutes=2)
    server = serve([("Customer", customer("1", t1))])
    reconciler = make_reconciler(settings, store, quickbooks, clock)
    reconciler.run_once()
    clock.now = NOW + timedelta(minutes=15)

    counts = reconciler.run_once()

    assert server.calls[1]["changedSince"] == (NOW - timedelta(minutes=5)).isoformat(
        timespec="seconds"
    )
    assert counts.changes == 1 and counts.enqueued == 0
    assert len(rows(store)) == 1


# --- watermark ----------------------------------------------------------------------------


@responses.activate
def test_watermark_waits_for_enqueued_events_then_advances(
    settings, store, quickbooks, clock
) -> None:
    t1 = NOW - timedelta(hours=2)
    serve([("Customer", customer("1", t1))])
    reconciler = make_reconciler(settings, store, quickbooks, clock)

    reconciler.run_once()
    (mark,) = store.watermarks.all(REALM)
    assert mark.scanned_through == NOW
    assert mark.applied_through == t1  # the event of t1 is not applied yet

    (event,) = store.events.claim("w", 10, 60, now=NOW)
    store.events.mark_failed([event.id], "REQUIRED_FIELD_MISSING", None)
    clock.now = NOW + timedelta(minutes=15)
    reconciler.run_once()
    assert store.watermarks.all(REALM)[0].applied_through == t1  # failed holds it back

    store.events.requeue(["failed"])
    (event,) = store.events.claim("w", 10, 60, now=clock.now)
    store.events.mark_done([event.id], "updated")
    clock.now = NOW + timedelta(minutes=30)
    reconciler.run_once()
    (mark,) = store.watermarks.all(REALM)
    assert mark.applied_through == mark.scanned_through == NOW + timedelta(minutes=30)


@responses.activate
def test_scan_start_is_clamped_to_cdc_30_days(settings, store, quickbooks, clock) -> None:
    server = serve([])
    reconciler = make_reconciler(settings, store, quickbooks, clock)
    reconciler.run_once()
    clock.now = NOW + timedelta(days=40)

    counts = reconciler.run_once()

    since = datetime.fromisoformat(server.calls[1]["changedSince"])
    assert clock.now - timedelta(days=30) < since <= clock.now - timedelta(days=29, hours=23)
    assert counts.clamped == 1


# A full response (1,000 objects, whichever QuickBooks keeps) is tested against the emulator,
# which serves the queries that fill its gap: tests/sandbox/test_reconcile_on_emulator.py.


@responses.activate
def test_an_entity_quickbooks_refuses_does_not_stop_the_others(
    settings, store, quickbooks, clock
) -> None:
    t1 = NOW - timedelta(hours=1)
    records = [("Customer", customer("1", t1)), ("Vendor", customer("2", t1))]
    good = CdcServer(records)

    def refuse_bill(request):
        if "Bill" in parse_qs(urlparse(request.url).query)["entities"][0].split(","):
            # Intuit's Fault shape (research §4, quickbooks-ruby fixture); status 400.
            fault = {
                "Fault": {
                    "Error": [{"Message": "Invalid query", "Detail": "Bill", "code": "4001"}],
                    "type": "ValidationFault",
                },
                "time": NOW.isoformat(),
            }
            return (
                400,
                {"Content-Type": "application/json", "intuit_tid": "1-abc"},
                json.dumps(fault),
            )
        return good(request)

    responses.add_callback(responses.GET, CDC_URL, callback=refuse_bill)
    reconciler = make_reconciler(
        settings,
        store,
        quickbooks,
        clock,
        *(mapping_row(o) for o in ("Bill", "Customer", "Vendor")),
    )

    counts = reconciler.run_once()

    assert {(r[1], r[2]) for r in rows(store)} == {("1", "Update"), ("2", "Update")}
    assert len(counts.errors) == 1
    assert "Bill: CDC refused it: QuickBooks: Invalid query: Bill" in counts.errors[0]
    assert "intuit_tid 1-abc" in counts.errors[0]
    assert {m.entity for m in store.watermarks.all(REALM)} == {"Customer", "Vendor"}


@responses.activate
def test_throttled_realm_is_reported_and_keeps_its_watermark(
    settings, store, quickbooks, clock
) -> None:
    responses.add(
        responses.GET,
        CDC_URL,
        status=429,
        json={"fault": {"error": [{"message": "ThrottleExceeded"}]}},
    )
    reconciler = make_reconciler(settings, store, quickbooks, clock)

    counts = reconciler.run_once()

    assert len(counts.errors) == 1 and REALM in counts.errors[0]
    assert store.watermarks.all() == []
    assert rows(store) == []


# --- periodic -----------------------------------------------------------------------------


def test_periodic_runs_at_start_and_after_a_configuration_signal(settings, store, clock) -> None:
    passes: list[int] = []
    stop = threading.Event()

    class Counting(Reconciler):
        def run_once(self, realm=None):
            passes.append(1)
            if len(passes) == 2:
                stop.set()
            return super().run_once(realm)

    class NoCdc:
        def cdc(self, realm_id, entities, changed_since):
            return {entity: [] for entity in entities}

    services = Services(
        settings,
        store=store,
        quickbooks=NoCdc(),
        configs=ConfigStore(mapping_row("Customer")),
        catalog=CATALOG,
        clock=clock,
    )
    reconciler = Counting(services, realms=lambda: [REALM])
    thread = threading.Thread(target=reconcile_periodically, args=(reconciler, stop, 3600, 0.01))
    thread.start()
    for _ in range(500):
        if passes:
            break
        threading.Event().wait(0.01)
    assert len(passes) == 1
    store.config_signal.changed(REALM)  # e.g. the company reconnected
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert len(passes) == 2
