"""Historical sync (issue 17) over real HTTP: the QuickBooks and Salesforce emulators in threads,
the real clients, the worker and a SQLite store. The configuration is a parsed Customer → Account
mapping (the worker reads no configuration from Salesforce here).

A worker "killed" mid-page is one whose Salesforce client stops the process in the middle of the
page's upserts (a BaseException nothing catches, as SIGKILL leaves no chance to clean up): what
it wrote stays in Salesforce, its lease and checkpoint stay in the store. tests/e2e covers the
real `kill -9` of the worker process.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from qbsync import metrics
from qbsync.backfill import PAGE_SIZE
from qbsync.catalog import load_catalog
from qbsync.events import ChangeEvent, Version
from qbsync.match_reviews import write_reviews
from qbsync.matching import MatchPlan
from qbsync.salesforce import SalesforceClient
from qbsync.services import Services
from qbsync.store import Store
from qbsync.store.backfills import Counts
from qbsync.store.database import transaction
from qbsync.sync_config import parse_realm_config
from qbsync.sync_log import SKIPPED, SyncLogEntry, SyncLogWriter
from qbsync.worker import Worker
from qbsync_sandbox.emulators.quickbooks import create_qbo_app
from qbsync_sandbox.emulators.quickbooks.state import QboState
from qbsync_sandbox.emulators.salesforce import Org, create_salesforce_app, load_schema
from qbsync_sandbox.emulators.salesforce import run_in_thread as run_salesforce
from qbsync_sandbox.emulators.salesforce.schema import ValidationRule
from qbsync_sandbox.stack import wait_until
from tests.sandbox.test_reconcile_on_emulator import connected_client
from tests.support import builders
from tests.support.emulators import serving_quickbooks
from tests.support.fakes import Clock
from tests.support.paths import FORCE_APP

REALM = "9341452000000077"  # the realm connected_client consents for
SF_CLIENT_ID = "3MVG9-backfill-test"
SF_SECRET = "client-secret-BBBB"
CATALOG = load_catalog()
EXT = "QB_External_Id__c"


class Killed(BaseException):
    """The process ends here: nothing after it runs, nothing catches it."""


def mapping_row() -> dict:
    fields = [("DisplayName", "Name"), ("PrimaryPhone.FreeFormNumber", "Phone")]
    return {
        "Id": "a01Customer",
        "QB_Object__c": "Customer",
        "Salesforce_Object__c": "Account",
        "External_Id_Field__c": EXT,
        "Realtime_Enabled__c": True,
        "Delete_Behavior__c": "Deactivate",
        "Field_Mapping_Count__c": len(fields),
        "Company__r": {"Realm_Id__c": REALM, "Status__c": "Connected"},
        "Field_Mappings__r": {
            "records": [
                {"Id": f"a02{n}", "QB_Field__c": qb, "Salesforce_Field__c": sf}
                for n, (qb, sf) in enumerate(fields)
            ]
        },
    }


class Configs:
    def __init__(self, match_rules: tuple[str, ...] = ()) -> None:
        self.match_rules = match_rules

    def get(self, realm_id: str):
        config = parse_realm_config(realm_id, [mapping_row()], CATALOG)
        customer = replace(config.mappings["customer"], match_rules=self.match_rules)
        return replace(config, mappings={"customer": customer})

    def fresh(self):
        return 0, {}  # nothing cached: the claims skip nothing by themselves

    def invalidate(self, realm_id: str) -> None:
        pass


class RecordingSalesforce(SalesforceClient):
    """The real client, remembering the external ids of every Account upsert in order, and
    stopping the process after `kill_after` Account upsert calls."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.account_upserts: list[str] = []
        self.bulk_jobs: list[int] = []  # the records of each Bulk API upsert job
        self.kill_after: int | None = None
        self.before_account_upsert = None  # called once, before the next Account upsert

    def bulk_upsert(self, sobject, external_id_field, records, **kwargs):
        self.bulk_jobs.append(len(records))
        return super().bulk_upsert(sobject, external_id_field, records, poll_seconds=0)

    def upsert_collection(self, sobject, external_id_field, records):
        if sobject == "Account":
            hook, self.before_account_upsert = self.before_account_upsert, None
            if hook is not None:
                hook()
            if self.kill_after is not None:
                if self.kill_after == 0:
                    raise Killed
                self.kill_after -= 1
            self.account_upserts.extend(record[EXT] for record in records)
        return super().upsert_collection(sobject, external_id_field, records)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=20))


