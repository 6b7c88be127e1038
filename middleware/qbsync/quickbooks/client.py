"""QuickBooks Online Accounting API client: batched reads, CDC and CompanyInfo.

Every read is metered by Intuit (CorePlus, research/quickbooks.md §4), so records are read in
batches (`select * from <Entity> where Id in (…)`), never one GET per event.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from urllib.parse import quote

import requests

from qbsync import metrics
from qbsync.catalog import load_catalog
from qbsync.config import Settings
from qbsync.quickbooks.errors import (
    QuickBooksError,
    QuickBooksThrottled,
    QuickBooksTransient,
    error_class,
    intuit_tid,
)
from qbsync.quickbooks.oauth import IntuitOAuth
from qbsync.quickbooks.pacing import RealmPacer, SharedRealmPacer
from qbsync.quickbooks.tokens import TokenVault

log = logging.getLogger(__name__)

# Minor versions 1–74 are gone since 2025-08-01; 75 is the floor (research §4).
MINOR_VERSION = "75"
# MAXRESULTS' ceiling of 1000 is widely assumed but UNCONFIRMED (research §4); stay at it.
QUERY_BATCH = 1000
_ENTITY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
# Filters QuickBooks refuses for some entities (issue 13's review of Intuit's entity reference;
# UNCONFIRMED by a stored Intuit page): Budget has an Active property but no Active filter;
# Preferences is one record per company and takes no Id filter.
_NO_ACTIVE_FILTER = frozenset({"budget"})
_NO_ID_FILTER = frozenset({"preferences"})
# Properties `select *` does not return, asked for by name. Item.Sku: python-quickbooks 0.9.12
# sends `SELECT *, Sku FROM Item` because its maintainers found `*` alone leaves Sku out against
# Intuit's sandbox (routablehq/python-quickbooks issue #373, PR #379); older reports tie Sku to
# minor versions (minimul/qbo_api #22, #61). Whether minor version 75 returns it with `*` is not
# public (UNCONFIRMED), so the recommended mapping Sku → ProductCode asks for it.
NOT_IN_SELECT_STAR: dict[str, tuple[str, ...]] = {"Item": ("Sku",)}


class QuickBooksClient:
    """Reads from one Intuit app's connected companies, with tokens from the vault."""

    def __init__(
        self,
        settings: Settings,
        vault: TokenVault,
        session: requests.Session | None = None,
        *,
        oauth: IntuitOAuth | None = None,
        pacer: RealmPacer | SharedRealmPacer | None = None,
    ) -> None:
        self._settings = settings
        self._vault = vault
        self._session = session or requests.Session()
        self._oauth = oauth or IntuitOAuth(settings, self._session)
        self._pacer = pacer or RealmPacer()

    def query_by_ids(self, realm_id: str, entity: str, ids: Iterable[str]) -> dict[str, dict]:
        """Current state of the given records: Id → entity JSON.

        One query per 1000 ids. Ids that QuickBooks does not return (deleted, merged away)
        are absent from the result.
        """
        _check_entity(entity)
        unique = list(dict.fromkeys(str(i) for i in ids))
        found: dict[str, dict] = {}
        if entity.lower() in _NO_ID_FILTER:
            wanted = set(unique)
            return {
                str(r.get("Id")): r
                for r in self.query_all(realm_id, entity)
                if str(r.get("Id")) in wanted
            }
        for start in range(0, len(unique), QUERY_BATCH):
            chunk = unique[start : start + QUERY_BATCH]
            body = self._query(realm_id, query_text(entity, chunk))
            for record in _entity_list(body.get("QueryResponse") or {}, entity):
                found[str(record.get("Id"))] = record
        return found

    def query_all(self, realm_id: str, entity: str) -> list[dict]:
        """Every record of `entity`, inactive name-list records included, 1000 a page."""
        _check_entity(entity)
        active = " where Active in (true, false)" if _has_active_flag(entity) else ""
        # Not SQL: Intuit's query language; the entity name is checked above.
        text = f"select {_selection(entity)} from {entity}{active}"  # noqa: S608
        return self._paged(realm_id, entity, text, "Id")

    def query_changed(
        self, realm_id: str, entity: str, start: datetime, end: datetime
    ) -> list[dict]:
        """The existing records of `entity` whose LastUpdatedTime is in [start, end), oldest
        first, inactive name-list records included (deleted ones are not: CDC's job)."""
        _check_entity(entity)
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("start and end must be timezone-aware")
        since = start.isoformat(timespec="seconds")
        until = end.isoformat(timespec="seconds")
        active = " and Active in (true, false)" if _has_active_flag(entity) else ""
        text = (
            f"select {_selection(entity)} from {entity} "  # noqa: S608
            f"where MetaData.LastUpdatedTime >= '{since}' "
            f"and MetaData.LastUpdatedTime < '{until}'{active}"
        )
        return self._paged(realm_id, entity, text, "MetaData.LastUpdatedTime")

    def changed_since_page(
        self, realm_id: str, entity: str, since: datetime | None, offset: int = 0
    ) -> list[dict]:
        """One page (1,000) of the records of `entity` changed at or after `since` (every
        record without it), oldest change first, from position `offset` + 1; inactive name-list
        records included. A historical sync reads with it (`qbsync.backfill`)."""
        _check_entity(entity)
        # Not SQL: Intuit's query language; the entity name is checked above.
        text = f"select {_selection(entity)} from {entity}{_changed_since(entity, since)}"  # noqa: S608
        page_text = (
            f"{text} ORDERBY MetaData.LastUpdatedTime "
            f"STARTPOSITION {offset + 1} MAXRESULTS {QUERY_BATCH}"
        )
        body = self._query(realm_id, page_text)
        return _entity_list(body.get("QueryResponse") or {}, entity)

    def count_changed_since(self, realm_id: str, entity: str, since: datetime | None) -> int:
        """How many records of `entity` changed at or after `since` (`select count(*)`, whose
        answer is `QueryResponse.totalCount`)."""
        _check_entity(entity)
        text = f"select count(*) from {entity}{_changed_since(entity, since)}"  # noqa: S608
        body = self._query(realm_id, text)
        total = (body.get("QueryResponse") or {}).get("totalCount", 0)
        return int(total) if isinstance(total, int | str) and str(total).isdigit() else 0

    def _paged(self, realm_id: str, entity: str, text: str, order: str) -> list[dict]:
        # STARTPOSITION pages are only stable in a fixed order: without ORDERBY a record can
        # move between pages while they are read, and be read twice or never.
        records: list[dict] = []
        while True:
            page_text = (
                f"{text} ORDERBY {order} STARTPOSITION {len(records) + 1} MAXRESULTS {QUERY_BATCH}"
            )
            body = self._query(realm_id, page_text)
            page = _entity_list(body.get("QueryResponse") or {}, entity)
            records.extend(page)
            if len(page) < QUERY_BATCH:
                return records

    def cdc(
        self, realm_id: str, entities: Sequence[str], changed_since: datetime
    ) -> dict[str, list[dict]]:
        """Records of `entities` changed since `changed_since` (at most 30 days back).

        Entity name → records; deleted records are included with `"status": "Deleted"`.
        """
        for entity in entities:
            _check_entity(entity)
        if changed_since.tzinfo is None:
            raise ValueError("changed_since must be timezone-aware")
        body = self._request(
            realm_id,
            "GET",
            "cdc",
            params={
                "entities": ",".join(entities),
                "changedSince": changed_since.isoformat(timespec="seconds"),
            },
        )
        changes: dict[str, list[dict]] = {entity: [] for entity in entities}
        for response in body.get("CDCResponse") or []:
            for query_response in response.get("QueryResponse") or []:
                for entity in entities:
                    changes[entity].extend(_entity_list(query_response, entity))
        return changes

    def company_info(self, realm_id: str, *, access_token: str | None = None) -> dict:
        """The company's CompanyInfo record (CompanyName, Country, …).

        With `access_token`, that token is used as it is (no vault, no refresh): the connect
        callback verifies new tokens with it before anything is stored.
        """
        path = f"companyinfo/{quote(realm_id, safe='')}"
        if access_token is None:
            body = self._request(realm_id, "GET", path)
        else:
            url = self._url(realm_id, path)
            with self._pacer.sending(realm_id):
                response = self._send("GET", url, access_token, {"minorversion": MINOR_VERSION}, {})
            body = _parse(response, url, secret=access_token)
        info = body.get("CompanyInfo")
        if not isinstance(info, dict):
            raise QuickBooksTransient(
                "CompanyInfo response has no CompanyInfo object",
                status=200,
                url=self._url(realm_id, "companyinfo"),
            )
        return info

    # -- transport -----------------------------------------------------------------------

    def _url(self, realm_id: str, path: str) -> str:
        base = self._settings.intuit_api_base_url.rstrip("/")
        return f"{base}/v3/company/{quote(realm_id, safe='')}/{path}"

    def _query(self, realm_id: str, statement: str) -> dict:
        """The answer to one statement of Intuit's query language, sent as the request body."""
        return self._request(
            realm_id,
            "POST",
            "query",
            data=statement.encode("utf-8"),
            headers={"Content-Type": "application/text"},
        )

    def _request(self, realm_id: str, method: str, path: str, **kwargs: object) -> dict:
        """One API call (counted in `qbsync.metrics` by kind: query, cdc, companyinfo, …, and by
        the work it is made for)."""
        kind = path.split("/", 1)[0].split("?", 1)[0].lower()
        metrics.QUICKBOOKS_CALLS.labels(kind, metrics.current_work()).inc()
        try:
            return self._call(realm_id, method, path, **kwargs)
        except QuickBooksError as error:
            metrics.QUICKBOOKS_ERRORS.labels(kind, metrics.error_kind(error)).inc()
            raise

    def _call(self, realm_id: str, method: str, path: str, **kwargs: object) -> dict:
        """One API call: token from the vault; on 401 one refresh and one retry."""
        url = self._url(realm_id, path)
        params = {**(kwargs.pop("params", None) or {}), "minorversion": MINOR_VERSION}
        token = self._vault.access_token(realm_id, self._oauth.refresh)
        with self._pacer.sending(realm_id):
            response = self._send(method, url, token, params, kwargs)
        if response.status_code == 401:
            # Revoked early, or expired in spite of the margin: refresh (unless another
            # process already did) and try once more.
            token = self._vault.access_token(realm_id, self._oauth.refresh, stale=token)
            with self._pacer.sending(realm_id):
                response = self._send(method, url, token, params, kwargs)
            if response.status_code == 401:
                # A token Intuit issued moments ago is refused as well: the company's consent
                # is gone (the app was disconnected in QuickBooks). Held like a refused
                # refresh, so the realm waits for a Reconnect and the admins are alerted.
                self._vault.mark_reconnect_required(
                    realm_id, "QuickBooks refused a newly refreshed access token (401)"
                )
        try:
            return _parse(response, url, secret=token)
        except QuickBooksThrottled:
            # Intuit's 60 s wait holds every process that calls this realm, not only this one.
            self._pacer.hold(realm_id)
            raise

    def _send(
        self, method: str, url: str, token: str, params: dict, kwargs: dict
    ) -> requests.Response:
        headers = {
            "Accept": "application/json",
            "Authorization": f"Bearer {token}",
            **(kwargs.get("headers") or {}),
        }
        try:
            response = self._session.request(
                method,
                url,
                params=params,
                data=kwargs.get("data"),
                headers=headers,
                timeout=self._settings.quickbooks_timeout,
            )
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise QuickBooksTransient(
                f"QuickBooks unreachable: {type(exc).__name__}", url=url
            ) from None
        log.debug("QuickBooks %s %s → %s", method, url, response.status_code)
        return response


