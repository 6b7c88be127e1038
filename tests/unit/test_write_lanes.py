"""The worker's lanes (qbsync.write_lanes): batches of other records are read and written while
one is written (QuickBooks reads overlap Salesforce writes), a record's batches in order, and
batches grow with the load when every lane is busy.

Salesforce writes are held at a gate the test opens, so every assertion is about what happened
while a write was in flight; the tests wait for events (a read seen, a write started), never
for a time.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest

from qbsync.batch import Batch
from qbsync.events import ChangeEvent
from qbsync.store.ledger import StoredEvent
from qbsync.worker import QUIET_BACKLOG
from qbsync.write_lanes import BackfillLane, WriteLanes
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


def batch(realm: str, record: int, number: int | None = None) -> Batch:
    """A batch of one event about `record`; `number` tells two events about it apart."""
    number = record if number is None else number
    event = StoredEvent(
        realm_id=realm,
        entity="Customer",
        entity_id=str(record),
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
    """A write function that holds the batch of `held_key` until `gate` opens."""

    def __init__(self, held_key: str) -> None:
        self.held_key = held_key
        self.gate = threading.Event()
        self.held = threading.Event()
        self.started: list[str] = []
        self.lock = threading.Lock()
        self.count = threading.Semaphore(0)

    def __call__(self, batch: Batch) -> None:
        key = batch.events[0].event_key
        with self.lock:
            self.started.append(key)
        if key == self.held_key:
            self.held.set()
            assert self.gate.wait(TIMEOUT)
        self.count.release()

    def wait_for(self, writes: int) -> None:
        for _ in range(writes):
            assert self.count.acquire(timeout=TIMEOUT)


def test_batches_of_other_records_are_written_alongside_and_a_record_keeps_its_order() -> None:
    writes = GatedWrites(held_key="ce:realm-a-1")
    lanes = WriteLanes(4, writes)
    try:
        lanes.submit(batch("realm-a", 1))
        assert writes.held.wait(TIMEOUT)
        lanes.submit(batch("realm-a", 1, number=2))  # the same record: after the first
        lanes.submit(batch("realm-a", 3))  # another record of the realm: alongside
        lanes.submit(batch("realm-b", 4))  # another realm: alongside

        writes.wait_for(2)
        assert sorted(writes.started) == ["ce:realm-a-1", "ce:realm-a-3", "ce:realm-b-4"]
        assert "ce:realm-a-2" not in writes.started  # the record's second batch waits

        writes.gate.set()
        writes.wait_for(2)
    finally:
        writes.gate.set()
        lanes.close()
    assert writes.started[-1] == "ce:realm-a-2"


def test_the_worker_may_claim_again_only_when_a_lane_is_free() -> None:
    gates = {1: threading.Event(), 2: threading.Event()}
    started = threading.Semaphore(0)

    def write(batch: Batch) -> None:
        started.release()
        assert gates[batch.events[0].id].wait(TIMEOUT)

    lanes = WriteLanes(2, write)
    try:
        assert lanes.wait_for_room(timeout=0)
        lanes.submit(batch("realm-a", 1))
        assert started.acquire(timeout=TIMEOUT)
        assert lanes.wait_for_room(timeout=0)  # the second lane is free
        lanes.submit(batch("realm-a", 2))
        assert started.acquire(timeout=TIMEOUT)
        # Both lanes are writing, neither has a batch waiting: a claim now would be queued
        # behind a write, ahead of whatever arrives meanwhile (a quiet realm's change).
        assert not lanes.wait_for_room(timeout=0)
        gates[2].set()
        assert lanes.wait_for_room(timeout=TIMEOUT)
    finally:
        for gate in gates.values():
            gate.set()
        lanes.close()


def test_the_spare_lane_writes_a_quiet_batch_while_every_lane_is_busy() -> None:
    writes = GatedWrites(held_key="none")
    gate = threading.Event()
    ended = threading.Semaphore(0)

    def write(batch: Batch) -> None:
        if batch.realm_id == "realm-a":
            assert gate.wait(TIMEOUT)
        writes(batch)
        ended.release()

    lanes = WriteLanes(2, write, freed=ended.release)
    try:
        lanes.submit(batch("realm-a", 1))
        lanes.submit(batch("realm-a", 2))
        assert not lanes.wait_for_room(timeout=0)
        assert lanes.wait_for_room(timeout=0, or_spare=True)
        # A batch sharing a record with a held one must stay behind it: not the spare's.
        assert not lanes.submit_spare(batch("realm-a", 1, number=3))
        assert lanes.submit_spare(batch("realm-b", 4))
        writes.wait_for(1)
        assert writes.started == ["ce:realm-b-4"]  # while both of realm-a's are still held
    finally:
        gate.set()
        lanes.close()


def quiet_change(realm: str, number: int) -> ChangeEvent:
    return ChangeEvent(realm, "Customer", str(number), "Update", T, f"ce:{realm}-{number}")


def test_a_quiet_realm_is_written_while_a_busy_realm_holds_every_lane(
    store,  # noqa: F811
    clock,  # noqa: F811
    make_worker,  # noqa: F811
) -> None:
    """Issue 19's seventh realm: every lane holds a batch of the busy realm (blocked), the busy
    realm has more waiting and its turn comes first; the quiet realm's change is still written
    at once, in the spare lane, and the busy realm's claimed-and-given-back events wait in the
    ledger as they were."""
    worker = make_worker()
    ledger = store.events
    lanes_count = worker.settings.worker_write_lanes
    busy_waiting = QUIET_BACKLOG + 10
    ledger.add([quiet_change("busy", n) for n in range(lanes_count + busy_waiting)])
    gate = threading.Event()
    written: list[str] = []
    quiet_written = threading.Event()

    def write(batch: Batch) -> None:
        if batch.realm_id == "busy":
            assert gate.wait(TIMEOUT)
        written.append(batch.realm_id)
        quiet_written.set()

    lanes = WriteLanes(lanes_count, write)
    try:
        for _ in range(lanes_count):
            lanes.submit(worker._claim(limit=1))
        # The quiet realm's previous change was claimed after the busy realm's: the busy realm
        # is first in the claim's turn order.
        ledger.add([quiet_change("quiet", 1)])
        clock.advance(seconds=1)
        earlier = worker._claim(limit=1)
        assert earlier.realm_id == "quiet"
        ledger.mark_done([earlier.events[0].id])
        ledger.add([quiet_change("quiet", 2)])
        clock.advance(seconds=1)

        assert not lanes.wait_for_room(timeout=0)
        assert worker._hand_over_quiet(lanes) == 1
        assert quiet_written.wait(TIMEOUT)
        assert written == ["quiet"]  # every busy batch is still held
        waiting = [e for e in ledger.events(limit=1000) if e.realm_id == "busy"]
        assert sum(e.state == "pending" and e.attempts == 0 for e in waiting) == busy_waiting
    finally:
        gate.set()
        lanes.close()


def test_the_spare_lane_is_not_given_a_busy_realms_change(
    store,  # noqa: F811
    make_worker,  # noqa: F811
) -> None:
    worker = make_worker()
    ledger = store.events
    ledger.add([quiet_change("busy", n) for n in range(QUIET_BACKLOG + 2)])
    gate = threading.Event()
    lanes = WriteLanes(1, lambda batch: gate.wait(TIMEOUT))
    try:
        lanes.submit(worker._claim(limit=QUIET_BACKLOG))
        # Two more of the realm wait, fewer than a quiet backlog, but with its batch in flight
        # the realm has more.
        assert worker._hand_over_quiet(lanes) == 0
        assert (ledger.counts()["claimed"], ledger.counts()["pending"]) == (QUIET_BACKLOG, 2)
    finally:
        gate.set()
        lanes.close()


def test_a_quiet_change_not_due_yet_waits_and_no_busy_event_is_touched(
    store,  # noqa: F811
    clock,  # noqa: F811
    make_worker,  # noqa: F811
) -> None:
    """A quiet realm's event waits for a retry an hour away: the spare takes nothing, and the
    busy realm's waiting events stay as they were (not claimed and given back)."""
    worker = make_worker()
    ledger = store.events
    ledger.add([quiet_change("busy", n) for n in range(QUIET_BACKLOG + 1)])
    ledger.add([quiet_change("quiet", 1)])
    retrying = next(e for e in ledger.events(limit=100) if e.realm_id == "quiet")
    ledger.mark_failed([retrying.id], "timed out", retry_at=clock() + timedelta(hours=1))
    gate = threading.Event()
    lanes = WriteLanes(1, lambda batch: gate.wait(TIMEOUT))

    def rows() -> list[tuple]:
        rows = ledger.events(limit=100)
        return sorted((e.id, e.state, e.attempts, e.next_attempt_at) for e in rows)

    try:
        lanes.submit(worker._claim(limit=1))
        before = rows()
        assert worker._hand_over_quiet(lanes) == 0
        assert rows() == before
        ledger.add([quiet_change("quiet", 2)])
        assert worker._hand_over_quiet(lanes) == 1
    finally:
        gate.set()
        lanes.close()


