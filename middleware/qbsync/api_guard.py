"""What every `/api/*` call passes before its view: the shared API key, then a sane JSON body.

Salesforce calls /api/* through a Named Credential whose External Credential sends
`Authorization: Bearer <QBSYNC_API_KEY>`. A refused call is logged (never with the key it
carried) and counted; `/healthz` shows the count of this process. A body that is not JSON, or nests
deeper than any call of the package does, is refused with 400 before a view reads it.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from functools import wraps

from flask import abort, current_app, request

from qbsync.services import current_services

log = logging.getLogger(__name__)

# The package's bodies are flat objects; a few levels leave room, 32 is far beyond need and
# far below Python's recursion limit.
MAX_JSON_DEPTH = 32


class _Counter:
    """A count shared by the threads of one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0

    def add(self) -> int:
        with self._lock:
            self._value += 1
            return self._value

    @property
    def value(self) -> int:
        return self._value


# The app's count of refused calls (one app per gunicorn worker process).
EXTENSION = "qbsync.refused_api_calls"


def refused_calls() -> int:
    """How many /api calls this app (process) has refused since it started."""
    return _counter().value


def _counter() -> _Counter:
    return current_app.extensions.setdefault(EXTENSION, _Counter())


def require_api_key(view):
    """Every /api/* call carries the shared key, compared in constant time, and a JSON body
    that parses (when it has one)."""

    @wraps(view)
    def checked(*args, **kwargs):
        expected = current_services().settings.api_key
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if not expected:
            _refuse("QBSYNC_API_KEY is not configured on the middleware", "no key configured")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), expected.encode()
        ):
            why = "no bearer key" if scheme.lower() != "bearer" else "wrong key"
            _refuse("missing or wrong API key (Authorization: Bearer <QBSYNC_API_KEY>)", why)
        _check_json_body()
        return view(*args, **kwargs)

    return checked


def _refuse(message: str, why: str) -> None:
    count = _counter().add()
    log.warning(
        "refused /api call: %s",
        why,
        extra={
            "method": request.method,
            "path": request.path,
            "remote_addr": request.remote_addr,
            "refused_api_calls": count,
        },
    )
    abort(401, message)


def _check_json_body() -> None:
    data = request.get_data(cache=True)
    if not data.strip():
        return
    try:
        body = json.loads(data)
    except RecursionError:
        abort(400, f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")
    except ValueError as error:  # JSONDecodeError, and bytes that are not UTF-8
        abort(400, f"the body is not valid JSON: {error}")
    if _depth_exceeds(body, MAX_JSON_DEPTH):
        abort(400, f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels")


def _depth_exceeds(value: object, limit: int) -> bool:
    """True when objects and arrays nest more than `limit` levels (walked without recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if not isinstance(item, list):
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in item)
    return False
