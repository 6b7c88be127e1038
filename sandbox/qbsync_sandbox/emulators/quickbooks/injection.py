"""Fault injection per endpoint family: latency, 5xx, 429 and timeouts, each for N requests."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

FAMILIES = ("oauth", "read", "query", "cdc", "companyinfo", "write")
KINDS = ("latency", "error", "throttle", "timeout")


@dataclass
class FaultRule:
    """What to do to the next `count` requests of a family (`count` None: every request)."""

    family: str
    kind: str
    count: int | None = 1
    latency_ms: int = 0  # latency: added delay
    status: int = 503  # error: the 5xx status
    seconds: float = 35.0  # timeout: how long to hold the request (longer than the client waits)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES and self.family != "all":
            raise ValueError(
                f"family must be one of {', '.join(FAMILIES)} or all, got {self.family!r}"
            )
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1 (or null for every request)")
        if self.kind == "error" and not 500 <= self.status <= 599:
            raise ValueError(f"status must be a 5xx code, got {self.status}")
        if self.latency_ms < 0 or self.seconds < 0:
            raise ValueError("latency_ms and seconds must not be negative")

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Outcome:
    """What one request suffers: a delay, then maybe a failure (kind error/throttle/timeout)."""

    delay_seconds: float = 0.0
    failure: FaultRule | None = None


class FaultInjector:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self, family: str | None = None) -> None:
        with self._lock:
            self._rules = [r for r in self._rules if family is not None and r.family != family]

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def take(self, family: str) -> Outcome:
        """Consume one use of every rule that applies to this request."""
        delay, failure = 0.0, None
        with self._lock:
            for rule in list(self._rules):
                if rule.family not in (family, "all"):
                    continue
                if rule.kind != "latency" and failure is not None:
                    continue  # one failure per request; later failure rules wait their turn
                if rule.kind == "latency":
                    delay += rule.latency_ms / 1000
                else:
                    failure = rule
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count == 0:
                        self._rules.remove(rule)
        return Outcome(delay, failure)