def test_a_quiet_change_of_a_record_a_lane_still_holds_goes_behind_it(
    store,  # noqa: F811
    make_worker,  # noqa: F811
) -> None:
    """The lane has settled its batch of the record (the realm has no claim left, so it is
    quiet) but not let go of it yet: the next change of the record is written after it, in
    that lane, never beside it in the spare."""
    worker = make_worker()
    ledger = store.events
    ledger.add([quiet_change("quiet", 1)])
    first = worker._claim(limit=1)
    ledger.mark_done([first.events[0].id])
    ledger.add([ChangeEvent("quiet", "Customer", "1", "Update", T, "ce:quiet-1-newer")])
    gate = threading.Event()
    written: list[str] = []

    def write(batch: Batch) -> None:
        assert gate.wait(TIMEOUT)
        written.append(batch.events[0].event_key)

    lanes = WriteLanes(1, write)
    try:
        lanes.submit(first)
        assert worker._hand_over_quiet(lanes) == 1
        assert lanes.wait_for_room(timeout=0, or_spare=True)  # the spare is still free
    finally:
        gate.set()
        lanes.close()
    assert written == ["ce:quiet-1", "ce:quiet-1-newer"]


def test_the_backfill_lane_runs_one_page_at_a_time_and_says_when_a_page_ran() -> None:
    finish = threading.Event()
    ran = threading.Event()
    found_a_job = [True, False]
    pages: list[int] = []

    def run_page() -> bool:
        pages.append(len(pages))
        assert finish.wait(TIMEOUT)
        return found_a_job.pop(0)

    lane = BackfillLane(run_page, ran.set)
    lane.start_page()
    lane.start_page()  # a page runs: no second one beside it
    finish.set()
    assert ran.wait(TIMEOUT)
    ran.clear()
    lane.start_page()  # free once it said so: the next page starts (and finds no job)
    lane.close()
    assert pages == [0, 1]
    assert not ran.is_set()  # a page that found no job wakes nobody


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
        self.gate = threading.Event()
        self.arrived, self.written = threading.Semaphore(0), threading.Semaphore(0)
        self.upserts: list[int] = []
        super().__init__(rsps, config_rows)

    def _upsert_accounts(self, request):
        self.upserts.append(len(json.loads(request.body)["records"]))
        self.arrived.release()
        assert self.gate.wait(TIMEOUT), "the test never opened the gate"
        answer = super()._upsert_accounts(request)
        self.written.release()
        return answer


