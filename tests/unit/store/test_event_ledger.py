"""Contract suite of the event ledger (`qbsync.store.ledger.EventLedger`), run on every backend.

SQLite (a temp file) always; PostgreSQL too when QBSYNC_TEST_POSTGRES_URL is set (CI sets it).
Each PostgreSQL test gets a fresh schema, so parallel runs never see each other's rows.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from qbsync.events import ChangeEvent
from qbsync.store.ledger import EventLedger, Unsettled

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
LEASE = 60


@pytest.fixture
def ledger(database) -> EventLedger:
    return EventLedger(database)


def event(
    entity_id: str,
    *,
    realm: str = "r1",
    entity: str = "Customer",
    operation: str = "Update",
    key: str | None = None,
    deleted_id: str | None = None,
) -> ChangeEvent:
    return ChangeEvent(
        realm_id=realm,
        entity=entity,
        entity_id=entity_id,
        operation=operation,
        occurred_at=datetime(2025, 12, 4, 15, 25, 5, 123456, tzinfo=UTC),
        event_key=key or f"ce:{realm}-{entity}-{entity_id}-{operation}",
        deleted_id=deleted_id,
    )


def ids(stored) -> list[int]:
    return [item.id for item in stored]


# --- add / dedupe -------------------------------------------------------------------------


def test_add_stores_events_once(ledger: EventLedger) -> None:
    batch = [event("1"), event("2"), event("1")]  # a body may even repeat an event
    assert ledger.add(batch) == 2
    assert ledger.add(batch) == 0  # Intuit's retry of the same batch
    assert ledger.add([event("2"), event("3")]) == 1
    assert [item.entity_id for item in ledger.events()] == ["1", "2", "3"]
    assert ledger.counts() == {
        "pending": 3,
        "claimed": 0,
        "done": 0,
        "skipped": 0,
        "failed": 0,
        "dead": 0,
    }


def test_add_nothing(ledger: EventLedger) -> None:
    assert ledger.add([]) == 0
    assert ledger.events() == []


def test_stored_event_round_trip(ledger: EventLedger) -> None:
    original = ChangeEvent(
        realm_id="9341455130166501",
        entity="Customer",
        entity_id="123",
        operation="Merge",
        occurred_at=datetime(2025, 12, 4, 8, 25, 5, 500, tzinfo=UTC) + timedelta(hours=7),
        event_key="ce:12345678-abcd-Customer-123",
        deleted_id="27",
        source="cloudevents",
    )
    ledger.add([original])
    (stored,) = ledger.events()
    assert ChangeEvent(**{f: getattr(stored, f) for f in ChangeEvent.__dataclass_fields__}) == (
        original
    )
    assert stored.occurred_at.tzinfo == UTC  # aware UTC on every backend
    assert stored.received_at.tzinfo == UTC
    assert (stored.state, stored.attempts, stored.lease_until, stored.claimed_by) == (
        "pending",
        0,
        None,
        None,
    )


def test_concurrent_adds_of_the_same_batch_store_it_once(ledger: EventLedger) -> None:
    batch = [event(str(n)) for n in range(50)]
    results: list[int] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            results.append(ledger.add(batch))
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [0, 0, 0, 50]
    assert len(ledger.events(limit=1000)) == 50


def test_naive_datetimes_are_refused(ledger: EventLedger) -> None:
    naive = datetime(2026, 1, 1, 12, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises(Exception, match="aware datetimes only"):
        ledger.add([ChangeEvent("r1", "Customer", "1", "Update", naive, "ce:naive")])
    assert ledger.events() == []


# --- claim --------------------------------------------------------------------------------


def test_claim_takes_one_group_and_serves_realms_in_turn(ledger: EventLedger) -> None:
    ledger.add(
        [
            event("1"),
            event("7", entity="Invoice"),
            event("2"),
            event("1", realm="r2"),
            event("3"),
        ]
    )
    first = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    assert [(e.realm_id, e.entity, e.entity_id) for e in first] == [
        ("r1", "Customer", "1"),
        ("r1", "Customer", "2"),
        ("r1", "Customer", "3"),
    ]
    for item in first:
        assert item.state == "claimed"
        assert item.attempts == 1
        assert item.claimed_by == "w1"
        assert item.lease_until == NOW + timedelta(seconds=LEASE)
    # r2 has waited longest (never served): its turn comes before r1's other group.
    second = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    assert [(e.realm_id, e.entity, e.entity_id) for e in second] == [("r2", "Customer", "1")]
    third = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    assert [(e.realm_id, e.entity, e.entity_id) for e in third] == [("r1", "Invoice", "7")]
    assert ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW) == []
    assert ledger.counts()["claimed"] == 5


def test_claim_respects_the_limit(ledger: EventLedger) -> None:
    ledger.add([event(str(n)) for n in range(5)])
    first = ledger.claim("w1", limit=2, lease_seconds=LEASE, now=NOW)
    rest = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    assert [e.entity_id for e in first] == ["0", "1"]
    assert [e.entity_id for e in rest] == ["2", "3", "4"]


def test_claim_rejects_a_limit_below_one(ledger: EventLedger) -> None:
    with pytest.raises(ValueError, match="limit must be at least 1"):
        ledger.claim("w1", limit=0, lease_seconds=LEASE, now=NOW)


def test_expired_lease_after_a_crash_is_claimed_again(ledger: EventLedger) -> None:
    ledger.add([event("1"), event("2")])
    crashed = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    # w1 dies without marking anything. While its lease runs, nobody else gets the events.
    almost = NOW + timedelta(seconds=LEASE - 1)
    assert ledger.claim("w2", limit=10, lease_seconds=LEASE, now=almost) == []
    later = NOW + timedelta(seconds=LEASE)
    recovered = ledger.claim("w2", limit=10, lease_seconds=LEASE, now=later)
    assert ids(recovered) == ids(crashed)
    assert [(e.claimed_by, e.attempts) for e in recovered] == [("w2", 2), ("w2", 2)]
    assert recovered[0].lease_until == later + timedelta(seconds=LEASE)


def test_concurrent_claims_never_hand_out_the_same_event(ledger: EventLedger) -> None:
    batch = [
        event(str(n), realm=f"r{n % 3}", entity=("Customer", "Invoice")[n % 2]) for n in range(300)
    ]
    assert ledger.add(batch) == 300
    claimed: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        mine = claimed.setdefault(name, [])
        try:
            while got := ledger.claim(name, limit=7, lease_seconds=600, now=NOW):
                mine.extend(ids(got))
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    everything = [item for mine in claimed.values() for item in mine]
    assert len(everything) == len(set(everything)) == 300
    assert ledger.counts()["claimed"] == 300
    assert {e.attempts for e in ledger.events(limit=1000)} == {1}


# --- outcomes -----------------------------------------------------------------------------


def test_done_and_skipped_are_final(ledger: EventLedger) -> None:
    ledger.add([event("1"), event("2"), event("3")])
    first, second, third = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    ledger.mark_done([first.id], note="upserted 001000000000001AAA")
    ledger.mark_skipped([second.id, third.id], reason="Customer is not mapped")
    far = NOW + timedelta(days=30)
    assert ledger.claim("w2", limit=10, lease_seconds=LEASE, now=far) == []
    done = ledger.events(state="done")
    assert [(e.id, e.reason, e.lease_until) for e in done] == [
        (first.id, "upserted 001000000000001AAA", None)
    ]
    skipped = ledger.events(state="skipped")
    assert [(e.id, e.reason) for e in skipped] == [
        (second.id, "Customer is not mapped"),
        (third.id, "Customer is not mapped"),
    ]
    assert ledger.counts() == {
        "pending": 0,
        "claimed": 0,
        "done": 1,
        "skipped": 2,
        "failed": 0,
        "dead": 0,
    }


def test_failed_with_retry_is_claimable_at_its_time(ledger: EventLedger) -> None:
    ledger.add([event("1")])
    (claimed,) = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    retry_at = NOW + timedelta(seconds=30)
    ledger.mark_failed([claimed.id], error="UNABLE_TO_LOCK_ROW", retry_at=retry_at)
    (failed,) = ledger.events(state="failed")
    assert (failed.last_error, failed.next_attempt_at, failed.attempts) == (
        "UNABLE_TO_LOCK_ROW",
        retry_at,
        1,
    )
    assert (
        ledger.claim("w1", limit=10, lease_seconds=LEASE, now=retry_at - timedelta(seconds=1)) == []
    )
    (again,) = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=retry_at)
    assert (again.id, again.state, again.attempts) == (claimed.id, "claimed", 2)
    ledger.mark_done([again.id])
    (done,) = ledger.events(state="done")
    assert (done.last_error, done.reason, done.next_attempt_at) == (None, None, None)


def test_permanent_failure_stays(ledger: EventLedger) -> None:
    ledger.add([event("1")])
    (claimed,) = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    ledger.mark_failed([claimed.id], error="REQUIRED_FIELD_MISSING: Name", retry_at=None)
    assert ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW + timedelta(days=365)) == []
    (failed,) = ledger.events(state="failed")
    assert (failed.last_error, failed.next_attempt_at) == ("REQUIRED_FIELD_MISSING: Name", None)


def test_dead_is_never_claimed(ledger: EventLedger) -> None:
    ledger.add([event("1")])
    (claimed,) = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    ledger.mark_failed([claimed.id], error="timeout", retry_at=NOW + timedelta(seconds=5))
    ledger.mark_dead([claimed.id], error="gave up after 8 attempts: timeout")
    assert ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW + timedelta(days=1)) == []
    (dead,) = ledger.events(state="dead")
    assert (dead.last_error, dead.next_attempt_at, dead.lease_until) == (
        "gave up after 8 attempts: timeout",
        None,
        None,
    )


def test_release_gives_events_back_for_later_without_an_attempt(ledger: EventLedger) -> None:
    ledger.add([event("1"), event("2")])
    claimed = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    wait_until = NOW + timedelta(seconds=60)  # QuickBooks 429: the realm waits 60 s
    ledger.release(ids(claimed), at=wait_until)
    pending = ledger.events(state="pending")
    assert [(e.attempts, e.next_attempt_at, e.claimed_by, e.lease_until) for e in pending] == [
        (0, wait_until, None, None),
        (0, wait_until, None, None),
    ]
    assert (
        ledger.claim("w1", limit=10, lease_seconds=LEASE, now=wait_until - timedelta(seconds=1))
        == []
    )
    again = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=wait_until)
    assert ids(again) == ids(claimed)
    assert [e.attempts for e in again] == [1, 1]


def test_release_keeps_the_waits_reason_as_the_last_error_when_given(ledger: EventLedger):
    # A realm that waits (a 429) gives its claimed events back with the wait's reason, so the
    # event's own Retrying sync log is overwritten by its outcome; without a reason the event's
    # earlier error stays.
    ledger.add([event("1"), event("2")])
    first, second = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    ledger.mark_failed([second.id], error="timeout", retry_at=NOW)
    later = NOW + timedelta(seconds=60)
    ledger.release([first.id], at=later, error="QuickBooks throttled the company")
    (again,) = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    ledger.release([again.id], at=later)
    errors = {e.entity_id: e.last_error for e in ledger.events(state="pending")}
    assert errors == {"1": "QuickBooks throttled the company", "2": "timeout"}


def test_marking_no_ids_changes_nothing(ledger: EventLedger) -> None:
    ledger.add([event("1")])
    ledger.mark_done([])
    ledger.mark_failed([], error="x", retry_at=None)
    assert ledger.counts()["pending"] == 1


def test_events_filters_by_state_and_refuses_unknown_states(ledger: EventLedger) -> None:
    ledger.add([event(str(n)) for n in range(3)])
    ledger.claim("w1", limit=1, lease_seconds=LEASE, now=NOW)
    assert [e.entity_id for e in ledger.events(state="pending")] == ["1", "2"]
    assert [e.entity_id for e in ledger.events(limit=2)] == ["0", "1"]
    with pytest.raises(ValueError, match="unknown event state 'finished'"):
        ledger.events(state="finished")


# --- quarantine, wake, ping ------------------------------------------------------------------


def test_quarantine_keeps_the_raw_body_once(ledger: EventLedger) -> None:
    body = b'[{"type": "qbo.spaceship.updated.v1"}]\xff'
    first = ledger.quarantine(body, "event 1: unknown entity 'spaceship'")
    assert ledger.quarantine(body, "event 1: unknown entity 'spaceship'") == first
    second = ledger.quarantine(b"not json", "the body is not JSON")
    listed = ledger.quarantined()
    assert [(q.id, q.body, q.reason) for q in listed] == [
        (second, b"not json", "the body is not JSON"),
        (first, body, "event 1: unknown entity 'spaceship'"),
    ]
    assert listed[0].received_at.tzinfo == UTC
    assert len(ledger.quarantined(limit=1)) == 1


def test_wake_makes_a_reconnected_realms_waiting_events_claimable(ledger: EventLedger) -> None:
    ledger.add([event("1"), event("2", realm="r2")])
    claimed = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    later = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    ledger.release(ids(claimed) + ids(later), at=NOW + timedelta(hours=1))

    assert ledger.wake("r1") == 1

    woken = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    assert [(e.realm_id, e.entity_id) for e in woken] == [("r1", "1")]
    assert ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW) == []


def test_ping_answers(ledger: EventLedger) -> None:
    ledger.ping()


# --- single-event replay (Retry on a sync log) --------------------------------------------


def test_requeue_keys_puts_only_failed_and_dead_events_back(ledger: EventLedger) -> None:
    ledger.add([event("1"), event("2"), event("3"), event("4")])
    claimed = {e.entity_id: e.id for e in ledger.claim("w1", 10, LEASE, now=NOW)}
    ledger.mark_failed([claimed["1"]], error="REQUIRED_FIELD_MISSING: Name", retry_at=None)
    ledger.mark_dead([claimed["2"]], error="gave up after 8 attempts")
    ledger.mark_done([claimed["3"]])
    keys = [f"ce:r1-Customer-{n}-Update" for n in ("1", "2", "3", "4", "unknown")]

    assert ledger.requeue_keys(keys, reason="retried from Salesforce") == 2

    by_id = {e.entity_id: e for e in ledger.events()}
    assert {n: by_id[n].state for n in by_id} == {
        "1": "pending",
        "2": "pending",
        "3": "done",
        "4": "claimed",
    }
    assert (by_id["1"].attempts, by_id["1"].reason, by_id["1"].last_error) == (
        0,
        "retried from Salesforce",
        "REQUIRED_FIELD_MISSING: Name",
    )
    assert (by_id["2"].next_attempt_at, by_id["2"].claimed_by) == (None, None)
    again = ledger.claim("w1", 10, LEASE, now=NOW)  # w1 still holds 4 of the same group
    assert sorted(e.entity_id for e in again) == ["1", "2"]
    assert ledger.requeue_keys([]) == 0


def test_events_by_keys_and_by_key_prefix(ledger: EventLedger) -> None:
    ledger.add(
        [
            event("1", key="legacy:r1:Customer:1:Update:2025-12-04T15:25:05Z"),
            event("2", key="legacy:r1:Customer:2:Update:2025-12-04T15:25:05Z"),
            event("3", key="legacy_r1%Customer"),
        ]
    )
    found = ledger.events_by_keys(["legacy:r1:Customer:2:Update:2025-12-04T15:25:05Z", "x"])
    assert [e.entity_id for e in found] == ["2"]
    assert ledger.events_by_keys([]) == []
    prefixed = ledger.events_by_key_prefix("legacy:r1:Customer:")
    assert [e.entity_id for e in prefixed] == ["1", "2"]
    # `_` and `%` are literal, not LIKE wildcards.
    assert [e.entity_id for e in ledger.events_by_key_prefix("legacy_r1%")] == ["3"]
    assert ledger.events_by_key_prefix("legacy%") == []
    with pytest.raises(ValueError, match="must not be empty"):
        ledger.events_by_key_prefix("")


# --- what CDC reconciliation waits for ----------------------------------------------------


def test_unsettled_counts_the_events_not_done_or_skipped(ledger: EventLedger) -> None:
    def cdc(entity_id: str, occurred: datetime | None) -> ChangeEvent:
        return ChangeEvent(
            "r1", "Customer", entity_id, "Update", occurred, f"cdc:{entity_id}", source="cdc"
        )

    early, late = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    assert ledger.unsettled("r1", "Customer", "cdc") == Unsettled(0, None)
    ledger.add([cdc("1", late), cdc("2", early), cdc("3", None), event("4")])
    assert ledger.unsettled("r1", "Customer", "cdc") == Unsettled(3, early)

    by_id = {e.entity_id: e.id for e in ledger.claim("w1", 10, LEASE, now=NOW)}
    ledger.mark_done([by_id["2"]])
    ledger.mark_skipped([by_id["3"]], "not mapped")
    ledger.mark_dead([by_id["1"]], "gave up")  # dead is not applied: it still holds CDC back
    assert ledger.unsettled("r1", "Customer", "cdc") == Unsettled(1, late)
    assert ledger.unsettled("r1", "Vendor", "cdc") == Unsettled(0, None)
    assert ledger.unsettled("r2", "Customer", "cdc") == Unsettled(0, None)


# --- summary --------------------------------------------------------------------------------


def test_summary_counts_what_an_operator_watches(ledger: EventLedger) -> None:
    # A backlog drains: failed events still due a retry are told apart from those given up.
    legacy = ChangeEvent("r1", "Customer", "9", "Update", NOW, "legacy:r1:9", source="legacy")
    ledger.add([event("1"), event("2"), event("3"), event("4"), event("5"), legacy])
    assert ledger.summary() == {
        "pending": 6,
        "claimed": 0,
        "done": 0,
        "skipped": 0,
        "failed": 0,
        "dead": 0,
        "retrying": 0,
        "total": 6,
        "source_cloudevents": 5,
        "source_legacy": 1,
    }
    claimed = ids(ledger.claim("w1", 10, LEASE, now=NOW))
    ledger.mark_done(claimed[:1])
    ledger.mark_failed(claimed[1:2], "HTTP 503", NOW + timedelta(minutes=1))
    ledger.mark_failed(claimed[2:3], "bad mapping", None)
    ledger.mark_dead(claimed[3:4], "gave up")
    summary = ledger.summary()
    assert {state: summary[state] for state in ("done", "failed", "retrying", "dead")} == {
        "done": 1,
        "failed": 1,
        "retrying": 1,
        "dead": 1,
    }
    assert summary["total"] == 6
    assert summary["claimed"] == len(claimed) - 4
    assert summary["pending"] == 6 - len(claimed)
