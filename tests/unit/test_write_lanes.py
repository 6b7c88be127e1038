"""The worker's two stages (qbsync.write_lanes): QuickBooks reads of the next batch overlap the
Salesforce writes of the current one, realms are written side by side, a realm's batches in
order, and batches grow with the load.

Salesforce writes are held at a gate the test opens, so every assertion is about what happened
while a write was in flight; the tests wait for events (a read seen, a write started), never
for a time.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime

import pytest

from qbsync.batch import Batch
from qbsync.events import ChangeEvent
from qbsync.store.ledger import StoredEvent
from qbsync.write_lanes import WriteLanes
from tests.support.worker_loop import TIMEOUT, run_until_idle, stop_worker
from tests.unit.test_worker import (  # noqa: F401 - fixtures
    REALM,
    FakeOrg,
    FakeQuickBooks,
    clock,
    customer,
    ext,
    make_worker,
    mapping_row,
    rsps,
    settings,
    store,
)

T = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
# With 4 lanes, realm-a and realm-c share lane 1, realm-b has lane 3 (crc32 of the realm id).
SAME_LANE, OTHER_LANE = ("realm-a", "realm-c"), "realm-b"


def batch(realm: str, number: int) -> Batch:
    event = StoredEvent(
        realm_id=realm,
        entity="Customer",
        entity_id=str(number),
        operation="Update",
        occurred_at=T,
        event_key=f"ce:{realm}-{number}",
        id=number,
        state="claimed",
        attempts=1,
        next_attempt_at=None,
        last_error=None,
        reason=None,
        received_at=T,
        lease_until=None,
        claimed_by="w",
    )
    return Batch(events=[event], now=T)


class GatedWrites:
    """A write function that holds `realm`'s first batch until `gate` opens."""

    def __init__(self, held_realm: str) -> None:
        self.held_realm = held_realm
        self.gate = threading.Event()
        self.held = threading.Event()
        self.started: list[str] = []
        self.lock = threading.Lock()
        self.count = threading.Semaphore(0)

    def __call__(self, batch: Batch) -> None:
        key = batch.events[0].event_key
        with self.lock:
            self.started.append(key)
        if batch.realm_id == self.held_realm and not self.held.is_set():
            self.held.set()
            assert self.gate.wait(TIMEOUT)
        self.count.release()

    def wait_for(self, writes: int) -> None:
        for _ in range(writes):
            assert self.count.acquire(timeout=TIMEOUT)


def test_other_realms_are_written_while_a_realm_waits_and_a_realm_keeps_its_order() -> None:
    writes = GatedWrites(held_realm=SAME_LANE[0])
    lanes = WriteLanes(4, writes)
    try:
        lanes.submit(batch(SAME_LANE[0], 1))
        assert writes.held.wait(TIMEOUT)
        lanes.submit(batch(SAME_LANE[0], 2))  # the same realm: after its first batch
        lanes.submit(batch(OTHER_LANE, 3))

        writes.wait_for(1)  # realm-b's batch went out while realm-a's first is in flight
        assert writes.started == ["ce:realm-a-1", "ce:realm-b-3"]
        assert not lanes.wait_for_room(timeout=0)  # realm-a's second batch waits to start

        writes.gate.set()
        writes.wait_for(2)
        assert lanes.wait_for_room(timeout=TIMEOUT)
    finally:
        writes.gate.set()
        lanes.close()
    assert writes.started == ["ce:realm-a-1", "ce:realm-b-3", "ce:realm-a-2"]


def test_a_failing_write_does_not_end_its_lane(caplog: pytest.LogCaptureFixture) -> None:
    written: list[int] = []

    def write(batch: Batch) -> None:
        if batch.events[0].id == 1:
            raise RuntimeError("a bug")
        written.append(batch.events[0].id)

    lanes = WriteLanes(1, write)
    lanes.submit(batch("realm-a", 1))
    lanes.submit(batch("realm-a", 2))
    lanes.close()

    assert written == [2]
    assert "Writing a batch of 1 events failed" in caplog.text


class WatchedQuickBooks(FakeQuickBooks):
    """Counts each batch read as it is answered."""

    def __init__(self, rsps, records) -> None:  # noqa: F811
        self.reads = threading.Semaphore(0)
        super().__init__(rsps, records)

    def _query(self, request):
        answer = super()._query(request)
        self.reads.release()
        return answer

    def batch_sizes(self) -> list[int]:
        return [len(re.findall(r"'([^']*)'", text)) for text in self.queries]


class GatedOrg(FakeOrg):
    """Holds every Account upsert until `gate` opens; counts them as they are answered."""

    def __init__(self, rsps, config_rows) -> None:  # noqa: F811
        self.gate, self.writing = threading.Event(), threading.Event()
        self.written = threading.Semaphore(0)
        self.upserts: list[int] = []
        super().__init__(rsps, config_rows)

    def _upsert_accounts(self, request):
        self.upserts.append(len(json.loads(request.body)["records"]))
        self.writing.set()
        assert self.gate.wait(TIMEOUT), "the test never opened the gate"
        answer = super()._upsert_accounts(request)
        self.written.release()
        return answer


def test_the_next_batch_is_read_while_the_current_one_is_written_and_batches_grow_with_load(
    rsps,  # noqa: F811
    store,  # noqa: F811
    make_worker,  # noqa: F811
) -> None:
    quickbooks = WatchedQuickBooks(rsps, [customer(n) for n in range(1, 10)])
    org = GatedOrg(rsps, [mapping_row()])
    stop, thread = run_until_idle(make_worker())
    try:
        store.events.add([change(1)])
        assert org.writing.wait(TIMEOUT) and quickbooks.reads.acquire(timeout=TIMEOUT)
        # The first batch's write is in flight: these five are claimed and read meanwhile…
        store.events.add([change(n) for n in range(2, 7)])
        assert quickbooks.reads.acquire(timeout=TIMEOUT), "not read during the write"
        # …and these three wait for the next claim, which comes when the lane has room.
        store.events.add([change(n) for n in range(7, 10)])
        org.gate.set()
        for _ in range(3):
            assert org.written.acquire(timeout=TIMEOUT)
    finally:
        org.gate.set()
        stop_worker(stop, thread)
    assert sorted(org.accounts) == sorted(ext(n) for n in range(1, 10))
    assert quickbooks.batch_sizes() == [1, 5, 3]
    assert org.upserts == [1, 5, 3]
    assert store.events.counts()["done"] == 9


def change(number: int) -> ChangeEvent:
    return ChangeEvent(REALM, "Customer", str(number), "Update", T, f"ce:Customer-{number}")
