"""`requestid`: QuickBooks answers a repeated request id with the response it gave the first time.

Intuit: "If the service receives another request with the same RequestID, instead of performing
the operation again or returning an error, the service sends the same response as it did for the
original request", and the id "must be unique for all requests for a given company" (Intuit blog,
"Request ID update for QuickBooks Online integration", 2015-04-06). python-quickbooks sends one as
`?requestid=` with `save(request_id=…)` and `delete(request_id=…)`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestReplay:
    """First responses by (realm, requestid); thread-safe."""

    _first: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def first(self, realm_id: str, request_id: str) -> tuple[int, dict[str, Any]] | None:
        with self._lock:
            return self._first.get((realm_id, request_id))

    def remember(self, realm_id: str, request_id: str, status: int, body: dict[str, Any]) -> None:
        with self._lock:
            self._first.setdefault((realm_id, request_id), (status, body))