@pytest.fixture
def qbo(clock: Clock) -> Iterator[tuple[str, QboState]]:
    state = QboState(clock=clock)
    state.create_company(REALM)
    app = create_qbo_app(
        state,
        verifier_token="verifier",
        client_id="client-id",
        client_secret="client-secret",
        start_deliverer=False,
    )
    with serving_quickbooks(app) as url:
        yield url, state


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Org, str]]:
    org = Org(load_schema(FORCE_APP), username="integration@qbsync.example")
    app = create_salesforce_app(org, client_id=SF_CLIENT_ID, client_secret=SF_SECRET)
    server, url, ca_path = run_salesforce(app, tmp_path / "tls")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_path))
    yield org, url
    server.shutdown()
    server.server_close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    yield store
    store.close()


@pytest.fixture
def services(qbo, org, store, clock, request) -> Services:
    url, _ = qbo
    _, sf_url = org
    settings = builders.settings(
        salesforce_login_url=sf_url,
        salesforce_client_id=SF_CLIENT_ID,
        salesforce_client_secret=SF_SECRET,
        lease_seconds=60,
        backfill_bulk_threshold=getattr(request, "param", 5000),
    )
    salesforce = RecordingSalesforce(settings)
    salesforce.upsert_collection("QB_Company__c", "Realm_Id__c", [{"Realm_Id__c": REALM}])
    return Services(
        settings,
        store=store,
        quickbooks=connected_client(url, store),
        salesforce=salesforce,
        configs=Configs(),
        catalog=CATALOG,
        clock=clock,
    )


def make_customers(
    state: QboState, clock: Clock, count: int, per_second: int = 7, prefix: str = "Customer"
) -> list[str]:
    """`count` customers, `per_second` of them created in each second (many share one
    LastUpdatedTime, as after an import)."""
    ids = []
    for number in range(count):
        if number % per_second == 0:
            clock.advance(seconds=1)
        ids.append(state.create(REALM, "Customer", {"DisplayName": f"{prefix} {number:05d}"})["Id"])
    clock.advance(seconds=1)
    return ids


def accounts(org: Org) -> dict[str, dict]:
    rows = org.rows("Account")
    keys = Counter(row.get(EXT) for row in rows)
    duplicates = [key for key, count in keys.items() if key and count > 1]
    assert not duplicates, f"duplicate Accounts: {duplicates[:5]}"
    return {row[EXT].rsplit("-", 1)[1]: row for row in rows if row.get(EXT)}


def run_until_idle(worker: Worker) -> int:
    runs = 0
    while worker.run_once():
        runs += 1
    return runs


def hold_bulk_jobs(sf_url: str, hold: bool) -> None:
    """Keep the emulator's Bulk API jobs InProgress from now on, or process the held ones."""
    response = requests.put(f"{sf_url}/_admin/bulk", json={"hold": hold}, timeout=30)
    response.raise_for_status()


def held_bulk_jobs(sf_url: str) -> list[str]:
    return requests.get(f"{sf_url}/_admin/bulk", timeout=30).json()["held"]


def start(services: Services, since: datetime | None = None):
    (job,) = services.store.backfills.create(
        REALM, [("Customer", "Account")], since, services.clock()
    )
    return job


def test_every_customer_is_written_once_page_by_page(services, qbo, org) -> None:
    _, state = qbo
    ids = make_customers(state, services.clock, 2 * PAGE_SIZE + 345)
    job = start(services)

    assert run_until_idle(Worker(services, name="w1")) == 3  # three pages of 1,000

    done = services.store.backfills.get(job.job_key)
    assert done.state == "Done" and done.total == len(ids) and done.pages == 3
    assert done.counts == Counts(processed=len(ids), created=len(ids))
    written = accounts(org[0])
    assert set(written) == set(ids)
    assert written[ids[-1]]["Name"] == f"Customer {len(ids) - 1:05d}"
    # The versions written are the applied ones: real-time events for them are "already applied".
    applied = services.store.versions.applied_many(REALM, "Customer", ids)
    assert set(applied) == set(ids)
    # The job's record shows what the ledger's row holds.
    (record,) = org[0].rows("QB_Sync_Job__c")
    assert record["Job_Key__c"] == job.job_key and record["State__c"] == "Done"
    assert (record["Total__c"], record["Processed__c"], record["Created__c"]) == (
        len(ids),
        len(ids),
        len(ids),
    )
    assert record["Write_Mode__c"] == "Collections" and record["Finished_At__c"]
    assert not org[0].rows("QB_Sync_Log__c")  # no log per success


