"""Real-time creates follow the mapping's match rules, as a historical sync does: the worker's
batch logic over real HTTP (both emulators in threads, the real clients, a SQLite store; the
fixtures of test_backfill_on_emulators). tests/e2e covers the same through real processes and
webhooks.

A record is matched only when it is written for the first time as far as the store knows (no
applied version): the batch's first writes are looked up with one Composite query, a single
match is linked (its external id set, then updated), an ambiguous one is not written (skipped,
an Open QB_Match_Review__c without a job); without match rules nothing is looked up.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from sqlalchemy import delete

from qbsync.events import ChangeEvent
from qbsync.salesforce.errors import SalesforceTransient
from qbsync.services import Services
from qbsync.store.database import transaction
from qbsync.store.schema import applied_versions
from qbsync.sync_config import parse_realm_config
from qbsync.worker import Worker
from qbsync_sandbox.emulators.quickbooks.state import QboState
from qbsync_sandbox.emulators.salesforce import Org
from qbsync_sandbox.emulators.salesforce.schema import ValidationRule
from tests.sandbox.test_backfill_on_emulators import (  # noqa: F401 - fixtures
    CATALOG,
    EXT,
    REALM,
    Configs,
    accounts,
    calls_by_work,
    calls_since,
    clock,
    mapping_row,
    org,
    qbo,
    run_until_idle,
    services,
    store,
)


@dataclass
class Scene:
    services: Services
    state: QboState  # the QuickBooks emulator's company data
    org: Org  # the Salesforce emulator's records


@pytest.fixture
def scene(services, qbo, org) -> Scene:  # noqa: F811 - the fixtures imported above
    return Scene(services, qbo[1], org[0])


def _changed(scene: Scene, operation: str, *qb_ids: str) -> None:
    """The webhook's events for `qb_ids`, stored as the web process stores them."""
    scene.services.clock.advance(seconds=1)
    scene.services.store.events.add(
        [
            ChangeEvent(
                REALM,
                "Customer",
                qb_id,
                operation,
                scene.services.clock(),
                f"ce:{operation}:{qb_id}:{scene.services.clock().isoformat()}",
            )
            for qb_id in qb_ids
        ]
    )


def _ledger(scene: Scene) -> dict[str, tuple[str, str | None]]:
    """QuickBooks id → (state, reason or error) of its latest event."""
    return {
        event.entity_id: (event.state, event.reason or event.last_error)
        for event in scene.services.store.events.events(limit=1000)
    }


def _typed_in(scene: Scene, *names: str) -> list[str]:
    """Accounts created in Salesforce by hand (no external id)."""
    return [
        result.id
        for result in scene.services.salesforce.create_collection(
            "Account", [{"Name": name} for name in names]
        )
    ]


def test_a_first_write_links_the_one_matching_record_and_updates_it(scene: Scene) -> None:
    state = scene.state
    scene.services.configs.match_rules = ("Name",)
    (typed_in,) = _typed_in(scene, "Acme Ltd")
    qb_id = state.create(
        REALM,
        "Customer",
        {"DisplayName": "acme ltd ", "PrimaryPhone": {"FreeFormNumber": "(555) 010-4477"}},
    )["Id"]
    _changed(scene, "Create", qb_id)

    before = calls_by_work()
    run_until_idle(Worker(scene.services, name="w1"))

    rows = scene.org.rows("Account")
    assert [row["Id"] for row in rows] == [typed_in]  # linked, not duplicated
    assert rows[0][EXT] == f"{REALM}-Customer-{qb_id}"
    assert rows[0]["Phone"] == "(555) 010-4477" and rows[0]["Name"] == "acme ltd "
    assert _ledger(scene)[qb_id][0] == "done"
    (log,) = scene.org.rows("QB_Sync_Log__c")
    assert log["Status__c"] == "Success" and log["Salesforce_Record_Id__c"] == typed_in
    assert log["Message__c"].startswith("linked to an existing Account matched by Name; updated")
    # One lookup for the batch's first writes, one link, one upsert.
    calls = calls_since(before)
    assert calls[("salesforce", "query", "realtime")] == 1
    assert calls[("salesforce", "update", "realtime")] == 1
    # The version is applied: its next change is an update by external id, never matched again.
    assert scene.services.store.versions.applied_many(REALM, "Customer", [qb_id])