def query_text(entity: str, ids: Sequence[str]) -> str:
    """`select * from <Entity> where Id in ('1', '2') MAXRESULTS n`, quotes escaped.

    python-quickbooks warns it does not sanitise query input (research §4); a quote inside an
    id is escaped with a backslash, as Intuit's query language expects.
    """
    _check_entity(entity)
    quoted = ", ".join("'" + i.replace("\\", "\\\\").replace("'", "\\'") + "'" for i in ids)
    # A plain query returns only the active records of name-list entities ("SELECT * FROM
    # Customer ... retrieves all active customers", Intuit blog 2017-02-08, deep-dive-sql-queries):
    # an inactive (QuickBooks' "deleted") Customer must not look as if it had vanished.
    active = " and Active in (true, false)" if _has_active_flag(entity) else ""
    # Not SQL: Intuit's query language; the entity name is checked and the ids escaped above.
    return f"select {_selection(entity)} from {entity} where Id in ({quoted}){active} MAXRESULTS {QUERY_BATCH}"  # noqa: S608


def _changed_since(entity: str, since: datetime | None) -> str:
    """The where clause of a historical sync's reads: changed at or after `since` (when given),
    inactive name-list records included."""
    conditions = []
    if since is not None:
        if since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        conditions.append(f"MetaData.LastUpdatedTime >= '{since.isoformat(timespec='seconds')}'")
    if _has_active_flag(entity):
        conditions.append("Active in (true, false)")
    return " where " + " and ".join(conditions) if conditions else ""