def test_since_limits_the_job_to_records_changed_from_then(services, qbo, org) -> None:
    _, state = qbo
    old = make_customers(state, services.clock, 30)
    services.clock.advance(hours=1)
    cut = services.clock()
    recent = make_customers(state, services.clock, 20, prefix="Recent")
    job = start(services, since=cut)
    run_until_idle(Worker(services, name="w1"))
    assert services.store.backfills.get(job.job_key).total == len(recent)
    assert set(accounts(org[0])) == set(recent)
    assert not set(old) & set(accounts(org[0]))


def test_a_worker_killed_mid_page_is_resumed_without_skips_or_duplicates(
    services, qbo, org
) -> None:
    _, state = qbo
    ids = make_customers(state, services.clock, 2 * PAGE_SIZE + 100, per_second=40)
    job = start(services)
    salesforce: RecordingSalesforce = services.salesforce
    first = Worker(services, name="w1")
    assert first.run_once() == 1  # page 1 written and checkpointed
    salesforce.kill_after = 2  # page 2: two calls of 200 reach Salesforce, then the process dies
    with pytest.raises(Killed):
        first.run_once()
    salesforce.kill_after = None
    half = services.store.backfills.get(job.job_key)
    assert half.counts.processed == PAGE_SIZE and half.claimed_by == "w1"
    assert len(accounts(org[0])) == PAGE_SIZE + 400

    second = Worker(services, name="w2")
    assert second.run_once() == 0  # w1's lease holds the job
    services.clock.advance(seconds=61)
    run_until_idle(second)

    done = services.store.backfills.get(job.job_key)
    assert done.state == "Done" and done.claimed_by == "w2"
    # Counted once: the killed page's counts were never committed.
    assert done.counts.processed == len(ids)
    assert set(accounts(org[0])) == set(ids)


def test_a_live_change_during_the_run_is_applied_before_the_remaining_pages(
    services, qbo, org
) -> None:
    _, state = qbo
    ids = make_customers(state, services.clock, 3 * PAGE_SIZE)
    start(services)
    salesforce: RecordingSalesforce = services.salesforce
    worker = Worker(services, name="w1")
    assert worker.run_once() == 1  # page 1
    read_already, not_yet = ids[10], ids[2500]
    for entity_id in (read_already, not_yet):
        services.clock.advance(seconds=1)
        state.update(REALM, "Customer", entity_id, {"DisplayName": f"Renamed {entity_id}"})
        # The webhook's event, stored while the backfill runs.
        services.store.events.add(
            [
                ChangeEvent(
                    REALM, "Customer", entity_id, "Update", services.clock(), f"ce:{entity_id}"
                )
            ]
        )
    before = len(salesforce.account_upserts)

    run_until_idle(worker)

    order = salesforce.account_upserts[before:]
    live = [order.index(f"{REALM}-Customer-{i}") for i in (read_already, not_yet)]
    page_2_first = order.index(f"{REALM}-Customer-{ids[PAGE_SIZE]}")
    assert max(live) < page_2_first  # the events came first
    written = accounts(org[0])
    assert written[read_already]["Name"] == f"Renamed {read_already}"
    assert written[not_yet]["Name"] == f"Renamed {not_yet}"
    assert set(written) == set(ids)
    # The live change already applied is not written again by the backfill's later page.
    assert order.count(f"{REALM}-Customer-{not_yet}") == 1


def test_a_backfill_never_writes_over_a_newer_applied_version(services, qbo, org) -> None:
    _, state = qbo
    ids = make_customers(state, services.clock, 50)
    # Real-time applied a version newer than the one QuickBooks returns now (as if the backfill
    # had read just before that change was written).
    newer = Version(services.clock() + timedelta(hours=1), 99)
    services.store.versions.record_many(REALM, "Customer", {ids[3]: newer})
    job = start(services)
    run_until_idle(Worker(services, name="w1"))
    assert ids[3] not in accounts(org[0])
    assert services.store.versions.applied_many(REALM, "Customer", [ids[3]])[ids[3]] == newer
    done = services.store.backfills.get(job.job_key)
    assert done.counts == Counts(processed=50, created=49)