def test_an_ambiguous_first_write_is_listed_for_review_and_not_written(scene: Scene) -> None:
    state = scene.state
    scene.services.configs.match_rules = ("Name",)
    twins = sorted(_typed_in(scene, "Twin Co", "TWIN CO"))
    qb_id = state.create(REALM, "Customer", {"DisplayName": "Twin Co"})["Id"]
    _changed(scene, "Create", qb_id)
    worker = Worker(scene.services, name="w1")

    run_until_idle(worker)

    rows = scene.org.rows("Account")
    assert sorted(row["Id"] for row in rows) == twins and not any(row.get(EXT) for row in rows)
    ledger_state, reason = _ledger(scene)[qb_id]
    assert ledger_state == "skipped"
    assert reason.startswith("ambiguous match: 2 Account records match by Name")
    (review,) = scene.org.rows("QB_Match_Review__c")
    assert review["QB_Record_Id__c"] == qb_id and review["Status__c"] == "Open"
    assert sorted(review["Candidate_Ids__c"].split(",")) == twins
    assert review["Matched_By__c"] == "Name" and review["QB_Record_Name__c"] == "Twin Co"
    assert not review.get("Sync_Job__c")  # found by real time, not by a job
    (log,) = scene.org.rows("QB_Sync_Log__c")
    assert (
        log["Status__c"] == "Skipped"
        and "link, create or skip it in QB Setup" in (log["Message__c"])
    )
    # The record's own row, not the company's shared one for skipped objects
    # (worker.skipped_rows): the admin acts on this record.
    assert not log["Event_Key__c"].startswith("skipped:")
    assert not scene.services.store.versions.applied_many(REALM, "Customer", [qb_id])

    # Changed again while the review is open: skipped again, no second review, no Account.
    scene.services.clock.advance(seconds=1)
    state.update(REALM, "Customer", qb_id, {"Notes": "still twins"})
    _changed(scene, "Update", qb_id)
    run_until_idle(worker)
    assert _ledger(scene)[qb_id][0] == "skipped"
    assert len(scene.org.rows("QB_Match_Review__c")) == 1
    assert len(scene.org.rows("Account")) == 2


def test_without_match_rules_a_first_write_is_created_and_nothing_is_looked_up(
    scene: Scene,
) -> None:
    state = scene.state
    _typed_in(scene, "Acme Ltd")
    qb_id = state.create(REALM, "Customer", {"DisplayName": "Acme Ltd"})["Id"]
    _changed(scene, "Create", qb_id)

    before = calls_by_work()
    run_until_idle(Worker(scene.services, name="w1"))

    assert len(scene.org.rows("Account")) == 2  # created, as before match rules
    assert qb_id in accounts(scene.org)
    assert ("salesforce", "query", "realtime") not in calls_since(before)


def test_a_record_already_applied_is_updated_by_its_external_id_without_a_lookup(
    scene: Scene,
) -> None:
    state = scene.state
    qb_id = state.create(REALM, "Customer", {"DisplayName": "Acme Ltd"})["Id"]
    _changed(scene, "Create", qb_id)
    worker = Worker(scene.services, name="w1")
    run_until_idle(worker)  # created before the rules were saved
    scene.services.configs.match_rules = ("Name",)
    _typed_in(scene, "Acme Ltd")
    scene.services.clock.advance(seconds=1)
    state.update(REALM, "Customer", qb_id, {"PrimaryPhone": {"FreeFormNumber": "555-0100"}})
    _changed(scene, "Update", qb_id)

    before = calls_by_work()
    run_until_idle(worker)

    assert accounts(scene.org)[qb_id]["Phone"] == "555-0100"
    assert len(scene.org.rows("Account")) == 2  # the typed-in one untouched
    assert ("salesforce", "query", "realtime") not in calls_since(before)


