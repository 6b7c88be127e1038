"""Salesforce failures, one class per category, chosen by one map (`error_class`).

`SalesforceError` itself is the permanent category (malformed request, invalid field, a
validation rule): retrying will not help. Messages carry Salesforce's `errorCode` and
`message`, never a session id or secret.
"""

from __future__ import annotations


class SalesforceError(Exception):
    """A Salesforce call failed permanently. `status` is None without a response."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.url = url

    def __str__(self) -> str:
        details = [f"status {self.status}"] if self.status is not None else []
        if self.error_code:
            details.append(self.error_code)
        if self.url:
            details.append(self.url)
        return f"{self.message} ({', '.join(details)})" if details else self.message


class SalesforceTransient(SalesforceError):
    """Timeout, connection error, 5xx, UNABLE_TO_LOCK_ROW, REQUEST_LIMIT_EXCEEDED: retry later."""


class SalesforceAuthError(SalesforceError):
    """Login failed (bad client id, key, secret or user), or the session was refused again."""


# Error codes worth retrying. UNABLE_TO_LOCK_ROW: another transaction holds the record;
# REQUEST_LIMIT_EXCEEDED (403): the org's 24 h API allocation or concurrency limit
# (research/salesforce.md §1.2, §1.4). Also used for per-record `statusCode`s.
TRANSIENT_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE"})


def error_class(status: int | None, error_code: str | None = None) -> type[SalesforceError]:
    """The error class for an HTTP status and Salesforce `errorCode`."""
    if status is None or status >= 500 or error_code in TRANSIENT_CODES:
        return SalesforceTransient
    if status == 401:
        return SalesforceAuthError
    return SalesforceError