def test_when_every_lane_is_busy_what_arrives_is_claimed_together(
    rsps,  # noqa: F811
    store,  # noqa: F811
    settings,  # noqa: F811
    make_worker,  # noqa: F811
) -> None:
    """One lane: what arrives while it writes is claimed together after (not claimed ahead and
    queued behind the write). More than a quiet realm's few, which the spares would take."""
    last = QUIET_BACKLOG + 9
    quickbooks = WatchedQuickBooks(rsps, [customer(n) for n in range(1, last + 1)])
    org = GatedOrg(rsps, [mapping_row()])
    stop, thread = run_until_idle(
        make_worker(settings=settings.with_overrides(worker_write_lanes=1))
    )
    try:
        store.events.add([change(1)])
        assert org.arrived.acquire(timeout=TIMEOUT)
        # The lane is writing: what arrives now waits in the ledger for the next claim, which
        # comes when the lane is free.
        store.events.add([change(n) for n in range(2, QUIET_BACKLOG + 3)])
        store.events.add([change(n) for n in range(QUIET_BACKLOG + 3, last + 1)])
        org.gate.set()
        for _ in range(2):
            assert org.written.acquire(timeout=TIMEOUT)
    finally:
        org.gate.set()
        stop_worker(stop, thread)
    assert sorted(org.accounts) == sorted(ext(n) for n in range(1, last + 1))
    assert quickbooks.batch_sizes() == [1, last - 1]
    assert org.upserts == [1, last - 1]
    assert store.events.counts()["done"] == last


def test_a_change_is_read_and_written_while_another_of_the_realm_is_being_written(
    rsps,  # noqa: F811
    store,  # noqa: F811
    make_worker,  # noqa: F811
) -> None:
    quickbooks = WatchedQuickBooks(rsps, [customer(1), customer(2)])
    org = GatedOrg(rsps, [mapping_row()])
    stop, thread = run_until_idle(make_worker())
    try:
        store.events.add([change(1)])
        assert org.arrived.acquire(timeout=TIMEOUT) and quickbooks.reads.acquire(timeout=TIMEOUT)
        store.events.add([change(2)])
        # Read from QuickBooks and sent to Salesforce while the first write is still held.
        assert quickbooks.reads.acquire(timeout=TIMEOUT), "not read during the first write"
        assert org.arrived.acquire(timeout=TIMEOUT), "the second change waited for the first"
        org.gate.set()
    finally:
        org.gate.set()
        stop_worker(stop, thread)
    assert sorted(org.accounts) == [ext(1), ext(2)]
    assert store.events.counts()["done"] == 2


def change(number: int) -> ChangeEvent:
    return ChangeEvent(REALM, "Customer", str(number), "Update", T, f"ce:Customer-{number}")