def test_a_record_whose_applied_version_was_purged_is_updated_not_linked(scene: Scene) -> None:
    """Applied versions are purged after `purge_versions_days`: the lookup also asks whether the
    external id is in Salesforce already, so a record synced long ago is updated, and a record
    typed in since with the same name keeps its blank external id (linking it would break the
    external id's uniqueness and fail the change)."""
    state = scene.state
    qb_id = state.create(REALM, "Customer", {"DisplayName": "Acme Ltd"})["Id"]
    _changed(scene, "Create", qb_id)
    worker = Worker(scene.services, name="w1")
    run_until_idle(worker)
    with transaction(scene.services.store.engine) as connection:
        connection.execute(delete(applied_versions))
    scene.services.configs.match_rules = ("Name",)
    (typed_in,) = _typed_in(scene, "Acme Ltd")
    scene.services.clock.advance(seconds=1)
    state.update(REALM, "Customer", qb_id, {"PrimaryPhone": {"FreeFormNumber": "555-0100"}})
    _changed(scene, "Update", qb_id)

    run_until_idle(worker)

    assert _ledger(scene)[qb_id][0] == "done"
    assert accounts(scene.org)[qb_id]["Phone"] == "555-0100"
    rows = {row["Id"]: row for row in scene.org.rows("Account")}
    assert len(rows) == 2 and not rows[typed_in].get(EXT)


def test_a_burst_of_first_writes_is_looked_up_with_one_query_per_batch(scene: Scene) -> None:
    state = scene.state
    scene.services.configs.match_rules = ("Name", "Phone")
    typed_in = _typed_in(scene, *(f"Known {n:03d}" for n in range(40)))
    ids = [
        state.create(REALM, "Customer", {"DisplayName": f"Known {n:03d}"})["Id"] for n in range(40)
    ] + [state.create(REALM, "Customer", {"DisplayName": f"New {n:03d}"})["Id"] for n in range(60)]
    _changed(scene, "Create", *ids)

    before = calls_by_work()
    assert run_until_idle(Worker(scene.services, name="w1")) == 1  # one batch of 100 events

    written = accounts(scene.org)
    assert set(written) == set(ids) and len(scene.org.rows("Account")) == 100
    assert sorted(written[i]["Id"] for i in ids[:40]) == sorted(typed_in)
    calls = calls_since(before)
    assert calls[("salesforce", "query", "realtime")] == 1
    assert calls[("salesforce", "update", "realtime")] == 1  # the 40 links in one call


