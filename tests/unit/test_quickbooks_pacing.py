"""qbsync.quickbooks.pacing: a process sends no more than Intuit's 10 requests a second and 500 a
minute per realm, waiting instead of meeting a 429 and its 60-second penalty."""

from __future__ import annotations

import threading

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


def test_ten_requests_in_a_second_go_at_once_and_the_eleventh_waits_for_the_first_to_age():
    time = FakeTime()
    paced = pacer(time)
    assert [paced.wait("1") for _ in range(10)] == [0.0] * 10
    time.now += 0.25

    assert paced.wait("1") == 0.75
    assert time.now == 1001.0


def test_realms_have_their_own_windows():
    time = FakeTime()
    paced = pacer(time)
    for _ in range(10):
        paced.wait("1")

    assert paced.wait("2") == 0.0
    assert time.slept == []


def test_five_hundred_in_a_minute_then_the_next_waits_for_the_minute():
    time = FakeTime()
    paced = pacer(time)
    for _ in range(500):
        paced.wait("1")
    # 500 requests at 10 a second took 49 s of waiting: the minute is full 49 s in.
    assert time.now == 1049.0
    assert paced.wait("1") == 11.0
    assert time.now == 1060.0


def test_requests_older_than_a_minute_no_longer_count():
    time = FakeTime()
    paced = pacer(time)
    for _ in range(10):
        paced.wait("1")
    time.now += 61

    assert [paced.wait("1") for _ in range(10)] == [0.0] * 10


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

    def send() -> None:
        paced.wait("1")
        sent.append(0.0)

    threads = [threading.Thread(target=send) for _ in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # The pacer's own record of when it let each request go (under its lock).
    times = sorted(paced._sent["1"])
    assert len(times) == len(sent) == 25
    # Any 11 consecutive requests span at least a second.
    assert all(later - earlier >= 1.0 for earlier, later in zip(times, times[10:], strict=False))
