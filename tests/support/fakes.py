"""Stand-ins the unit suites hand to the code under test in place of the real thing."""

from __future__ import annotations

from datetime import datetime, timedelta


class Clock:
    """A clock that stands still until a test moves it (`Services(clock=…)`, `Worker`, …)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
