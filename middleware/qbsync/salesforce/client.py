"""Salesforce REST client on simple-salesforce, with our own login and session retry.

We log in ourselves (`qbsync.salesforce.auth`) and build
`Salesforce(instance_url=…, session_id=…, version=…)`. simple-salesforce re-logs-in on
`INVALID_SESSION_ID` only when it logged in itself, so that retry is done here (once).
Writes go through sObject Collections, one call of at most 200 records with `allOrNone: false`,
so one bad record never blocks the others (research/salesforce.md §1.3); more records go through
`qbsync.salesforce.chunks.call_in_chunks`, where a failed call costs only its chunk. Deletes of
many records at once (old sync logs) go through a Bulk API 2.0 job (simple-salesforce's `bulk2`):
a handful of calls whatever the count, and no Apex governor limits (research/salesforce.md §1.4).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote

import requests
from simple_salesforce import Salesforce
from simple_salesforce import exceptions as sf_exceptions
from simple_salesforce.api import Usage

from qbsync import metrics
from qbsync.config import Settings
from qbsync.salesforce.auth import SalesforceLogin, login
from qbsync.salesforce.chunks import COLLECTION_LIMIT
from qbsync.salesforce.errors import (
    TRANSIENT_CODES,
    SalesforceError,
    SalesforceTransient,
    error_class,
)
from qbsync.salesforce.schema import is_api_name

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RecordResult:
    """One record's outcome in a Collections call. `errors` items carry `statusCode`."""

    id: str | None
    success: bool
    created: bool | None = None
    errors: list[dict] = field(default_factory=list)

    @classmethod
    def from_json(cls, item: dict) -> RecordResult:
        return cls(
            id=item.get("id"),
            success=bool(item.get("success")),
            created=item.get("created"),
            errors=list(item.get("errors") or []),
        )

    @property
    def transient(self) -> bool:
        """True when every error is worth retrying (e.g. UNABLE_TO_LOCK_ROW)."""
        return bool(self.errors) and all(
            e.get("statusCode") in TRANSIENT_CODES for e in self.errors
        )

    @property
    def message(self) -> str:
        """Salesforce's errors as one line: `STATUS_CODE: message [fields]; …`."""
        return _errors_line(self.errors)


@dataclass(frozen=True)
class ActionResult:
    """One input's outcome in an invocable action call (`isSuccess`, `errors`, `outputValues`)."""

    success: bool
    errors: list[dict] = field(default_factory=list)
    outputs: dict = field(default_factory=dict)

    @classmethod
    def from_json(cls, item: dict) -> ActionResult:
        return cls(
            success=bool(item.get("isSuccess")),
            errors=list(item.get("errors") or []),
            outputs=dict(item.get("outputValues") or {}),
        )

    @property
    def message(self) -> str:
        return _errors_line(self.errors)


def _errors_line(errors: list[dict]) -> str:
    parts = []
    for error in errors:
        text = f"{error.get('statusCode')}: {error.get('message')}"
        if error.get("fields"):
            text += f" [{', '.join(error['fields'])}]"
        parts.append(text)
    return "; ".join(parts)


@dataclass(frozen=True)
class BulkResult:
    """A Bulk API 2.0 ingest job's outcome: rows processed and failed, and each failure's
    (record id, `sf__Error`)."""

    job_id: str
    processed: int
    failed: int
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def succeeded(self) -> int:
        return self.processed - self.failed


# The Composite resource takes at most 5 query operations of its 25 subrequests, and the whole
# series counts as one call toward the API limits ("Send Multiple Requests Using Composite").
COMPOSITE_QUERY_LIMIT = 5
# "Maximum length of SOQL statements: by default, 100,000 characters", and each string literal in
# a WHERE clause at most 4,000 (Salesforce Limits Quick Reference, "SOQL and SOSL Limits").
SOQL_STATEMENT_LIMIT = 100_000
SOQL_STRING_LIMIT = 4_000