def test_records_salesforce_refuses_are_counted_and_logged_and_the_others_written(
    services, qbo, org
) -> None:
    _, state = qbo
    account = org[0].object("Account")
    account.validation_rules.append(
        ValidationRule(
            "No_Test_Names", 'CONTAINS(Name, "TEST")', "Test records are not wanted", "Name"
        )
    )
    ids = make_customers(state, services.clock, 30)
    refused = [
        state.create(REALM, "Customer", {"DisplayName": f"TEST {n}"})["Id"] for n in range(3)
    ]
    job = start(services)
    run_until_idle(Worker(services, name="w1"))

    done = services.store.backfills.get(job.job_key)
    assert done.counts == Counts(processed=33, created=30, failed=3)
    assert set(accounts(org[0])) == set(ids)
    logs = org[0].rows("QB_Sync_Log__c")
    # One log per refused record, none per success.
    assert sorted(row["QB_Record_Id__c"] for row in logs) == sorted(refused)
    assert {row["Status__c"] for row in logs} == {"Failed"}
    assert all("Test records are not wanted" in row["Message__c"] for row in logs)


def test_records_salesforce_could_not_lock_are_tried_once_more_in_the_page(
    services, qbo, org
) -> None:
    _, state = qbo
    _, sf_url = org
    make_customers(state, services.clock, 30)
    job = start(services)
    salesforce: RecordingSalesforce = services.salesforce

    def lock_rows(count: int, then=None):
        def before_upsert() -> None:
            response = requests.post(
                f"{sf_url}/_admin/faults",
                json={"kind": "lock_row", "count": count, "path": "/composite/sobjects/Account"},
                timeout=30,
            )
            assert response.status_code == 201, response.text
            salesforce.before_account_upsert = then

        return before_upsert

    # The page's upsert (30 records): two rows locked; the second try of those two: one again.
    salesforce.before_account_upsert = lock_rows(2, then=lock_rows(1))
    run_until_idle(Worker(services, name="w1"))

    done = services.store.backfills.get(job.job_key)
    # Tried once more: two written then; the one locked again is failed, with its log.
    assert done.counts == Counts(processed=30, created=29, failed=1)
    assert len(accounts(org[0])) == 29
    (log,) = org[0].rows("QB_Sync_Log__c")
    assert log["Status__c"] == "Failed" and "UNABLE_TO_LOCK_ROW" in log["Message__c"]


def test_a_cancel_stops_the_job_at_the_next_page(services, qbo, org) -> None:
    _, state = qbo
    make_customers(state, services.clock, 2 * PAGE_SIZE + 1)
    job = start(services)
    worker = Worker(services, name="w1")
    assert worker.run_once() == 1
    services.store.backfills.cancel(job.job_key, services.clock(), "cancelled by the admin")
    assert worker.run_once() == 0
    cancelled = services.store.backfills.get(job.job_key)
    assert cancelled.state == "Cancelled" and cancelled.counts.processed == PAGE_SIZE
    assert len(accounts(org[0])) == PAGE_SIZE


