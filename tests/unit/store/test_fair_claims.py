"""Claims are fair across realms and one record is worked by one worker at a time, while
several workers share one realm (`EventLedger.claim`, issue 19's scale-out), on SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from qbsync.events import ChangeEvent
from qbsync.store.ledger import SHARED_CLAIM_LIMIT, EventLedger, StoredEvent, _lock_group

NOW = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
LEASE = 60


def change(
    entity_id: str,
    realm: str = "busy",
    entity: str = "Customer",
    *,
    version: int = 0,
    deleted_id: str | None = None,
) -> ChangeEvent:
    return ChangeEvent(
        realm_id=realm,
        entity=entity,
        entity_id=entity_id,
        operation="Merge" if deleted_id else "Update",
        occurred_at=NOW,
        event_key=f"ce:{realm}-{entity}-{entity_id}-{version}",
        deleted_id=deleted_id,
    )


def test_a_quiet_realms_change_goes_before_a_busy_realms_backlog(database: Engine) -> None:
    ledger = EventLedger(database)
    ledger.add([change(str(n)) for n in range(50)])
    first = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    ledger.mark_done([e.id for e in first])
    # The quiet realm's change arrives after the whole backlog; it is served next all the same.
    ledger.add([change("1", realm="quiet")])
    (quiet,) = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW + timedelta(seconds=1))
    assert quiet.realm_id == "quiet"
    ledger.mark_done([quiet.id])
    # Then the realms take turns: the busy one, whose last claim is now the oldest.
    later = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW + timedelta(seconds=2))
    assert [e.entity_id for e in later] == [str(n) for n in range(10, 20)]


def test_claims_are_smaller_while_other_realms_wait(database: Engine) -> None:
    ledger = EventLedger(database)
    ledger.add([change(str(n)) for n in range(600)])
    ledger.add([change(str(n), realm="other") for n in range(100)])
    # Two realms wait: a claim takes one Collections call's worth, so the lanes free sooner.
    first = ledger.claim("w1", limit=500, lease_seconds=LEASE, now=NOW)
    assert (first[0].realm_id, len(first)) == ("busy", SHARED_CLAIM_LIMIT)
    other = ledger.claim("w1", limit=500, lease_seconds=LEASE, now=NOW)
    assert (other[0].realm_id, len(other)) == ("other", 100)
    # One realm left waiting: the whole limit.
    rest = ledger.claim("w1", limit=500, lease_seconds=LEASE, now=NOW)
    assert (rest[0].realm_id, len(rest)) == ("busy", 600 - SHARED_CLAIM_LIMIT)


def test_a_quiet_claim_takes_only_a_quiet_realms_small_group(database: Engine) -> None:
    """The spare lanes' claim (issue 19's seventh realm): a realm with more than `limit` events
    waiting or claimed is not quiet, and nothing of its is taken; the quiet realm's change is,
    though its turn comes after theirs."""
    ledger = EventLedger(database)
    ledger.add([change(str(n)) for n in range(30)])
    held = ledger.claim("w2", limit=5, lease_seconds=LEASE, now=NOW)
    # The quiet realm was served last of all, and the large one never: `claim` would take
    # another realm's events first.
    ledger.add([change("1", realm="quiet")])
    later = NOW + timedelta(seconds=1)
    ledger.mark_done([e.id for e in ledger.claim("w1", 10, LEASE, now=later)])
    ledger.add([change(str(n), realm="large") for n in range(21)])
    ledger.add([change("2", realm="quiet"), change("3", realm="quiet")])

    taken = ledger.claim_quiet("w1", limit=20, lease_seconds=LEASE, now=later)

    assert [(e.realm_id, e.entity_id, e.claimed_by) for e in taken] == [
        ("quiet", "2", "w1"),
        ("quiet", "3", "w1"),
    ]
    assert ledger.claim_quiet("w1", limit=20, lease_seconds=LEASE, now=later) == []
    others = [e for e in ledger.events(limit=100) if e.realm_id != "quiet"]
    assert {e.id for e in others if e.state == "claimed"} == {e.id for e in held}
    assert sum(e.state == "pending" and e.attempts == 0 for e in others) == 25 + 21
    # The realm of 21 is quiet for a limit it fits in.
    large = ledger.claim_quiet("w1", limit=21, lease_seconds=LEASE, now=later)
    assert {e.realm_id for e in large} == {"large"} and len(large) == 21


def test_a_realms_claims_in_flight_count_towards_its_few(database: Engine) -> None:
    """A busy realm with a few events left waiting is not quiet while its batches are written;
    a quiet realm whose change is being written stays quiet, so the next one need not wait."""
    ledger = EventLedger(database)
    ledger.add([change(str(n)) for n in range(25)])
    writing = ledger.claim("w2", limit=20, lease_seconds=LEASE, now=NOW)
    ledger.add([change("1", realm="quiet")])
    ledger.claim("w1", limit=20, lease_seconds=LEASE, now=NOW)
    ledger.add([change("2", realm="quiet")])

    (next_change,) = ledger.claim_quiet("w1", limit=20, lease_seconds=LEASE, now=NOW)
    assert (next_change.realm_id, next_change.entity_id) == ("quiet", "2")
    assert ledger.claim_quiet("w1", limit=20, lease_seconds=LEASE, now=NOW) == []
    # Half of the busy realm's batch settles: 10 in flight and 5 waiting are a few.
    ledger.mark_done([e.id for e in writing[:10]])
    rest = ledger.claim_quiet("w1", limit=20, lease_seconds=LEASE, now=NOW)
    assert [e.entity_id for e in rest] == [str(n) for n in range(20, 25)]


def test_quiet_realms_take_turns_as_claims_do(database: Engine) -> None:
    ledger = EventLedger(database)
    ledger.add([change("1", realm="a")])
    (settled,) = ledger.claim_quiet("w1", limit=5, lease_seconds=LEASE, now=NOW)
    ledger.mark_done([settled.id])
    ledger.add([change("3", realm="a"), change("1", realm="b"), change("2", realm="b")])
    # Realm a was served and b never: b goes first, though a's change came first.
    assert [e.entity_id for e in ledger.claim_quiet("w1", 5, LEASE, now=NOW)] == ["1", "2"]
    (after,) = ledger.claim_quiet("w1", limit=5, lease_seconds=LEASE, now=NOW)
    assert (after.realm_id, after.entity_id) == ("a", "3")


def test_a_quiet_claim_needs_a_positive_limit(database: Engine) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        EventLedger(database).claim_quiet("w1", limit=0, lease_seconds=LEASE, now=NOW)


def test_a_quiet_claim_of_one_takes_a_realm_with_one_change_leased_from_its_now(
    database: Engine,
) -> None:
    ledger = EventLedger(database)
    ledger.add([change("1", realm="quiet")])
    (taken,) = ledger.claim_quiet("w1", limit=1, lease_seconds=LEASE, now=NOW)
    assert (taken.realm_id, taken.entity_id) == ("quiet", "1")
    assert taken.lease_until == NOW + timedelta(seconds=LEASE)


def test_two_workers_claim_disjoint_records_of_one_realm(database: Engine) -> None:
    ledger = EventLedger(database)
    ledger.add([change(str(n)) for n in range(30)])
    first = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    second = ledger.claim("w2", limit=10, lease_seconds=LEASE, now=NOW)
    # The second worker shares the busy realm: the next ten, none of the first worker's.
    assert [e.entity_id for e in first] == [str(n) for n in range(10)]
    assert [e.entity_id for e in second] == [str(n) for n in range(10, 20)]
    assert {e.claimed_by for e in second} == {"w2"}


def test_a_record_another_worker_holds_is_passed_over_until_its_lease_settles(
    database: Engine,
) -> None:
    ledger = EventLedger(database)
    ledger.add([change("1"), change("2")])
    (held,) = ledger.claim("w1", limit=1, lease_seconds=LEASE, now=NOW)
    # A newer change of the record w1 holds arrives: w2 must not read and write it beside w1
    # (w1's older read could land last), so it takes only the other record.
    ledger.add([change("1", version=1)])
    assert [e.entity_id for e in ledger.claim("w2", limit=10, lease_seconds=LEASE, now=NOW)] == [
        "2"
    ]
    assert ledger.claim("w2", limit=10, lease_seconds=LEASE, now=NOW) == []
    # Once w1 has settled its event, the newer change is anyone's.
    ledger.mark_done([held.id])
    (newer,) = ledger.claim("w2", limit=10, lease_seconds=LEASE, now=NOW)
    assert (newer.entity_id, newer.event_key) == ("1", "ce:busy-Customer-1-1")


def test_the_same_id_in_another_realm_or_of_another_entity_is_another_record(
    database: Engine,
) -> None:
    """QuickBooks ids are per realm and per entity (every company has a Customer 1): a worker
    holding one leaves the others to the next worker, whose claim passes over the group whose
    records are all held and takes the next group's."""
    ledger = EventLedger(database)
    ledger.add([change("1")])
    (held,) = ledger.claim("w1", limit=1, lease_seconds=LEASE, now=NOW)
    ledger.add([change("1", version=1), change("1", realm="quiet"), change("1", entity="Invoice")])

    taken = ledger.claim("w2", limit=10, lease_seconds=LEASE, now=NOW)
    taken += ledger.claim("w2", limit=10, lease_seconds=LEASE, now=NOW)

    assert sorted(e.event_key for e in taken) == ["ce:busy-Invoice-1-0", "ce:quiet-Customer-1-0"]


