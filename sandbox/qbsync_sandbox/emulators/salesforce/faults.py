"""Fault injection for the REST API, driven through `/_admin/faults`.

Kinds: `latency` (sleep `seconds`, then answer), `timeout` (sleep `seconds`, default 30, so the
client's timeout fires first), `lock_row` (UNABLE_TO_LOCK_ROW: per record in sObject Collections,
HTTP 400 on single-record calls), `request_limit` (403 REQUEST_LIMIT_EXCEEDED), `invalid_session`
(401 INVALID_SESSION_ID). Each fault applies to the next `count` matching requests (None: until
cleared) whose path contains `path`; `triggered` counts how often it fired.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import asdict, dataclass

KINDS = ("latency", "timeout", "lock_row", "request_limit", "invalid_session")


class FaultSpecError(ValueError):
    """The fault definition is invalid (message names the problem)."""


@dataclass
class Fault:
    id: int
    kind: str
    count: int | None = 1
    seconds: float = 0.0
    path: str = ""
    triggered: int = 0

    def as_json(self) -> dict:
        return asdict(self)


class Faults:
    """The active faults (thread-safe)."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.history: dict[str, int] = {}

    def add(self, spec: dict) -> Fault:
        kind = spec.get("kind")
        if kind not in KINDS:
            raise FaultSpecError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
        count = spec.get("count", 1)
        if count is not None and (not isinstance(count, int) or count < 1):
            raise FaultSpecError("count must be a positive integer or null (until cleared)")
        seconds = spec.get("seconds", 30.0 if kind == "timeout" else 0.0)
        if not isinstance(seconds, int | float) or seconds < 0:
            raise FaultSpecError("seconds must be a non-negative number")
        path = spec.get("path", "")
        if not isinstance(path, str):
            raise FaultSpecError("path must be a string")
        with self._lock:
            fault = Fault(next(self._ids), kind, count, float(seconds), path)
            self._faults.append(fault)
            return fault

    def take(self, path: str, kinds: tuple[str, ...] = KINDS) -> Fault | None:
        """The first active fault of `kinds` matching `path`, counted as triggered once."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.path in path:
                    fault.triggered += 1
                    self.history[fault.kind] = self.history.get(fault.kind, 0) + 1
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
