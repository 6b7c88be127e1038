"""Crash safety: SIGKILL of gunicorn (web) and of the sync worker under load loses nothing.

While 200 Customers are created (and some renamed) in QuickBooks, the middleware's processes
are killed with SIGKILL and started again. Afterwards:

- every webhook event the web process acknowledged with 200 is in the ledger and applied
  (Intuit resends what was not acknowledged, so acknowledged is what the middleware owes);
- the ledger holds no pending, claimed, retrying, failed or dead event;
- `qbsync verify` reports no drift;
- no Salesforce record is duplicated: one Account per external id, one per Customer.

The worker's lease is 10 s here (default 120 s) so the events a killed worker had claimed are
claimed again within the test.
"""

import os
import signal
import threading
import time
import uuid

import pytest

from qbsync_sandbox.probes import (
    LedgerLock,
    backlog,
    duplicate_records,
    ledger,
    ledger_counts,
    verify,
    wait_drained,
)
from qbsync_sandbox.stack import Stack, wait_until

pytestmark = pytest.mark.e2e

CUSTOMERS = 200


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    sandbox = Stack(
        tmp_path_factory.mktemp("crash"),
        extra_env={"QBSYNC_LEASE_SECONDS": "10", "QBSYNC_RECONCILE_SECONDS": "5"},
    )
    with sandbox.running():
        sandbox.connect()
        sandbox.apply_recommended_mappings(enable=("Customer",))
        yield sandbox


class Load(threading.Thread):
    """Creates `count` Customers, renaming every fifth one right away."""

    def __init__(self, stack, count: int) -> None:
        super().__init__(name="crash-load", daemon=True)
        self.stack, self.count = stack, count
        self.created: dict[str, str] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for number in range(self.count):
                record = self.stack.create_entity(
                    "Customer", {"DisplayName": f"Crash {uuid.uuid4().hex[:10]}"}
                )
                self.created[record["Id"]] = record["DisplayName"]
                if number % 5 == 0:
                    renamed = self.stack.update_entity(
                        "Customer", record["Id"], {"DisplayName": f"Crash {uuid.uuid4().hex[:10]}"}
                    )
                    self.created[record["Id"]] = renamed["DisplayName"]
        except BaseException as error:  # noqa: BLE001 - re-raised in the test
            self.error = error

    def wait_for(self, created: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.created) < created and self.is_alive():
            assert time.monotonic() < deadline, f"only {len(self.created)} Customers created"
            time.sleep(0.05)


def acknowledged_event_keys(stack) -> set[str]:
    """Ledger keys of the CloudEvents the web process answered 200 for."""
    stats = stack.qbo("GET", "/deliveries")
    assert stats["attempts"] <= 500, "the emulator's attempt log is capped at 500 entries"
    return {
        f"ce:{event_id}"
        for attempt in stats["attemptLog"]
        if attempt["status"] == 200
        for event_id in attempt["eventIds"]
    }


def ledger_states(stack) -> dict[str, str]:
    return {event.event_key: event.state for event in ledger(stack).events(limit=1_000_000)}


def accounts_by_external_id(stack) -> dict[str, int]:
    rows = stack.sf_admin(
        "POST", "/query", json={"q": "SELECT Id, QB_External_Id__c FROM Account"}
    ).json()["records"]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["QB_External_Id__c"]] = counts.get(row["QB_External_Id__c"], 0) + 1
    return counts


def assert_nothing_lost_or_duplicated(stack, load: Load) -> None:
    load.join(timeout=120)
    assert load.error is None, load.error
    wait_drained(stack, 90)

    counts = ledger_counts(stack)
    assert backlog(counts) == 0, counts
    assert counts["failed"] == counts["dead"] == 0, counts
    states = ledger_states(stack)
    acknowledged = acknowledged_event_keys(stack)
    assert acknowledged, "no webhook was acknowledged"
    missing = acknowledged - set(states)
    assert not missing, f"{len(missing)} acknowledged events are not in the ledger"
    unapplied = {key: states[key] for key in acknowledged if states[key] not in ("done",)}
    assert not unapplied, unapplied

    result = verify(stack, qb_object="Customer")
    assert result.clean, result.output
    accounts = accounts_by_external_id(stack)
    for entity_id in load.created:
        assert accounts.get(f"{stack.realm_id}-Customer-{entity_id}") == 1, entity_id
    assert duplicate_records(stack)["Account"] == 0


def test_web_killed_under_load(stack):
    load = Load(stack, CUSTOMERS)
    load.start()
    for after in (40, 100, 160):
        load.wait_for(after)
        # Deliveries arriving now wait inside the web process for the ledger's write lock:
        # the kill lands mid-request, before their events are stored or acknowledged.
        with LedgerLock(stack):
            time.sleep(0.5)
            stack.kill("web")  # the gunicorn master and its workers
        stack.respawn("web")
    assert_nothing_lost_or_duplicated(stack, load)
    interrupted = [a for a in stack.qbo("GET", "/deliveries")["attemptLog"] if a["error"]]
    assert interrupted, "no delivery was cut off by the kills"


def test_gunicorn_worker_killed_under_load(stack):
    load = Load(stack, CUSTOMERS)
    load.start()
    for after in (50, 120):
        load.wait_for(after)
        for pid in stack.child_pids("web"):
            # One request-handling process dies; the gunicorn master starts another.
            os.kill(pid, signal.SIGKILL)
    assert_nothing_lost_or_duplicated(stack, load)


def test_sync_worker_killed_under_load(stack):
    # Slow Salesforce upserts keep the worker inside a batch long enough to be killed there.
    stack.sf_fault("latency", seconds=0.5, count=None, path="/composite/sobjects/Account")
    load = Load(stack, CUSTOMERS)
    load.start()
    for after in (30, 90, 150):
        load.wait_for(after)
        wait_until(lambda: ledger_counts(stack)["claimed"] > 0, timeout=20, what="a claimed batch")
        stack.kill("worker")  # mid-batch: its claimed events wait for the lease to run out
        assert ledger_counts(stack)["claimed"] > 0
        stack.respawn("worker")
    stack.clear_faults()
    assert_nothing_lost_or_duplicated(stack, load)


def test_web_and_worker_killed_together(stack):
    load = Load(stack, CUSTOMERS)
    load.start()
    load.wait_for(80)
    stack.kill("worker")
    stack.kill("web")
    time.sleep(1.0)
    stack.respawn("web")
    stack.respawn("worker")
    assert_nothing_lost_or_duplicated(stack, load)