def _selection(entity: str) -> str:
    """`*`, plus the properties `*` leaves out of this entity (`*, Sku` for Item)."""
    extra = next((v for k, v in NOT_IN_SELECT_STAR.items() if k.lower() == entity.lower()), ())
    return ", ".join(("*", *extra))


def _has_active_flag(entity: str) -> bool:
    if entity.lower() in _NO_ACTIVE_FILTER:
        return False
    described = load_catalog().entity(entity)
    return described is not None and described.deletes_by_deactivating


def _check_entity(entity: str) -> None:
    if not _ENTITY_NAME.match(entity or ""):
        raise ValueError(f"not a QuickBooks entity name: {entity!r}")


def _entity_list(container: dict, entity: str) -> list[dict]:
    # Response keys use Intuit's spelling (SalesReceipt); accept any case from the caller.
    for key, value in container.items():
        if key.lower() == entity.lower() and isinstance(value, list):
            return value
    return []


def _fault(body: object) -> tuple[str, str | None] | None:
    """(message, code) of a Fault body, whatever the key case (401 bodies use `fault`)."""
    if not isinstance(body, dict):
        return None
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, dict):
        return None
    errors = fault.get("Error") or fault.get("error") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    parts = [
        str(first.get("Message") or first.get("message") or fault.get("type") or "Fault"),
    ]
    detail = first.get("Detail") or first.get("detail")
    if detail:
        parts.append(str(detail))
    return ": ".join(parts), (str(first.get("code")) if first.get("code") is not None else None)


def _parse(response: requests.Response, url: str, secret: str) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = None
    fault = _fault(body)
    # A Fault can come with HTTP 200 (python-quickbooks checks for it before the status).
    if fault is not None or response.status_code >= 400:
        message, code = fault or (f"QuickBooks answered HTTP {response.status_code}", None)
        # 401 details can quote the rejected token; it must not reach a log or the ledger.
        message = message.replace(secret, "***")
        cls: type[QuickBooksError] = error_class(response.status_code, code)
        raise cls(
            f"QuickBooks: {message}",
            status=response.status_code,
            fault_code=code,
            url=url,
            intuit_tid=intuit_tid(response),
        )
    if not isinstance(body, dict):
        raise QuickBooksTransient(
            "QuickBooks answered with a body that is not a JSON object",
            status=response.status_code,
            url=url,
            intuit_tid=intuit_tid(response),
        )
    return body
