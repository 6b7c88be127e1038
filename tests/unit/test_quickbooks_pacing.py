"""qbsync.quickbooks.pacing: a process sends no more than Intuit's 10 requests a second and 500 a
minute per realm, waiting instead of meeting a 429 and its 60-second penalty."""

from __future__ import annotations

import threading
from contextlib import ExitStack

import pytest

from qbsync.quickbooks.pacing import RealmPacer


class FakeTime:
    """A clock that only moves when the pacer sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(time: FakeTime) -> RealmPacer:
    return RealmPacer(clock=time.clock, sleep=time.sleep)


def send(paced, realm_id: str) -> float:
    """One request through the pacer, answered at once; the seconds it waited."""
    with paced.sending(realm_id) as waited:
        return waited


def test_ten_requests_in_a_second_go_at_once_and_the_eleventh_waits_for_the_first_to_age():
    time = FakeTime()
    paced = pacer(time)
    assert [send(paced, "1") for _ in range(10)] == [0.0] * 10
    time.now += 0.25

    assert send(paced, "1") == 0.75
    assert time.now == 1001.0


def test_realms_have_their_own_windows():
    time = FakeTime()
    paced = pacer(time)
    for _ in range(10):
        send(paced, "1")

    assert send(paced, "2") == 0.0
    assert time.slept == []


def test_five_hundred_in_a_minute_then_the_next_waits_for_the_minute():
    time = FakeTime()
    paced = pacer(time)
    for _ in range(500):
        send(paced, "1")
    # 500 requests at 10 a second took 49 s of waiting: the minute is full 49 s in.
    assert time.now == 1049.0
    assert send(paced, "1") == 11.0
    assert time.now == 1060.0


def test_requests_older_than_a_minute_no_longer_count():
    time = FakeTime()
    paced = pacer(time)
    for _ in range(10):
        send(paced, "1")
    time.now += 61

    assert [send(paced, "1") for _ in range(10)] == [0.0] * 10


def test_threads_sharing_a_pacer_never_send_more_than_ten_in_a_second():
    time = FakeTime()
    lock = threading.Lock()
    sent: list[float] = []

    def clock() -> float:
        with lock:
            return time.now

    def sleep(seconds: float) -> None:
        with lock:
            time.now += seconds

    paced = RealmPacer(clock=clock, sleep=sleep)

    def request() -> None:
        with paced.sending("1"):
            sent.append(clock())

    threads = [threading.Thread(target=request) for _ in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    times = sorted(sent)
    assert len(times) == 25
    # Any 11 consecutive requests span at least a second.
    assert all(later - earlier >= 1.0 for earlier, later in zip(times, times[10:], strict=False))


def test_a_request_counts_from_its_answer_so_a_late_arrival_cannot_crowd_the_window():
    # The first request leaves at 0 but is answered (so may have reached Intuit) only at 0.4 s:
    # the eleventh waits until a second after that answer, not after the first's send time.
    time = FakeTime()
    paced = pacer(time)
    with paced.sending("1"):
        time.now += 0.4
    for _ in range(9):
        send(paced, "1")
    time.now = 1001.05

    assert send(paced, "1") == pytest.approx(0.35)
    assert time.now == pytest.approx(1001.4)


def test_requests_still_in_flight_count_as_arriving_now():
    # Ten requests sent at once and not answered a second and a half later: each may still
    # reach Intuit at any moment, so the eleventh cannot go now. They are answered as it starts
    # to wait; it goes a second after those answers.
    time = FakeTime()
    flights = ExitStack()

    def answer_then_sleep(seconds: float) -> None:
        flights.close()
        time.sleep(seconds)

    paced = RealmPacer(clock=time.clock, sleep=answer_then_sleep)
    for _ in range(10):
        flights.enter_context(paced.sending("1"))
    time.now += 1.5

    assert send(paced, "1") == pytest.approx(1.0)
    assert time.now == pytest.approx(1002.5)