def test_existing_records_are_linked_and_ambiguous_ones_listed_for_review(
    services, qbo, org
) -> None:
    _, state = qbo
    salesforce = services.salesforce
    services.configs.match_rules = ("Name",)
    (acme,) = [r.id for r in salesforce.create_collection("Account", [{"Name": "Acme Ltd"}])]
    twins = [
        r.id
        for r in salesforce.create_collection("Account", [{"Name": "Twin Co"}, {"Name": "twin co"}])
    ]
    acme_qb = state.create(REALM, "Customer", {"DisplayName": "Acme Ltd"})["Id"]
    twin_qb = state.create(REALM, "Customer", {"DisplayName": "Twin Co"})["Id"]
    new_qb = state.create(REALM, "Customer", {"DisplayName": "Brand New"})["Id"]
    services.clock.advance(seconds=1)
    job = start(services)
    worker = Worker(services, name="w1")
    run_until_idle(worker)

    done = services.store.backfills.get(job.job_key)
    assert done.counts == Counts(processed=3, created=1, matched=1, ambiguous=1)
    rows = {row["Id"]: row for row in org[0].rows("Account")}
    assert len(rows) == 4  # Acme linked, not duplicated; the twins untouched; one created
    assert rows[acme][EXT] == f"{REALM}-Customer-{acme_qb}"
    assert all(not rows[t].get(EXT) for t in twins)
    (review,) = org[0].rows("QB_Match_Review__c")
    assert review["QB_Record_Id__c"] == twin_qb and review["Status__c"] == "Open"
    assert sorted(review["Candidate_Ids__c"].split(",")) == sorted(twins)
    assert review["Matched_By__c"] == "Name" and review["QB_Record_Name__c"] == "Twin Co"
    (log,) = org[0].rows("QB_Sync_Log__c")
    assert log["QB_Record_Id__c"] == twin_qb and log["Status__c"] == "Skipped"
    assert new_qb in accounts(org[0])

    # The same job's page written again (a worker killed before its checkpoint) adds no review.
    plan = MatchPlan(ambiguous={twin_qb: twins}, matched_by={twin_qb: "Name"})
    write_reviews(
        salesforce, REALM, "Customer", "Account", plan, {twin_qb: "Twin Co"}, job_key=done.job_key
    )
    assert len(org[0].rows("QB_Match_Review__c")) == 1


@pytest.mark.parametrize("services", [1500], indirect=True)
def test_a_large_job_writes_through_bulk_api_jobs_of_ten_pages(services, qbo, org) -> None:
    _, state = qbo
    account = org[0].object("Account")
    account.validation_rules.append(
        ValidationRule("No_Test", 'CONTAINS(Name, "TEST")', "Test records are not wanted", "Name")
    )
    ids = make_customers(state, services.clock, 1200, per_second=50)
    refused = [
        state.create(REALM, "Customer", {"DisplayName": f"TEST {n}"})["Id"] for n in range(2)
    ]
    services.clock.advance(seconds=1)
    ids_by_hand = make_customers(state, services.clock, 400, prefix="Late")
    job = start(services)
    salesforce: RecordingSalesforce = services.salesforce

    assert run_until_idle(Worker(services, name="w1")) == 1  # 1,602 records: one chunk

    done = services.store.backfills.get(job.job_key)
    assert done.write_mode == "Bulk API 2.0" and done.state == "Done"
    assert done.counts == Counts(processed=1602, created=1600, failed=2)
    assert salesforce.bulk_jobs == [1602]
    # Only the refused rows went through Collections again, for their own errors.
    assert sorted(salesforce.account_upserts) == sorted(f"{REALM}-Customer-{i}" for i in refused)
    assert set(accounts(org[0])) == set(ids) | set(ids_by_hand)
    logs = org[0].rows("QB_Sync_Log__c")
    assert sorted(row["QB_Record_Id__c"] for row in logs) == sorted(refused)
    applied = services.store.versions.applied_many(REALM, "Customer", ids + ids_by_hand)
    assert len(applied) == 1600
    (record,) = org[0].rows("QB_Sync_Job__c")
    assert record["Write_Mode__c"] == "Bulk API 2.0" and record["Failed__c"] == 2


def test_a_change_another_worker_applies_while_a_page_is_written_ends_newest(
    services, qbo, org
) -> None:
    _, state = qbo
    ids = make_customers(state, services.clock, 300)
    changed = ids[250]
    job = start(services)
    salesforce: RecordingSalesforce = services.salesforce

    def another_worker_applies_a_live_change() -> None:
        # The page has checked its versions and built its bodies; meanwhile the record changes
        # and another worker applies the change (its own upsert comes first, the page's after).
        services.clock.advance(seconds=1)
        state.update(REALM, "Customer", changed, {"DisplayName": "Changed meanwhile"})
        event = ChangeEvent(REALM, "Customer", changed, "Update", services.clock(), "ce:live")
        services.store.events.add([event])
        assert Worker(services, name="other").run_once() == 1

    salesforce.before_account_upsert = another_worker_applies_a_live_change
    run_until_idle(Worker(services, name="w1"))

    assert accounts(org[0])[changed]["Name"] == "Changed meanwhile"
    done = services.store.backfills.get(job.job_key)
    assert done.state == "Done" and done.counts.processed == 300


