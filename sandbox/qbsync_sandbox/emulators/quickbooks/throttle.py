"""Intuit's per-realm request limits, answered with the 429 the fault injection already sends.

Intuit's limits page (research/quickbooks.md §"Limits",
https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles) states 500
requests a minute per realm and 10 requests a second per realm and app; issue 19 asks for the same
two. An older Intuit policy (2016 blog post, same notes) limited a realm and app to 10 *concurrent*
requests instead; the current page states a rate, so a rate is what is modelled. Not modelled: the
batch limits (40 batch requests a minute per realm and app, 120 per realm) and the combined 800 a
minute including non-accounting endpoints.

Both windows slide over the emulator's clock (the companies' clock, so a test can move time) and
count admitted requests only: a refused request does not lengthen the wait. Off unless turned on
(`--rate-limits`, `PUT /_admin/limits`), so the fault-injection tests keep their exact counts.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

PER_MINUTE = 500
PER_SECOND = 10
_MINUTE = timedelta(minutes=1)
_SECOND = timedelta(seconds=1)


class RealmLimits:
    """Admits or refuses each Accounting API request of a realm."""

    def __init__(self, clock: Callable[[], datetime], *, enabled: bool = False) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.enabled = enabled
        self.refused = 0
        self._admitted: dict[str, deque[datetime]] = {}  # realm → admission times, last minute

    def admit(self, realm_id: str) -> bool:
        """True (and counted) if `realm_id` is under both limits now, else False."""
        if not self.enabled:
            return True
        now = self._clock()
        with self._lock:
            times = self._admitted.setdefault(realm_id, deque())
            while times and times[0] <= now - _MINUTE:
                times.popleft()
            last_second = 0
            for moment in reversed(times):  # at most PER_SECOND steps before the answer is known
                if moment <= now - _SECOND or last_second == PER_SECOND:
                    break
                last_second += 1
            if len(times) >= PER_MINUTE or last_second >= PER_SECOND:
                self.refused += 1
                return False
            times.append(now)
            return True

    def figures(self) -> dict:
        with self._lock:
            return {
                "enabled": self.enabled,
                "per_minute": PER_MINUTE,
                "per_second": PER_SECOND,
                "refused": self.refused,
            }

    def configure(self, enabled: object) -> None:
        if not isinstance(enabled, bool):
            raise ValueError("enabled must be true or false")
        with self._lock:
            self.enabled = enabled
            self._admitted.clear()
