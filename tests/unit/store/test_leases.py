"""Leases of periodic work (`qbsync.store.leases`) and a worker's hold on them
(`qbsync.periodic.DeploymentLease`): one holder at a time, renewal, takeover after a holder dies,
a clean stop handing over at once; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from qbsync.periodic import DeploymentLease
from qbsync.store.leases import Lease, LeaseRows

NOW = datetime(2027, 1, 1, 12, 0, tzinfo=UTC)


def test_one_holder_at_a_time_and_takeover_once_the_lease_runs_out(database: Engine) -> None:
    rows = LeaseRows(database)
    assert rows.take("periodic", "w1", 30, NOW)
    assert not rows.take("periodic", "w2", 30, NOW + timedelta(seconds=10))
    # The holder renews its own lease; the other still waits.
    assert rows.take("periodic", "w1", 30, NOW + timedelta(seconds=20))
    assert not rows.take("periodic", "w2", 30, NOW + timedelta(seconds=40))
    # w1 died: its lease runs out 30 s after its last renewal, and w2 takes it over.
    assert rows.take("periodic", "w2", 30, NOW + timedelta(seconds=50))
    lease = rows.get("periodic")
    assert (lease.holder, lease.taken_at) == ("w2", NOW + timedelta(seconds=50))
    assert not rows.take("periodic", "w1", 30, NOW + timedelta(seconds=51))


def test_giving_up_hands_over_at_once(database: Engine) -> None:
    rows = LeaseRows(database)
    assert rows.take("periodic", "w1", 30, NOW)
    rows.give_up("periodic", "w2", NOW)  # not the holder: nothing changes
    assert not rows.take("periodic", "w2", 30, NOW + timedelta(seconds=1))
    rows.give_up("periodic", "w1", NOW + timedelta(seconds=2))
    assert rows.take("periodic", "w2", 30, NOW + timedelta(seconds=2))


def test_concurrent_takers_get_one_holder(database: Engine) -> None:
    rows = LeaseRows(database)
    won: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def take(holder: str) -> None:
        start.wait()
        if rows.take("periodic", holder, 30, NOW):
            with lock:
                won.append(holder)

    threads = [threading.Thread(target=take, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert rows.get("periodic").holder == won[0]


class Clock:
    def __init__(self) -> None:
        self.wall = NOW
        self.mono = 100.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


def test_a_worker_counts_itself_the_holder_for_two_thirds_of_the_lease(database: Engine) -> None:
    clock = Clock()
    rows = LeaseRows(database)
    first = DeploymentLease(rows, "w1", 30, clock.now, clock.monotonic)
    second = DeploymentLease(rows, "w2", 30, clock.now, clock.monotonic)
    assert first.renew() and first.held()
    assert not second.renew() and not second.held()
    clock.advance(19)
    assert first.held()
    clock.advance(2)  # 21 s after the renewal: no new pass starts, another may take over soon
    assert not first.held()
    clock.advance(10)  # w1 died (stopped renewing); its lease has run out
    assert second.renew() and second.held()
    assert not first.renew() and not first.held()


def test_keep_renews_until_stopped_then_gives_the_lease_up(database: Engine) -> None:
    rows = LeaseRows(database)
    lease = DeploymentLease(rows, "w1", 30, lambda: NOW)
    stop = threading.Event()
    keeper = threading.Thread(target=lease.keep, args=(stop,))
    keeper.start()
    while not lease.held():
        stop.wait(0.01)
    stop.set()
    keeper.join()
    assert rows.take("periodic", "w2", 30, NOW)


def test_each_lease_name_has_its_own_holder_and_expiry(database: Engine) -> None:
    def at(seconds: int) -> datetime:
        return NOW + timedelta(seconds=seconds)

    rows = LeaseRows(database)
    assert rows.take("periodic", "w1", 30, NOW)
    assert rows.take("reconcile", "w1", 10, NOW)
    assert rows.take("purge", "w2", 30, NOW)
    # w1 renews one of its leases: its other one keeps its expiry.
    assert rows.take("periodic", "w1", 30, at(5))
    assert rows.get("reconcile") == Lease("reconcile", "w1", at(10), NOW)
    # Only "reconcile" has run out: asking for "purge", still w2's, takes nothing.
    assert not rows.take("purge", "w3", 30, at(20))
    assert rows.get("reconcile") == Lease("reconcile", "w1", at(10), NOW)
    # w1 stops "periodic" only: the other leases stay as they were.
    rows.give_up("periodic", "w1", at(21))
    assert rows.get("reconcile") == Lease("reconcile", "w1", at(10), NOW)
    assert rows.get("purge") == Lease("purge", "w2", at(30), NOW)
    assert rows.take("periodic", "w3", 30, at(22))
    assert rows.get("periodic") == Lease("periodic", "w3", at(52), at(22))