@pytest.mark.parametrize("services", [1500], indirect=True)
def test_a_live_change_is_applied_while_a_bulk_chunk_waits_for_its_job(services, qbo, org) -> None:
    """`run_forever` with ONE write lane: the Bulk chunk runs beside the lane, so a change that
    comes while Salesforce processes the chunk's Bulk job is written before the job ends."""
    _, state = qbo
    salesforce_org, sf_url = org
    ids = make_customers(state, services.clock, 1600, per_second=50)
    job = start(services)
    services.settings = replace(services.settings, worker_write_lanes=1)
    worker = Worker(services, name="w1")
    stop = threading.Event()
    running = threading.Thread(target=worker.run_forever, args=(stop,))
    hold_bulk_jobs(sf_url, True)
    running.start()
    changed = ids[5]
    try:
        wait_until(lambda: held_bulk_jobs(sf_url), timeout=60, what="the chunk's Bulk job")
        services.clock.advance(seconds=1)
        state.update(REALM, "Customer", changed, {"DisplayName": "Renamed live"})
        event = ChangeEvent(REALM, "Customer", changed, "Update", services.clock(), "ce:live")
        services.store.events.add([event])

        wait_until(
            lambda: accounts(salesforce_org).get(changed, {}).get("Name") == "Renamed live",
            timeout=30,
            what="the live change in Salesforce",
        )
        assert held_bulk_jobs(sf_url)  # written while the Bulk job is still held
        assert len(accounts(salesforce_org)) == 1
        assert services.store.backfills.get(job.job_key).counts.processed == 0

        hold_bulk_jobs(sf_url, False)
        wait_until(
            lambda: services.store.backfills.get(job.job_key).state == "Done",
            timeout=60,
            what="the job done",
        )
    finally:
        hold_bulk_jobs(sf_url, False)
        stop.set()
        running.join(timeout=60)
    assert not running.is_alive()
    done = services.store.backfills.get(job.job_key)
    # The live change created its Account; the Bulk job updated it, every other one created.
    assert done.counts == Counts(processed=1600, created=1599, updated=1)
    assert services.salesforce.bulk_jobs == [1600]
    written = accounts(salesforce_org)  # one Account per Customer
    assert set(written) == set(ids)
    # The chunk held the older version, written over the live change: it is written again.
    assert written[changed]["Name"] == "Renamed live"


@pytest.mark.parametrize("services", [1500], indirect=True)
def test_a_bulk_chunk_renews_a_normal_lease_so_a_killed_one_resumes_after_one_lease(
    services, qbo, org, caplog
) -> None:
    """The chunk's lease is `lease_seconds` (3 here), renewed while its Bulk job is polled: a
    worker that stops renewing (killed) leaves the job to another one lease later, not after a
    long lease set for the whole Bulk job; the old worker then renews no more."""
    caplog.set_level(logging.INFO, logger="qbsync.backfill")
    _, state = qbo
    _, sf_url = org
    ids = make_customers(state, services.clock, 1600, per_second=50)
    job = start(services)
    services.settings = replace(services.settings, lease_seconds=3)
    jobs, clock = services.store.backfills, services.clock
    chunk = threading.Thread(target=Worker(services, name="w1").run_once)
    hold_bulk_jobs(sf_url, True)
    chunk.start()
    try:
        wait_until(lambda: held_bulk_jobs(sf_url), timeout=60, what="the chunk's Bulk job")
        assert jobs.get(job.job_key).lease_until == clock() + timedelta(seconds=3)
        clock.advance(seconds=2)
        wait_until(
            lambda: jobs.get(job.job_key).lease_until == clock() + timedelta(seconds=3),
            timeout=10,
            what="the lease renewed while the Bulk job is polled",
        )
        # Had w1 been killed now, its lease would run out in 3 s: w2 takes the job over then.
        taken = jobs.claim("w2", 3, clock() + timedelta(seconds=3))
        assert taken is not None and taken.job_key == job.job_key
        wait_until(
            lambda: "is no longer w1's" in caplog.text, timeout=10, what="w1's renewal refused"
        )
        mine = jobs.get(job.job_key)
        assert mine.claimed_by == "w2" and mine.lease_until == clock() + timedelta(seconds=6)
    finally:
        hold_bulk_jobs(sf_url, False)
        chunk.join(timeout=60)
    assert jobs.get(job.job_key).counts.processed == 0  # w1's chunk is not counted: not its job

    clock.advance(seconds=7)
    run_until_idle(Worker(services, name="w2"))
    done = jobs.get(job.job_key)
    assert done.state == "Done" and done.claimed_by == "w2"
    assert done.counts.processed == 1600
    assert set(accounts(org[0])) == set(ids)


