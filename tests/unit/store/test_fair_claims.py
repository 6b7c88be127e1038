"""Claims are fair across realms and one group is worked by one worker at a time
(`EventLedger.claim`, issue 19's scale-out), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from qbsync.events import ChangeEvent
from qbsync.store.ledger import EventLedger

NOW = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
LEASE = 60


def change(entity_id: str, realm: str = "busy", entity: str = "Customer") -> ChangeEvent:
    return ChangeEvent(
        realm_id=realm,
        entity=entity,
        entity_id=entity_id,
        operation="Update",
        occurred_at=NOW,
        event_key=f"ce:{realm}-{entity}-{entity_id}",
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


def test_a_group_another_worker_holds_is_passed_over_until_its_lease_ends(
    database: Engine,
) -> None:
    ledger = EventLedger(database)
    ledger.add([change(str(n)) for n in range(30)] + [change("1", realm="other")])
    held = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    assert {e.realm_id for e in held} == {"busy"}
    # w2 does not take the rest of w1's group (its older reads could overwrite newer ones).
    (other,) = ledger.claim("w2", limit=10, lease_seconds=LEASE, now=NOW)
    assert other.realm_id == "other"
    assert ledger.claim("w2", limit=10, lease_seconds=LEASE, now=NOW) == []
    # The holder may take more of its own group.
    more = ledger.claim("w1", limit=10, lease_seconds=LEASE, now=NOW)
    assert [e.entity_id for e in more] == [str(n) for n in range(10, 20)]
    # w1 dies: once its leases run out, w2 takes everything it held, oldest first.
    late = NOW + timedelta(seconds=LEASE)
    taken = ledger.claim("w2", limit=100, lease_seconds=LEASE, now=late)
    assert [e.entity_id for e in taken] == [str(n) for n in range(30)]


def test_concurrent_workers_never_hold_one_group_together_and_lose_nothing(
    database: Engine,
) -> None:
    ledger = EventLedger(database)
    realms = [f"r{n}" for n in range(6)]
    ledger.add([change(str(n), realm=realm) for realm in realms for n in range(40)])
    lock = threading.Lock()
    in_flight: dict[tuple[str, str], str] = {}
    overlaps: list[tuple] = []
    settled: list[int] = []
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            while batch := ledger.claim(name, limit=5, lease_seconds=600, now=NOW):
                group = (batch[0].realm_id, batch[0].entity)
                with lock:
                    if in_flight.get(group, name) != name:
                        overlaps.append((group, in_flight[group], name))
                    in_flight[group] = name
                # Leave the group before settling: another claim can only get it after the
                # settlement commits, so any overlap seen is a real one.
                with lock:
                    del in_flight[group]
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
    assert len(settled) == len(set(settled)) == 240
    assert ledger.counts()["done"] == 240
