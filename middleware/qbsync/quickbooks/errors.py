"""QuickBooks failures, one class per category, chosen by one map (`error_class`).

The worker decides from the class alone: transient → retry with backoff, throttled → the realm
waits (`QBSYNC_REALM_WAIT_SECONDS`), auth → the company needs a new consent and its events
wait, fault → permanent. Messages carry Intuit's text, the status, the fault code, the URL and
`intuit_tid` (the response header Intuit's support asks for), never a token.
"""

from __future__ import annotations


class QuickBooksError(Exception):
    """A QuickBooks call failed. `status` is the HTTP status (None without a response)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        fault_code: str | None = None,
        url: str | None = None,
        intuit_tid: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.fault_code = fault_code
        self.url = url
        self.intuit_tid = intuit_tid

    def __str__(self) -> str:
        details = [f"status {self.status}"] if self.status is not None else []
        if self.fault_code:
            details.append(f"code {self.fault_code}")
        if self.url:
            details.append(self.url)
        if self.intuit_tid:
            details.append(f"intuit_tid {self.intuit_tid}")
        return f"{self.message} ({', '.join(details)})" if details else self.message


def intuit_tid(response: object) -> str | None:
    """The `intuit_tid` header of a response (Intuit's request id), or None."""
    headers = getattr(response, "headers", None) or {}
    value = headers.get("intuit_tid")
    # Ids are short; a longer value is not Intuit's and would only bloat the message.
    return value.strip()[:64] if isinstance(value, str) and value.strip() else None


class QuickBooksTransient(QuickBooksError):
    """Timeout, connection error or 5xx: retry with backoff."""


class QuickBooksThrottled(QuickBooksError):
    """HTTP 429: Intuit asks to wait 60 seconds before the realm's next call.

    research/quickbooks.md §4 (limits-and-throttles): "HTTP Status Code 429 ... wait 60 seconds";
    the worker waits `QBSYNC_REALM_WAIT_SECONDS` (default 60).
    """


class QuickBooksAuthError(QuickBooksError):
    """The company's authorization is gone (401 after one refresh, `invalid_grant`, 403).

    The company needs a new consent; its events wait in the ledger.
    """


class QuickBooksFault(QuickBooksError):
    """A permanent Fault: validation (codes 2000–4999), object not found (610), bad request."""


# The one status → class map. The HTTP status wins over the fault code: Intuit's throttle
# fault carries code 003001, which would otherwise fall into the validation range.
_STATUS_CLASSES: dict[int, type[QuickBooksError]] = {
    401: QuickBooksAuthError,
    # 403 ApplicationAuthorizationFailed: the app lost access to the company; only the admin
    # (a new consent or a restored subscription) can fix it, so events wait instead of failing.
    403: QuickBooksAuthError,
    429: QuickBooksThrottled,
}

# Fault code ranges (as python-quickbooks handle_exceptions reads them, research §4) for Faults
# that arrive with HTTP 200 or 400: 1–499 authorization, ≥10000 "severe" (server side).
_FAULT_CODE_CLASSES: tuple[tuple[int, int, type[QuickBooksError]], ...] = (
    (1, 499, QuickBooksAuthError),
    (10000, 10**9, QuickBooksTransient),
)


def error_class(status: int | None, fault_code: str | None = None) -> type[QuickBooksError]:
    """The error class for an HTTP status and an optional Fault code."""
    if status is None:
        return QuickBooksTransient
    if status in _STATUS_CLASSES:
        return _STATUS_CLASSES[status]
    if status >= 500:
        return QuickBooksTransient
    if fault_code and fault_code.strip().isdigit():
        code = int(fault_code)
        for low, high, cls in _FAULT_CODE_CLASSES:
            if low <= code <= high:
                return cls
    return QuickBooksFault