def calls_by_work() -> Counter[tuple[str, str, str]]:
    """The process's QuickBooks and Salesforce call counters: (system, kind, work) → calls."""
    counted: Counter[tuple[str, str, str]] = Counter()
    for system, counter in (
        ("quickbooks", metrics.QUICKBOOKS_CALLS),
        ("salesforce", metrics.SALESFORCE_CALLS),
    ):
        for family in counter.collect():
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    key = (system, sample.labels["kind"], sample.labels["work"])
                    counted[key] = int(sample.value)
    return counted


def calls_since(before: Counter[tuple[str, str, str]]) -> dict[tuple[str, str, str], int]:
    after = calls_by_work()
    return {key: after[key] - before[key] for key in after if after[key] - before[key]}


def test_the_jobs_own_calls_are_counted_apart_from_real_time_work(services, qbo, org) -> None:
    """A page's reads and writes are metered as the backfill's (`work="backfill"`), a live
    batch's as real time's, though one worker runs both."""
    _, state = qbo
    ids = make_customers(state, services.clock, PAGE_SIZE + 10)
    start(services)
    worker = Worker(services, name="w1")

    before = calls_by_work()
    assert worker.run_once() == 1  # page 1
    page = calls_since(before)
    assert {work for _, _, work in page} == {"backfill"}
    # The count and the page read; 1,000 Accounts in sObject Collections of 200; the job's record.
    assert page[("quickbooks", "query", "backfill")] == 2
    assert page[("salesforce", "upsert", "backfill")] >= PAGE_SIZE // 200

    services.clock.advance(seconds=1)
    state.update(REALM, "Customer", ids[3], {"DisplayName": "Renamed live"})
    event = ChangeEvent(REALM, "Customer", ids[3], "Update", services.clock(), "ce:live")
    services.store.events.add([event])
    before = calls_by_work()
    assert worker.run_once() == 1  # the live change, before page 2
    live = calls_since(before)
    assert {work for _, _, work in live} == {"realtime"}
    assert live[("quickbooks", "query", "realtime")] == 1
    assert live[("salesforce", "upsert", "realtime")] >= 1
    assert accounts(org[0])[ids[3]]["Name"] == "Renamed live"

    before = calls_by_work()
    run_until_idle(worker)  # page 2, the last
    assert {work for _, _, work in calls_since(before)} == {"backfill"}
    assert len(accounts(org[0])) == len(ids)


def test_a_jobs_sync_logs_are_counted_as_its_own_whichever_thread_sends_them(services, org) -> None:
    """The worker's sender thread sends a page's logs with the live changes'; each kind goes in
    calls of its own, counted as its work."""
    writer = SyncLogWriter(services.salesforce, services.store.sync_log_outbox, "w1", 60)
    now = services.clock()
    entries = [
        SyncLogEntry(
            event_key=key,
            realm_id=REALM,
            qb_object="Customer",
            qb_record_id=key.rsplit(":", 1)[1],
            operation="Update",
            status=SKIPPED,
            message="listed for review",
            attempts=1,
            event_time=now,
            synced_at=now,
        )
        for key in ("backfill:job-1:7", "backfill:job-1:8", "ce:live:9")
    ]
    with transaction(services.store.sync_log_outbox.engine) as connection:
        writer.keep(connection, entries)
    before = calls_by_work()

    assert writer.send()  # in a thread counted as real time, as the sender is

    assert calls_since(before) == {
        ("salesforce", "upsert", "backfill"): 1,
        ("salesforce", "upsert", "realtime"): 1,
    }
    logs = {row["QB_Record_Id__c"] for row in org[0].rows("QB_Sync_Log__c")}
    assert logs == {"7", "8", "9"}
