"""Keeping QuickBooks requests within Intuit's per-realm limits before they are sent.

Intuit allows 500 requests a minute and 10 a second per realm and app, and answers more with a 429
after which a client must wait 60 seconds (research/quickbooks.md, "Limits and throttles"). A
burst of changes (a batch's read, its follow-ups, reconciliation's CDC calls) can pass 10 in a
second; waiting a fraction of a second here costs far less than the 60 s a 429 imposes.

`SharedRealmPacer` keeps the windows and the 429's wait in the database
(`qbsync.store.pacing`), so every process sharing it stays within the limits together: what
`Services` gives the QuickBooks client. `RealmPacer` keeps them in one process's memory (a
client built without a store: the CLI's tools, tests).
"""

from __future__ import annotations

import threading
import time
from bisect import insort
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from qbsync.quickbooks.errors import QuickBooksThrottled
from qbsync.store.pacing import RealmPacingRows, counted_times, earliest_send

# (requests, seconds): Intuit's limits per realm and app.
LIMITS: tuple[tuple[int, float], ...] = ((10, 1.0), (500, 60.0))
# Added to each window by the shared pacer: the clocks of several machines, and the moment a
# request reaches Intuit after its send time, differ by a little. A sender more than half of it
# late gives its reserved moment back.
SHARED_MARGIN_SECONDS = 0.1
# Reservations a sender woken too late gives back before it sends anyway (SharedRealmPacer).
LATE_TRIES = 5
# Intuit: "HTTP Status Code 429 ... wait 60 seconds" (research quickbooks.md §4).
HOLD_SECONDS = 60.0


def _held(realm_id: str, until: datetime) -> QuickBooksThrottled:
    return QuickBooksThrottled(
        f"QuickBooks throttled realm {realm_id}: no request before "
        f"{until.isoformat(timespec='seconds')} (after a 429)"
    )


class RealmPacer:
    """Sliding windows of each realm's requests, in this process; `sending` waits until one more
    request fits, or raises `QuickBooksThrottled` while a 429's wait (`hold`) lasts. As in the
    database's windows (`qbsync.store.pacing`), a request counts as arriving now while it is in
    flight, and at its answer once answered."""

    def __init__(
        self,
        limits: tuple[tuple[int, float], ...] = LIMITS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        hold_seconds: float = HOLD_SECONDS,
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._sleep = sleep
        self._hold_seconds = hold_seconds
        self._lock = threading.Lock()
        self._answered: dict[str, list[float]] = {}
        self._in_flight: dict[str, list[float]] = {}
        self._held: dict[str, float] = {}
        self._longest = max(seconds for _, seconds in limits)

    @contextmanager
    def sending(self, realm_id: str) -> Iterator[float]:
        """Wait until a request to `realm_id` is within every limit; the block sends it and the
        request counts as in flight until the block ends. Yields the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                held = self._held.get(realm_id, 0.0)
                if held > now:
                    until = datetime.now(UTC) + timedelta(seconds=held - now)
                    raise _held(realm_id, until)
                answered = self._answered.setdefault(realm_id, [])
                answered[:] = [moment for moment in answered if moment > now - self._longest]
                in_flight = self._in_flight.setdefault(realm_id, [])
                counted = counted_times(answered, in_flight, now)
                delay = earliest_send(counted, now, self._limits, 0.0) - now
                if delay <= 0:
                    in_flight.append(now)
                    break
            self._sleep(delay)
            waited += delay
        try:
            yield waited
        finally:
            with self._lock:
                in_flight.remove(now)
                insort(answered, self._clock())

    def hold(self, realm_id: str) -> None:
        """QuickBooks answered 429: no request to `realm_id` for the hold's seconds."""
        with self._lock:
            self._held[realm_id] = self._clock() + self._hold_seconds


class SharedRealmPacer:
    """The same, kept in the database for every process (`qbsync.store.pacing`)."""

    def __init__(
        self,
        rows: RealmPacingRows,
        limits: tuple[tuple[int, float], ...] = LIMITS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        hold_seconds: float = HOLD_SECONDS,
        margin: float = SHARED_MARGIN_SECONDS,
    ) -> None:
        self._rows = rows
        self._limits = limits
        self._clock = clock
        self._sleep = sleep
        self._hold_seconds = hold_seconds
        self._margin = margin

    @contextmanager
    def sending(self, realm_id: str) -> Iterator[float]:
        """Reserve the realm's next send time and sleep until it; the block sends the request,
        which counts as in flight until the block ends. Yields the seconds waited."""
        waited = 0.0
        for attempt in range(1, LATE_TRIES + 1):
            now = self._clock()
            reservation = self._rows.reserve(realm_id, now, self._limits, self._margin)
            if reservation.send_at is None:
                raise _held(realm_id, reservation.held_until)
            delay = reservation.send_at - now
            if delay > 0:
                self._sleep(delay)
                waited += delay
            # Requests reserved after this one count on it going at its moment: woken (or
            # answered by the database) much later, it could crowd their window; it gives the
            # moment back and reserves again. After a few tries (a machine too loaded to keep
            # any moment) it goes, and a 429 is handled as always.
            late = self._clock() - reservation.send_at
            if late <= self._margin / 2 or attempt == LATE_TRIES:
                break
            self._rows.withdraw(realm_id, reservation.send_at)
        try:
            yield waited
        finally:
            self._rows.answered(
                realm_id, reservation.send_at, self._clock(), self._limits, self._margin
            )

    def hold(self, realm_id: str) -> None:
        """QuickBooks answered 429: no process sends to `realm_id` for the hold's seconds."""
        until = datetime.fromtimestamp(self._clock() + self._hold_seconds, UTC)
        self._rows.hold(realm_id, until)