@dataclass(frozen=True)
class BulkUpsertResult:
    """A Bulk API 2.0 upsert job's rows by external id: written (Salesforce id, created), failed
    (`sf__Error`), and left unprocessed (the job failed or was aborted before them)."""

    job_id: str
    successful: dict[str, tuple[str, bool]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    unprocessed: frozenset[str] = frozenset()


# Bulk API 2.0's CSV: `#N/A` sets a field to null (an empty cell leaves it as it is), a lookup by
# external id is a `Relationship__r.External_Id__c` column (Bulk API 2.0 Developer Guide,
# "Prepare CSV Files": "Relationship Fields in a Header Row", "Valid Date Format in Records").
BULK_NULL = "#N/A"


def bulk_cell(value: Any) -> str:
    """A field value as a Bulk API 2.0 CSV cell."""
    if value is None:
        return BULK_NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # No exponent: Salesforce reads `1e+20` as text, not a number.
        return format(Decimal(repr(value)), "f")
    return str(value)


def bulk_row(record: dict) -> dict[str, str]:
    """An upsert body (`{"Parent": {"Ext__c": "…"}}` for a lookup) as one CSV row."""
    row: dict[str, str] = {}
    for name, value in record.items():
        if name == "attributes":
            continue
        if isinstance(value, dict):
            for key, inner in value.items():
                if key != "attributes":
                    row[f"{name}.{key}"] = bulk_cell(inner)
        else:
            row[name] = bulk_cell(value)
    return row


# simple-salesforce sleeps this long before its first look at a job, then polls (at most every
# 2 s) until the job has finished.
BULK_POLL_SECONDS = 1.0


class SalesforceClient:
    """The org the middleware writes to; logs in lazily on the first call."""

    def __init__(
        self,
        settings: Settings,
        session: requests.Session | None = None,
        *,
        login_with: Callable[[Settings, requests.Session], SalesforceLogin] = login,
    ) -> None:
        self._settings = settings
        self._session = session or requests.Session()
        self._login_with = login_with
        self._sf: Salesforce | None = None
        self._describes: dict[str, dict] = {}
        self._api_usage: Usage | None = None

    @property
    def api_usage(self) -> Usage | None:
        """`Usage(used, total)` from the last `Sforce-Limit-Info: api-usage=…` header."""
        return self._api_usage

    def query_all(self, soql: str) -> list[dict]:
        """Every record of a SOQL query (follows `nextRecordsUrl`)."""
        result = self._call(
            lambda sf: sf.query_all(soql, timeout=self._settings.salesforce_timeout), "query"
        )
        return list(result["records"])

    def query_many(self, statements: Sequence[str]) -> list[list[dict]]:
        """Every record of each statement, in order, sent in Composite calls of at most 5 query
        subrequests (then `nextRecordsUrl` pages, if any, one GET each).

        A GET `/query` carries the statement in its URI, and Salesforce refuses a URI and headers
        over 16,384 bytes (414/431; Help article 000386264, which recommends the Composite body
        for long statements). A matching query of a whole page (1,000 names, phone numbers,
        domains) is longer than that, and up to 100,000 characters in a Composite subrequest."""
        for statement in statements:
            if len(statement) > SOQL_STATEMENT_LIMIT:
                raise ValueError(
                    f"a SOQL statement of {len(statement)} characters (at most "
                    f"{SOQL_STATEMENT_LIMIT})"
                )
        results: list[list[dict]] = []
        for start in range(0, len(statements), COMPOSITE_QUERY_LIMIT):
            group = statements[start : start + COMPOSITE_QUERY_LIMIT]
            results.extend(self._composite_queries(list(group)))
        return results

    def _composite_queries(self, statements: list[str]) -> list[list[dict]]:
        version = self._settings.salesforce_api_version
        body = {
            "allOrNone": False,
            "compositeRequest": [
                {
                    "method": "GET",
                    "url": f"/services/data/v{version}/query/?q={quote(statement, safe='')}",
                    "referenceId": f"q{index}",
                }
                for index, statement in enumerate(statements)
            ],
        }
        answer = self._call(
            lambda sf: sf.restful(
                "composite", method="POST", json=body, timeout=self._settings.salesforce_timeout
            ),
            "query",
        )
        replies = (answer or {}).get("compositeResponse") if isinstance(answer, dict) else None
        if not isinstance(replies, list) or len(replies) != len(statements):
            raise SalesforceError(
                f"Salesforce returned no composite results for {len(statements)} queries"
            )
        results = []
        for reply in replies:
            status = int(reply.get("httpStatusCode") or 0)
            page = reply.get("body")
            if status != 200 or not isinstance(page, dict):
                first = page[0] if isinstance(page, list) and page else {}
                code = first.get("errorCode") if isinstance(first, dict) else None
                message = first.get("message") if isinstance(first, dict) else None
                raise error_class(status, code)(
                    f"Salesforce: {message or f'a query answered HTTP {status}'}",
                    status=status,
                    error_code=code,
                )
            records = list(page.get("records") or [])
            while not page.get("done", True) and page.get("nextRecordsUrl"):
                url = page["nextRecordsUrl"]
                page = self._call(
                    lambda sf, url=url: sf.query_more(
                        url, identifier_is_url=True, timeout=self._settings.salesforce_timeout
                    ),
                    "query",
                )
                records.extend(page.get("records") or [])
            results.append(records)
        return results

    def describe(self, sobject: str) -> dict:
        """The sObject's describe result; cached for the life of this client."""
        _check_name(sobject)
        if sobject not in self._describes:
            self._describes[sobject] = self._call(
                lambda sf: sf.restful(
                    f"sobjects/{sobject}/describe", timeout=self._settings.salesforce_timeout
                ),
                "describe",
            )
        return self._describes[sobject]

    def forget_describes(self) -> None:
        """Drop cached describes (fields were added to the org)."""
        self._describes.clear()

    def upsert_collection(
        self, sobject: str, external_id_field: str, records: Sequence[dict]
    ) -> list[RecordResult]:
        """Upsert by external id, ≤200 records; one result per record, in order."""
        _check_name(sobject)
        _check_name(external_id_field)
        typed = [_typed(record, sobject) for record in records]
        return self._collections(
            "upsert",
            typed,
            lambda sf, chunk: sf.restful(
                f"composite/sobjects/{sobject}/{external_id_field}",
                method="PATCH",
                json={"allOrNone": False, "records": chunk},
                timeout=self._settings.salesforce_timeout,
            ),
        )

    def create_collection(self, sobject: str, records: Sequence[dict]) -> list[RecordResult]:
        """Create ≤200 records; one result per record, in order."""
        _check_name(sobject)
        typed = [_typed(record, sobject) for record in records]
        return self._collections("create", typed, self._sobjects_call("POST"))

    def update_collection(
        self, records: Sequence[dict], sobject: str | None = None
    ) -> list[RecordResult]:
        """Update ≤200 records by `Id`; each record needs `attributes.type` or `sobject`."""
        if sobject is not None:
            _check_name(sobject)
            typed = [_typed(record, sobject) for record in records]
        else:
            typed = list(records)
            for record in typed:
                if not (record.get("attributes") or {}).get("type"):
                    raise ValueError("update_collection: a record has no attributes.type")
        return self._collections("update", typed, self._sobjects_call("PATCH"))

    def _sobjects_call(self, method: str):
        """Creates (POST) or updates (PATCH) a chunk of typed records through sObject
        Collections, each record saved or refused on its own (allOrNone false)."""
        return lambda sf, chunk: sf.restful(
            "composite/sobjects",
            method=method,
            json={"allOrNone": False, "records": chunk},
            timeout=self._settings.salesforce_timeout,
        )

    def delete_collection(self, ids: Sequence[str]) -> list[RecordResult]:
        """Delete ≤200 records by Id; one result per id, in order."""
        return self._collections(
            "delete",
            list(ids),
            lambda sf, chunk: sf.restful(
                "composite/sobjects",
                params={"ids": ",".join(chunk), "allOrNone": "false"},
                method="DELETE",
                timeout=self._settings.salesforce_timeout,
            ),
        )

    def bulk_delete(
        self, sobject: str, ids: Sequence[str], *, poll_seconds: float = BULK_POLL_SECONDS
    ) -> BulkResult:
        """Delete records by Id with one Bulk API 2.0 delete job (to the recycle bin): create,
        upload, close, poll until finished, and the failed rows when there are any."""
        _check_name(sobject)
        if not ids:
            return BulkResult("", 0, 0)

        def run(sf: Salesforce) -> BulkResult:
            handler = getattr(sf.bulk2, sobject)
            try:
                (summary,) = handler.delete(records=[{"Id": i} for i in ids], wait=poll_seconds)
            except sf_exceptions.SalesforceOperationError as exc:  # a failed or aborted job
                raise SalesforceError(f"Salesforce Bulk API job failed: {exc}") from None
            job_id = summary["job_id"]
            failed = int(summary["numberRecordsFailed"])
            errors = []
            if failed:
                rows = csv.DictReader(io.StringIO(handler.get_failed_records(job_id)))
                errors = [(row.get("sf__Id", ""), row.get("sf__Error", "")) for row in rows]
            return BulkResult(job_id, int(summary["numberRecordsProcessed"]), failed, errors)

        return self._call(run, "bulk_delete")

    def bulk_upsert(
        self,
        sobject: str,
        external_id_field: str,
        records: Sequence[dict],
        *,
        poll_seconds: float = BULK_POLL_SECONDS,
    ) -> BulkUpsertResult:
        """Upsert records on `external_id_field` with one Bulk API 2.0 ingest job: create, upload
        the CSV, UploadComplete, poll until it ends, then its successful, failed and unprocessed
        results. A job Salesforce fails or aborts raises `SalesforceError`."""
        _check_name(sobject)
        _check_name(external_id_field)
        if not records:
            return BulkUpsertResult("")
        rows = [bulk_row(record) for record in records]

        def run(sf: Salesforce) -> BulkUpsertResult:
            handler = getattr(sf.bulk2, sobject)
            try:
                summaries = handler.upsert(
                    records=rows, external_id_field=external_id_field, wait=poll_seconds
                )
            except sf_exceptions.SalesforceOperationError as exc:  # a failed or aborted job
                raise SalesforceError(f"Salesforce Bulk API job failed: {exc}") from None
            result = BulkUpsertResult(summaries[0]["job_id"] if summaries else "")
            unprocessed: set[str] = set()
            for summary in summaries:
                job_id = summary["job_id"]
                for row in _csv_rows(handler.get_successful_records(job_id)):
                    created = row.get("sf__Created", "").lower() == "true"
                    result.successful[row[external_id_field]] = (row.get("sf__Id", ""), created)
                for row in _csv_rows(handler.get_failed_records(job_id)):
                    result.failed[row[external_id_field]] = row.get("sf__Error", "")
                unprocessed.update(
                    row[external_id_field]
                    for row in _csv_rows(handler.get_unprocessed_records(job_id))
                )
            return BulkUpsertResult(
                result.job_id, result.successful, result.failed, frozenset(unprocessed)
            )

        return self._call(run, "bulk_upsert")

    def invoke_action(self, action: str, inputs: Sequence[dict]) -> list[ActionResult]:
        """Run the standard invocable action `action` (`customNotificationAction`,
        `emailSimple`): one result per input, in order. Salesforce answers 400 with the same
        per-input results when an input failed; those come back as results, not an error."""
        _check_name(action)

        def send(sf: Salesforce) -> Any:
            try:
                return sf.restful(
                    f"actions/standard/{action}",
                    method="POST",
                    json={"inputs": list(inputs)},
                    timeout=self._settings.salesforce_timeout,
                )
            except sf_exceptions.SalesforceMalformedRequest as exc:
                if _action_results(exc.content, len(inputs)):
                    return exc.content
                raise

        body = self._call(send, "action")
        if not _action_results(body, len(inputs)):
            raise SalesforceError(f"Salesforce returned no results for {len(inputs)} inputs")
        return [ActionResult.from_json(item) for item in body]

    # -- transport -----------------------------------------------------------------------

    def _collections(
        self, kind: str, items: list, send: Callable[[Salesforce, list], Any]
    ) -> list[RecordResult]:
        """One sObject Collections call; callers with more records use `call_in_chunks`."""
        if len(items) > COLLECTION_LIMIT:
            raise ValueError(
                f"{len(items)} records for one sObject Collections call (at most "
                f"{COLLECTION_LIMIT}); send them with qbsync.salesforce.chunks.call_in_chunks"
            )
        if not items:
            return []
        body = self._call(lambda sf: send(sf, items), kind)
        if not isinstance(body, list) or len(body) != len(items):
            raise SalesforceError(
                f"Salesforce returned {len(body) if isinstance(body, list) else 'no'} "
                f"results for {len(items)} records"
            )
        return [RecordResult.from_json(item) for item in body]

    def _connect(self) -> Salesforce:
        if self._sf is None:
            session = self._login_with(self._settings, self._session)
            self._sf = Salesforce(
                instance_url=session.instance_url,
                session_id=session.access_token,
                version=self._settings.salesforce_api_version,
                session=self._session,
                object_pairs_hook=dict,
            )
        return self._sf

    def _call(self, action: Callable[[Salesforce], T], kind: str = "other") -> T:
        """Run one REST action, counted in `qbsync.metrics` as `kind` (query, describe, upsert,
        update, delete, bulk_delete, action; "other" for a call that names none) and by the work
        it is made for."""
        metrics.SALESFORCE_CALLS.labels(kind, metrics.current_work()).inc()
        try:
            return self._call_once(action)
        except SalesforceError as error:
            metrics.SALESFORCE_ERRORS.labels(kind, metrics.error_kind(error)).inc()
            raise

    def _call_once(self, action: Callable[[Salesforce], T]) -> T:
        """Run one REST action; on 401 INVALID_SESSION_ID log in again and retry once."""
        for attempt in (1, 2):
            sf = self._connect()
            try:
                result = action(sf)
            except sf_exceptions.SalesforceExpiredSession as exc:
                if attempt == 1 and _error_code(exc) == "INVALID_SESSION_ID":
                    log.info("Salesforce session expired; logging in again")
                    self._sf = None
                    continue
                raise _translate(exc) from None
            except sf_exceptions.SalesforceError as exc:
                raise _translate(exc) from None
            except (requests.Timeout, requests.ConnectionError) as exc:
                raise SalesforceTransient(f"Salesforce unreachable: {type(exc).__name__}") from None
            except requests.exceptions.InvalidJSONError as exc:
                # A body requests cannot send (NaN, an infinity): this call's records fail, not
                # the caller's whole batch; retrying cannot help.
                raise SalesforceError(f"the request body is not valid JSON: {exc}") from None
            self._api_usage = sf.api_usage.get("api-usage", self._api_usage)
            return result
        raise AssertionError("unreachable")  # the loop returns or raises


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text or "")))


def _action_results(body: Any, count: int) -> bool:
    """`body` is one invocable action result per input."""
    return (
        isinstance(body, list)
        and len(body) == count
        and all(isinstance(item, dict) and "isSuccess" in item for item in body)
    )


def _check_name(name: str) -> None:
    if not is_api_name(name):
        raise ValueError(f"not a Salesforce API name: {name!r}")


def _typed(record: dict, sobject: str) -> dict:
    return {**record, "attributes": {**(record.get("attributes") or {}), "type": sobject}}


def _first_error(exc: sf_exceptions.SalesforceError) -> dict:
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return content[0]
    if isinstance(content, dict):
        return content
    return {}


def _error_code(exc: sf_exceptions.SalesforceError) -> str | None:
    return _first_error(exc).get("errorCode")


def _translate(exc: sf_exceptions.SalesforceError) -> SalesforceError:
    first = _first_error(exc)
    code = first.get("errorCode")
    message = first.get("message") or f"Salesforce answered HTTP {exc.status}"
    cls = error_class(exc.status, code)
    return cls(f"Salesforce: {message}", status=exc.status, error_code=code, url=exc.url)
