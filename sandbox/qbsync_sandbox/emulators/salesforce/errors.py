"""Errors the emulator raises, shaped like Salesforce's REST error bodies.

Single-record calls answer `[{"message", "errorCode", "fields"}]`; sObject Collections report the same
error per record as `{"statusCode", "message", "fields"}`
(research/salesforce.md §1.2, §1.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RecordError:
    """One error about one record (DML): a status code, Salesforce's message and the fields."""

    status_code: str
    message: str
    fields: list[str] = field(default_factory=list)

    def as_collection_item(self) -> dict:
        return {"statusCode": self.status_code, "message": self.message, "fields": self.fields}

    def as_rest_item(self) -> dict:
        return {"message": self.message, "errorCode": self.status_code, "fields": self.fields}


class DmlFailure(Exception):
    """A record could not be saved; carries every error Salesforce would report for it."""

    def __init__(self, errors: list[RecordError]) -> None:
        super().__init__("; ".join(f"{e.status_code}: {e.message}" for e in errors))
        self.errors = errors


class ApiError(Exception):
    """A whole request fails with an HTTP status and a REST error body.

    `fields` is None for errors whose body has no `fields` key (e.g. NOT_FOUND, INVALID_SESSION_ID).
    """

    def __init__(
        self, status: int, error_code: str, message: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def body(self) -> list[dict]:
        item: dict = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            item["fields"] = self.fields
        return [item]


def not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist")


class MultipleMatches(Exception):
    """An external id value matched more than one record (upsert answers 300)."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__(f"{len(ids)} records match")
        self.ids = ids