def test_the_holder_takes_more_of_its_record_and_others_get_it_when_its_lease_ends(
    database: Engine,
) -> None:
    ledger = EventLedger(database)
    ledger.add([change("1"), change("1", version=1), change("1", version=2)])
    (held,) = ledger.claim("w1", limit=1, lease_seconds=LEASE, now=NOW)
    assert ledger.claim("w2", limit=10, lease_seconds=LEASE, now=NOW) == []
    # The holder may take more of its own record (its lanes keep them in order).
    (more,) = ledger.claim("w1", limit=1, lease_seconds=LEASE, now=NOW)
    assert more.event_key == "ce:busy-Customer-1-1"
    # w1 dies: once its leases run out, w2 takes everything it held, oldest first.
    late = NOW + timedelta(seconds=LEASE)
    taken = ledger.claim("w2", limit=10, lease_seconds=LEASE, now=late)
    assert [e.event_key for e in taken] == [f"ce:busy-Customer-1-{n}" for n in range(3)]


def test_a_merge_holds_both_its_records(database: Engine) -> None:
    ledger = EventLedger(database)
    ledger.add([change("1", deleted_id="2")])
    (merge,) = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    # Changes of the merged-away record and of the survivor wait, and so does another merge
    # into a third record of the one the first merge deleted.
    ledger.add(
        [change("2", version=1), change("1", version=1), change("3", deleted_id="2"), change("4")]
    )
    assert [e.entity_id for e in ledger.claim("w2", limit=10, lease_seconds=LEASE, now=NOW)] == [
        "4"
    ]
    ledger.mark_done([merge.id])
    waiting = ledger.claim("w2", limit=10, lease_seconds=LEASE, now=NOW)
    assert sorted(e.entity_id for e in waiting) == ["1", "2", "3"]


