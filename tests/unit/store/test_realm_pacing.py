"""Intuit's per-realm limits shared through the database (`qbsync.store.pacing` and
`qbsync.quickbooks.pacing.SharedRealmPacer`): several pacers on one database — several worker
processes — send no more than 10 requests a second and 500 a minute to a realm together, and a
429 seen by one holds the realm for all."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from qbsync.quickbooks.errors import QuickBooksThrottled
from qbsync.quickbooks.pacing import SharedRealmPacer
from qbsync.store.pacing import RealmPacingRows, Reservation
from qbsync.store.schema import qb_realm_pacing


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


def send(paced, realm_id: str) -> float:
    """One request through the pacer, answered at once; the seconds it waited."""
    with paced.sending(realm_id) as waited:
        return waited


def test_two_pacers_share_the_ten_a_second_window(database: Engine) -> None:
    time = FakeTime()
    first, second = pacer(database, time), pacer(database, time)
    assert [send(first, "1") for _ in range(5)] == [0.0] * 5
    assert [send(second, "1") for _ in range(5)] == [0.0] * 5

    # The eleventh, from either process, waits for the first to leave the second.
    assert send(first, "1") == pytest.approx(1.0)
    assert time.now == pytest.approx(1_800_000_001.0, abs=1e-3)


def test_realms_have_their_own_windows(database: Engine) -> None:
    time = FakeTime()
    paced = pacer(database, time)
    for _ in range(10):
        send(paced, "1")
    assert send(paced, "2") == 0.0


def test_five_hundred_a_minute_between_processes(database: Engine) -> None:
    time = FakeTime()
    pacers = [pacer(database, time) for _ in range(4)]
    for n in range(500):
        send(pacers[n % 4], "1")
    # 10 a second: the minute is full 49 s in; the 501st waits for the first to age out.
    assert time.now == pytest.approx(1_800_000_049.0, abs=1e-3)
    assert send(pacers[0], "1") == pytest.approx(11.0)


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
        send(second, "1")
    assert send(second, "2") == 0.0  # another realm is not held
    time.now += 60.5
    assert send(second, "1") == 0.0


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
    for _ in range(2):
        assert rows.reserve("1", start, limits, 0.5).send_at == start
        rows.answered("1", start, start, limits, 0.5)
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


LIMITS = ((10, 1.0), (500, 60.0))


def test_a_request_answered_late_counts_from_its_answer(database: Engine) -> None:
    # A worker reserved 0.0 but was descheduled before sending: its request may have reached
    # Intuit as late as its answer at 0.4 s. Nine more follow at once. The eleventh waits for
    # a second after that answer, not after the reserved moment (a 429 otherwise).
    rows, start = RealmPacingRows(database), 1_800_000_000.0
    rows.reserve("1", start, LIMITS, 0.0)
    rows.answered("1", start, start + 0.4, LIMITS, 0.0)
    for _ in range(9):
        at = rows.reserve("1", start + 0.4, LIMITS, 0.0).send_at
        rows.answered("1", at, at, LIMITS, 0.0)
    assert rows.reserve("1", start + 1.05, LIMITS, 0.0).send_at == pytest.approx(
        start + 1.4, abs=1e-3
    )


def test_requests_in_flight_count_as_arriving_now_until_answered(database: Engine) -> None:
    rows, start = RealmPacingRows(database), 1_800_000_000.0
    sent = [rows.reserve("1", start, LIMITS, 0.0).send_at for _ in range(10)]
    assert sent == [start] * 10
    # None answered 1.5 s later: any may still arrive now, so the next goes a second from now.
    assert rows.reserve("1", start + 1.5, LIMITS, 0.0).send_at == pytest.approx(
        start + 2.5, abs=1e-3
    )


def test_an_answer_ends_its_requests_flight_only(database: Engine) -> None:
    # One a second: the first answered at once, the second (reserved a second later) not yet;
    # five seconds on, the second still counts as arriving now.
    rows, start = RealmPacingRows(database), 1_800_000_000.0
    limits = ((1, 1.0), (100, 60.0))
    assert rows.reserve("1", start, limits, 0.0).send_at == start
    assert rows.reserve("1", start, limits, 0.0).send_at == pytest.approx(start + 1, abs=1e-3)
    rows.answered("1", start, start, limits, 0.0)
    assert rows.reserve("1", start + 5, limits, 0.0).send_at == pytest.approx(start + 6, abs=1e-3)


def test_a_request_never_answered_stops_counting_after_the_longest_window(
    database: Engine,
) -> None:
    # Its process died mid-request: after a minute (longer than any read timeout) it is gone.
    rows, start = RealmPacingRows(database), 1_800_000_000.0
    limits = ((1, 1.0), (5, 60.0))
    rows.reserve("1", start, limits, 0.0)
    assert rows.reserve("1", start + 59.9, limits, 0.0).send_at == pytest.approx(
        start + 60.9, abs=1e-3
    )
    fresh = RealmPacingRows(database)
    assert fresh.reserve("2", start, limits, 0.0).send_at == start
    assert fresh.reserve("2", start + 60.001, limits, 0.0).send_at == pytest.approx(
        start + 60.001, abs=1e-3
    )


def test_answers_older_than_the_longest_window_are_forgotten(database: Engine) -> None:
    rows, start = RealmPacingRows(database), 1_800_000_000.0
    limits = ((2, 60.0),)
    for moment in (start, start + 30):
        rows.reserve("1", moment, limits, 0.0)
        rows.answered("1", moment, moment, limits, 0.0)
    # At 60.5 s the first answer has left the minute: one slot is free at once.
    assert rows.reserve("1", start + 60.5, limits, 0.0).send_at == pytest.approx(
        start + 60.5, abs=1e-3
    )


def test_the_shared_pacer_counts_its_request_from_the_answer(database: Engine) -> None:
    time = FakeTime()
    paced = pacer(database, time)
    with paced.sending("1"):
        time.now += 0.4  # the request's round trip
    for _ in range(9):
        send(paced, "1")
    time.now += 0.65
    assert send(paced, "1") == pytest.approx(0.35, abs=1e-3)


def test_every_answered_request_leaves_the_flight(database: Engine) -> None:
    # Two requests in flight at once, both answered: nothing is in flight any more, so a request
    # five seconds later goes at once.
    rows, start = RealmPacingRows(database), 1_800_000_000.0
    limits = ((1, 1.0), (100, 60.0))
    first = rows.reserve("1", start, limits, 0.0).send_at
    second = rows.reserve("1", start, limits, 0.0).send_at
    rows.answered("1", first, first, limits, 0.0)
    rows.answered("1", second, second, limits, 0.0)
    assert rows.reserve("1", start + 5, limits, 0.0).send_at == pytest.approx(start + 5, abs=1e-3)


def test_an_answer_keeps_the_earlier_answers_of_the_window_stretched_by_the_margin(
    database: Engine,
) -> None:
    # Two a minute, clocks trusted to half a second: an answer 59.7 s after the first keeps the
    # first (59.7 s < 60.5 s), so the next request waits until 60.5 s.
    rows, start = RealmPacingRows(database), 1_800_000_000.0
    limits = ((2, 60.0),)
    for moment in (start, start + 59.7):
        rows.reserve("1", moment, limits, 0.5)
        rows.answered("1", moment, moment, limits, 0.5)
    assert rows.reserve("1", start + 59.8, limits, 0.5).send_at == pytest.approx(
        start + 60.5, abs=1e-3
    )


def test_a_sender_woken_late_gives_its_moment_back_and_reserves_again(database: Engine) -> None:
    # The window is full until 1.0 s; the sender's sleep overshoots by 0.3 s (a loaded machine).
    # Going at 1.3 s could crowd the window of requests reserved after its 1.0 s, so it gives
    # that moment back and goes on a new reservation, the only one left in flight.
    time, rows = FakeTime(), RealmPacingRows(database)
    start = time.now
    for _ in range(10):
        at = rows.reserve("1", start, LIMITS, 0.0).send_at
        rows.answered("1", at, at, LIMITS, 0.0)

    def oversleep(seconds: float) -> None:
        time.now += seconds + 0.3

    paced = SharedRealmPacer(rows, clock=time.clock, sleep=oversleep, margin=0.0)
    with paced.sending("1") as waited:
        with rows.engine.connect() as connection:
            in_flight = connection.execute(select(qb_realm_pacing.c.in_flight)).scalar()
    assert waited == pytest.approx(1.0)
    assert in_flight == str(round((start + 1.3) * 1000))


def test_answers_and_withdrawals_leave_the_other_requests_in_flight(database: Engine) -> None:
    # Four requests at once (four a second): one answered, one given back unsent; the other two
    # still count as arriving now, so half a second later one more fits and the next does not.
    rows, start = RealmPacingRows(database), 1_800_000_000.0
    limits = ((4, 1.0), (100, 60.0))
    first, second, _, _ = (rows.reserve("1", start, limits, 0.0).send_at for _ in range(4))
    rows.answered("1", first, first, limits, 0.0)
    rows.withdraw("1", second)
    assert rows.reserve("1", start + 0.5, limits, 0.0).send_at == pytest.approx(
        start + 0.5, abs=1e-3
    )
    assert rows.reserve("1", start + 0.5, limits, 0.0).send_at == pytest.approx(
        start + 1.0, abs=1e-3
    )
