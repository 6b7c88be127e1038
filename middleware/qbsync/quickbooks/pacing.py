"""Keeping a process's QuickBooks requests within Intuit's per-realm limits before it sends them.

Intuit allows 500 requests a minute and 10 a second per realm and app, and answers more with a 429
after which a client must wait 60 seconds (research/quickbooks.md, "Limits and throttles"). A
burst of changes (a batch's read, its follow-ups, reconciliation's CDC calls) can pass 10 in a
second; waiting a fraction of a second here costs far less than the 60 s a 429 imposes. The
windows are per process: several processes on one realm still meet 429s, which the worker
handles by waiting (sharing the windows through the database is issue 19's scale-out).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

# (requests, seconds): Intuit's limits per realm and app.
LIMITS: tuple[tuple[int, float], ...] = ((10, 1.0), (500, 60.0))


class RealmPacer:
    """Sliding windows of send times per realm; `wait` returns when one more request fits."""

    def __init__(
        self,
        limits: tuple[tuple[int, float], ...] = LIMITS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: dict[str, deque[float]] = {}
        self._longest = max(seconds for _, seconds in limits)

    def wait(self, realm_id: str) -> float:
        """Block until a request to `realm_id` is within every limit, and count it as sent;
        returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                sent = self._sent.setdefault(realm_id, deque())
                while sent and sent[0] <= now - self._longest:
                    sent.popleft()
                delay = self._delay(sent, now)
                if delay <= 0:
                    sent.append(now)
                    return waited
            self._sleep(delay)
            waited += delay

    def _delay(self, sent: deque[float], now: float) -> float:
        """Seconds until the oldest request of each full window leaves it (0: none is full)."""
        delay = 0.0
        for count, seconds in self._limits:
            in_window = [t for t in sent if t > now - seconds]
            if len(in_window) >= count:
                delay = max(delay, in_window[-count] + seconds - now)
        return delay
