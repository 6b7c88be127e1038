"""The two remote systems, as the middleware uses them: one Protocol each.

`qbsync.quickbooks.client.QuickBooksClient` and `qbsync.salesforce.client.SalesforceClient` are
the implementations; the worker, the reconciler, verify and the sync log depend only on these
methods, so tests may hand in anything that has them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from qbsync.salesforce.client import (
        ActionResult,
        BulkResult,
        BulkUpsertResult,
        RecordResult,
    )


class QuickBooks(Protocol):
    """QuickBooks Online's Accounting API for the connected companies (reads are metered)."""

    def query_by_ids(self, realm_id: str, entity: str, ids: Iterable[str]) -> dict[str, dict]:
        """The records with these ids that exist, by id (one query per 1,000 ids)."""
        ...

    def query_all(self, realm_id: str, entity: str) -> list[dict]:
        """Every record of `entity` (paged)."""
        ...

    def query_changed(
        self, realm_id: str, entity: str, start: datetime, end: datetime
    ) -> list[dict]:
        """The existing records of `entity` last changed in [start, end), oldest first (paged)."""
        ...

    def changed_since_page(
        self, realm_id: str, entity: str, since: datetime | None, offset: int = 0
    ) -> list[dict]:
        """One page (1,000) of the records changed at or after `since`, oldest change first."""
        ...

    def count_changed_since(self, realm_id: str, entity: str, since: datetime | None) -> int:
        """How many records of `entity` changed at or after `since` (all without it)."""
        ...

    def cdc(
        self, realm_id: str, entities: Sequence[str], changed_since: datetime
    ) -> dict[str, list[dict]]:
        """Change Data Capture: the records of `entities` changed since then, by entity."""
        ...

    def company_info(self, realm_id: str) -> dict:
        """The company's CompanyInfo record."""
        ...


class Salesforce(Protocol):
    """The org the middleware writes to (API calls are limited per 24 h: collections of 200)."""

    def query_all(self, soql: str) -> list[dict]:
        """Every record of a SOQL query."""
        ...

    def query_many(self, statements: Sequence[str]) -> list[list[dict]]:
        """Every record of each SOQL statement (up to 100,000 characters), in order."""
        ...

    def describe(self, sobject: str) -> dict:
        """The sObject's describe result (cached by the client)."""
        ...

    def forget_describes(self) -> None:
        """Drop cached describes (fields were added to the org)."""
        ...

    def upsert_collection(
        self, sobject: str, external_id_field: str, records: Sequence[dict]
    ) -> list[RecordResult]:
        """Upsert by external id; one result per record, in order."""
        ...

    def create_collection(self, sobject: str, records: Sequence[dict]) -> list[RecordResult]:
        """Create records; one result per record, in order."""
        ...

    def update_collection(
        self, records: Sequence[dict], sobject: str | None = None
    ) -> list[RecordResult]:
        """Update records by Id; one result per record, in order."""
        ...

    def delete_collection(self, ids: Sequence[str]) -> list[RecordResult]:
        """Delete records by Id; one result per id, in order."""
        ...

    def bulk_delete(self, sobject: str, ids: Sequence[str]) -> BulkResult:
        """Delete many records by Id in one Bulk API 2.0 job; its counts and failed rows."""
        ...

    def bulk_upsert(
        self, sobject: str, external_id_field: str, records: Sequence[dict]
    ) -> BulkUpsertResult:
        """Upsert many records by external id in one Bulk API 2.0 ingest job; its results."""
        ...

    def invoke_action(self, action: str, inputs: Sequence[dict]) -> list[ActionResult]:
        """Run a standard invocable action; one result per input, in order."""
        ...
