"""Intuit's per-realm limits shared through the database (`qbsync.store.pacing` and
`qbsync.quickbooks.pacing.SharedRealmPacer`): several pacers on one database — several worker
processes — send no more than 10 requests a second and 500 a minute to a realm together, and a
429 seen by one holds the realm for all."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from qbsync.quickbooks.errors import QuickBooksThrottled
from qbsync.quickbooks.pacing import SharedRealmPacer
from qbsync.store.pacing import RealmPacingRows, Reservation


class FakeTime:
    """Epoch seconds that only move when a pacer sleeps (each sleeper's own wake-up time)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.sent: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def pacer(database: Engine, time: FakeTime, **options) -> SharedRealmPacer:
    return SharedRealmPacer(
        RealmPacingRows(database), clock=time.clock, sleep=time.sleep, margin=0.0, **options
    )


def test_two_pacers_share_the_ten_a_second_window(database: Engine) -> None:
    time = FakeTime()
    first, second = pacer(database, time), pacer(database, time)
    assert [first.wait("1") for _ in range(5)] == [0.0] * 5
    assert [second.wait("1") for _ in range(5)] == [0.0] * 5

    # The eleventh, from either process, waits for the first to leave the second.
    assert first.wait("1") == pytest.approx(1.0)
    assert time.now == pytest.approx(1_800_000_001.0, abs=1e-3)


def test_realms_have_their_own_windows(database: Engine) -> None:
    time = FakeTime()
    paced = pacer(database, time)
    for _ in range(10):
        paced.wait("1")
    assert paced.wait("2") == 0.0


def test_five_hundred_a_minute_between_processes(database: Engine) -> None:
    time = FakeTime()
    pacers = [pacer(database, time) for _ in range(4)]
    for n in range(500):
        pacers[n % 4].wait("1")
    # 10 a second: the minute is full 49 s in; the 501st waits for the first to age out.
    assert time.now == pytest.approx(1_800_000_049.0, abs=1e-3)
    assert pacers[0].wait("1") == pytest.approx(11.0)


def test_reservations_are_spread_even_when_the_clock_does_not_move(database: Engine) -> None:
    # Processes that ask at the same moment get send times a window apart, not all "now".
    time = FakeTime()
    rows = RealmPacingRows(database)
    limits = ((10, 1.0), (500, 60.0))
    times = [rows.reserve("1", time.now, limits, 0.0).send_at for _ in range(25)]
    assert times[:10] == [time.now] * 10
    assert times[10:20] == [pytest.approx(time.now + 1.0, abs=1e-3)] * 10
    assert times[20:] == [pytest.approx(time.now + 2.0, abs=1e-3)] * 5


def test_a_429_seen_by_one_process_holds_the_realm_for_every_process(database: Engine) -> None:
    time = FakeTime()
    first, second = pacer(database, time, hold_seconds=60), pacer(database, time)
    first.hold("1")

    with pytest.raises(QuickBooksThrottled, match="after a 429"):
        second.wait("1")
    assert second.wait("2") == 0.0  # another realm is not held
    time.now += 60.5
    assert second.wait("1") == 0.0


def test_a_shorter_hold_does_not_cut_a_longer_one(database: Engine) -> None:
    rows = RealmPacingRows(database)
    now = datetime(2027, 1, 1, tzinfo=UTC)
    rows.hold("1", now + timedelta(seconds=60))
    rows.hold("1", now + timedelta(seconds=5))
    assert rows.held_until("1", now) == now + timedelta(seconds=60)
    assert rows.held_until("1", now + timedelta(seconds=61)) is None


def test_threads_with_their_own_pacers_never_reserve_more_than_ten_a_second(
    database: Engine,
) -> None:
    # Real concurrency on the row (PostgreSQL locks it; SQLite runs one write at a time): the
    # reserved send times, taken together, keep every one-second window at ten or fewer.
    rows = RealmPacingRows(database)
    limits = ((10, 1.0), (500, 60.0))
    start = 1_800_000_000.0
    times: list[float] = []
    lock = threading.Lock()

    def reserve() -> None:
        for _ in range(10):
            at = rows.reserve("1", start, limits, 0.0).send_at
            with lock:
                times.append(at)

    threads = [threading.Thread(target=reserve) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times.sort()
    assert len(times) == 40
    assert all(times[i + 10] - times[i] >= 1.0 - 1e-6 for i in range(len(times) - 10))


def test_each_window_is_longer_by_the_clock_margin_between_machines(database: Engine) -> None:
    # Two sends a second, machines' clocks trusted to half a second: a request 1.2 s after two
    # sends is still within their window stretched by the margin, and waits until 1.5 s.
    rows = RealmPacingRows(database)
    limits, start = ((2, 1.0),), 1_800_000_000.0
    assert [rows.reserve("1", start, limits, 0.5).send_at for _ in range(2)] == [start] * 2
    assert rows.reserve("1", start + 1.2, limits, 0.5).send_at == pytest.approx(
        start + 1.5, abs=1e-3
    )


def test_a_hold_ends_at_its_moment_and_concerns_its_realm_only(database: Engine) -> None:
    rows = RealmPacingRows(database)
    limits, end = ((10, 1.0),), datetime(2027, 1, 1, tzinfo=UTC)
    rows.reserve("2", end.timestamp() - 30, limits, 0.0)  # realm 2 has sent: it has a row
    rows.hold("1", end)
    assert rows.held_until("2", end - timedelta(seconds=30)) is None
    assert rows.reserve("2", end.timestamp() - 29, limits, 0.0).held_until is None

    assert rows.held_until("1", end - timedelta(microseconds=1)) == end
    assert rows.held_until("1", end) is None
    assert rows.reserve("1", end.timestamp() - 0.001, limits, 0.0) == Reservation(None, end)
    assert rows.reserve("1", end.timestamp(), limits, 0.0) == Reservation(end.timestamp(), None)


def test_a_hold_is_read_against_the_present_by_default(database: Engine) -> None:
    rows = RealmPacingRows(database)
    later = datetime.now(UTC) + timedelta(hours=1)
    rows.hold("1", later)
    assert rows.held_until("1") == later