def test_concurrent_workers_never_hold_one_record_together_and_lose_nothing(
    database: Engine,
) -> None:
    ledger = EventLedger(database)
    realms = [f"r{n}" for n in range(3)]
    # Three changes of each record, so claims of one realm meet records another worker holds.
    ledger.add(
        [
            change(str(n), realm=realm, version=version)
            for version in range(3)
            for realm in realms
            for n in range(20)
        ]
    )
    lock = threading.Lock()
    in_flight: dict[tuple[str, str], str] = {}
    overlaps: list[tuple] = []
    settled: list[int] = []
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            while batch := ledger.claim(name, limit=5, lease_seconds=600, now=NOW):
                records = {(e.realm_id, e.entity_id) for e in batch}
                with lock:
                    for record in records:
                        if in_flight.get(record, name) != name:
                            overlaps.append((record, in_flight[record], name))
                        in_flight[record] = name
                # Leave the records before settling: another claim can only get them after the
                # settlement commits, so any overlap seen is a real one.
                with lock:
                    for record in records:
                        in_flight.pop(record, None)
                ledger.mark_done([e.id for e in batch])
                with lock:
                    settled.extend(e.id for e in batch)
        except BaseException as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert overlaps == []
    assert len(settled) == len(set(settled)) == 180
    assert ledger.counts()["done"] == 180


def test_a_claim_waits_for_a_group_another_claim_is_locking_instead_of_giving_up(
    database: Engine,
) -> None:
    if database.dialect.name != "postgresql":
        pytest.skip("the group lock is PostgreSQL's; SQLite runs one claim at a time")
    ledger = EventLedger(database)
    ledger.add([change(str(n)) for n in range(3)])
    result: list[list[StoredEvent]] = []
    with database.connect() as holder:
        # Another worker's claim transaction holds the only waiting group's lock.
        assert _lock_group(holder, "busy", "Customer")
        claiming = threading.Thread(
            target=lambda: result.append(ledger.claim("w2", limit=10, lease_seconds=LEASE, now=NOW))
        )
        claiming.start()

        def waiting_for_the_lock() -> bool:
            with database.connect() as connection:
                return bool(
                    connection.execute(
                        text(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                        )
                    ).scalar_one()
                )

        deadline = time.monotonic() + 10
        while not waiting_for_the_lock():
            assert claiming.is_alive(), f"the claim gave up: {result}"
            assert time.monotonic() < deadline, "the claim never waited for the lock"
        holder.commit()  # that claim ends
    claiming.join(10)
    # It took the group once the lock was free, rather than idling the worker until a wake-up.
    assert [e.entity_id for e in result[0]] == ["0", "1", "2"]