def test_a_lookup_that_fails_for_now_retries_the_first_write_instead_of_creating_it(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = scene.state
    scene.services.configs.match_rules = ("Name",)
    _typed_in(scene, "Acme Ltd")
    qb_id = state.create(REALM, "Customer", {"DisplayName": "Acme Ltd"})["Id"]
    _changed(scene, "Create", qb_id)

    def unavailable(statements):
        raise SalesforceTransient("Salesforce answered 503", status=503)

    monkeypatch.setattr(scene.services.salesforce, "query_many", unavailable)
    run_until_idle(Worker(scene.services, name="w1"))

    ledger_state, error = _ledger(scene)[qb_id]
    assert ledger_state == "failed" and error.startswith("matching failed: ")
    (event,) = scene.services.store.events.events()
    assert event.next_attempt_at is not None  # retried after a backoff, not given up
    assert len(scene.org.rows("Account")) == 1  # not created unmatched


def test_a_link_salesforce_refuses_fails_the_change_and_creates_no_duplicate(
    scene: Scene,
) -> None:
    state = scene.state
    scene.services.configs.match_rules = ("Name",)
    (typed_in,) = _typed_in(scene, "Locked TEST Co")
    scene.org.object("Account").validation_rules.append(
        ValidationRule("No_Test", 'CONTAINS(Name, "TEST")', "Test records are not wanted", "Name")
    )
    qb_id = state.create(REALM, "Customer", {"DisplayName": "Locked TEST Co"})["Id"]
    _changed(scene, "Create", qb_id)

    run_until_idle(Worker(scene.services, name="w1"))

    ledger_state, error = _ledger(scene)[qb_id]
    assert ledger_state == "failed" and "linking failed: " in error
    assert "Test records are not wanted" in error
    (row,) = scene.org.rows("Account")
    assert row["Id"] == typed_in and not row.get(EXT)


# One line, as Intuit requires of an invoice; the mapping has no line mappings.
LINE = [{"Amount": 5.0, "DetailType": "SalesItemLineDetail"}]


class WithInvoices(Configs):
    """The Customer → Account mapping of the fixtures, with `match_rules`, and an Invoice →
    QB_Transaction__c mapping whose CustomerRef refers to it (no match rules, no lines)."""

    def get(self, realm_id: str):
        invoice = {
            "Id": "a01Invoice",
            "QB_Object__c": "Invoice",
            "Salesforce_Object__c": "QB_Transaction__c",
            "External_Id_Field__c": EXT,
            "Realtime_Enabled__c": True,
            "Delete_Behavior__c": "Ignore",
            "Company__r": {"Realm_Id__c": REALM, "Status__c": "Connected"},
            "Field_Mappings__r": {
                "records": [
                    {"Id": "a02i0", "QB_Field__c": "DocNumber", "Salesforce_Field__c": "Name"},
                    {
                        "Id": "a02i1",
                        "QB_Field__c": "CustomerRef",
                        "Salesforce_Field__c": "Account__c",
                    },
                ]
            },
        }
        config = parse_realm_config(realm_id, [mapping_row(), invoice], CATALOG)
        customer = replace(config.mappings["customer"], match_rules=self.match_rules)
        return replace(config, mappings={**config.mappings, "customer": customer})


def _invoiced(scene: Scene, name: str) -> tuple[str, str]:
    """A Customer named `name` and an Invoice for it, created in QuickBooks; the Invoice's
    webhook event stored (the Customer has none). Their QuickBooks ids."""
    customer = scene.state.create(REALM, "Customer", {"DisplayName": name})["Id"]
    invoice = scene.state.create(
        REALM, "Invoice", {"CustomerRef": {"value": customer}, "Line": LINE}
    )["Id"]
    scene.services.clock.advance(seconds=1)
    scene.services.store.events.add(
        [ChangeEvent(REALM, "Invoice", invoice, "Create", scene.services.clock(), "ce:inv")]
    )
    return customer, invoice


def test_a_customer_synced_first_for_an_invoice_is_matched_too(scene: Scene) -> None:
    """An Invoice whose Customer Salesforce does not have makes the writer sync the Customer
    first (`RecordWriter.sync_related`): that first write is matched like a batch's own."""
    scene.services.configs = WithInvoices(("Name",))
    (typed_in,) = _typed_in(scene, "Acme Ltd")
    customer, invoice = _invoiced(scene, "Acme Ltd")

    run_until_idle(Worker(scene.services, name="w1"))

    (account,) = scene.org.rows("Account")  # linked, not duplicated
    assert account["Id"] == typed_in and account[EXT] == f"{REALM}-Customer-{customer}"
    (transaction,) = scene.org.rows("QB_Transaction__c")
    assert transaction["Account__c"] == typed_in
    assert _ledger(scene)[invoice][0] == "done"


def test_an_ambiguous_customer_synced_first_keeps_its_invoice_waiting(scene: Scene) -> None:
    scene.services.configs = WithInvoices(("Name",))
    twins = sorted(_typed_in(scene, "Twin Co", "twin co"))
    customer, invoice = _invoiced(scene, "Twin Co")

    run_until_idle(Worker(scene.services, name="w1"))

    assert sorted(row["Id"] for row in scene.org.rows("Account")) == twins  # no third
    (review,) = scene.org.rows("QB_Match_Review__c")
    assert review["QB_Record_Id__c"] == customer and review["QB_Object__c"] == "Customer"
    # The invoice retries until the admin decides: its Customer is not in Salesforce yet.
    ledger_state, error = _ledger(scene)[invoice]
    assert ledger_state == "failed" and "referenced record is not in Salesforce yet" in error
    assert not scene.org.rows("QB_Transaction__c")
