"""`QBConnectionController` for the LWC preview: the middleware's /api, as the package reaches it.

Mirrors force-app's QBConnectionController, QBMiddlewareClient and QBConfigChangedNotifier: the
Named Credential QBSync_Middleware becomes `middleware_url` plus the API key sent as
`Authorization: Bearer`, and the admin sees the same messages. Configuration-change notifications
are recorded on the company (Config_Notified_At__c, Config_Notification_Error__c), not thrown.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests
from simple_salesforce import Salesforce, format_soql

from qbsync_preview.apex import ApexError, apex_text, as_apex_record, blank, id_param

_REALM_ID = re.compile(r"^[0-9A-Za-z_-]{1,32}$")
# QBMiddlewareClient.JOB_KEY and SINCE_DATE: the key goes into the URL path unencoded.
_JOB_KEY = re.compile(r"[0-9A-Za-z_-]{1,64}")
_SINCE_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
REVIEW_ACTIONS = ("link", "create", "skip")
TIMEOUT = (5, 30)  # QBMiddlewareClient.TIMEOUT_MS: 30 s
NOTIFICATION_FIELDS = (
    "Id, Name, Realm_Id__c, Status__c, Config_Notified_At__c, Config_Notification_Error__c"
)


class MiddlewareApi:
    """The middleware's /api/* endpoints (QBMiddlewareClient); errors are ApexErrors."""

    def __init__(self, base_url: str | None, api_key: str | None) -> None:
        self._base_url = base_url.rstrip("/") if base_url else None
        self._api_key = api_key
        self._session = requests.Session()

    def _send(self, method: str, path: str, expected: int, body: dict | None = None) -> Any:
        if not self._base_url or not self._api_key:
            raise ApexError(
                "The sync middleware could not be reached: the preview was started without its "
                "URL and API key. Check the QBSync_Middleware named credential and that the "
                "middleware is running."
            )
        try:
            response = self._session.request(
                method,
                f"{self._base_url}/api{path}",
                json=body,
                headers={"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"},
                timeout=TIMEOUT,
            )
        except requests.RequestException as error:
            raise ApexError(
                f"The sync middleware could not be reached: {type(error).__name__}. Check the "
                "QBSync_Middleware named credential and that the middleware is running."
            ) from None
        if response.status_code == expected:
            try:
                return response.json() if response.content else None
            except ValueError:
                raise ApexError(
                    f"The sync middleware answered HTTP {response.status_code} with a body that "
                    "is not the expected JSON."
                ) from None
        if response.status_code == 401:
            raise ApexError(
                "The sync middleware refused the API key (HTTP 401). Set the ApiKey parameter of "
                "the QBSync_Middleware external credential to the middleware's QBSYNC_API_KEY."
            )
        try:
            detail = response.json().get("error")
        except (ValueError, AttributeError):
            detail = None
        suffix = f": {detail}" if isinstance(detail, str) else "."
        raise ApexError(f"The sync middleware answered HTTP {response.status_code}{suffix}")

    @staticmethod
    def _realm(realm_id: Any) -> str:
        if not isinstance(realm_id, str) or not _REALM_ID.match(realm_id):
            raise ApexError(f'Not a QuickBooks realm id: "{apex_text(realm_id)}".')
        return realm_id

    def start_connection(self, realm_id: Any, origin: str) -> dict:
        """QBMiddlewareClient.startConnection: the org's origin, and the realm of a Reconnect."""
        body = {"origin": origin}
        if realm_id is not None:
            body["realmId"] = self._realm(realm_id)
        answer = self._send("POST", "/connections", 201, body)
        if not isinstance(answer, dict) or not answer.get("authorizationUrl"):
            raise ApexError("The sync middleware returned no authorization URL.")
        # AuthorizationStart's fields, as Apex serialises them (null when absent).
        return {
            name: answer.get(name)
            for name in ("authorizationUrl", "expiresAt", "callbackOrigin", "realmId")
        }

    def connections(self) -> list[dict]:
        answer = self._send("GET", "/connections", 200)
        return (answer or {}).get("connections") or []

    def disconnect(self, realm_id: Any) -> None:
        self._send("DELETE", f"/connections/{self._realm(realm_id)}", 200)

    def notify_config_changed(self, realm_id: Any) -> None:
        self._send("POST", "/config-changed", 202, {"realmId": self._realm(realm_id)})

    def backlog(self, realm_id: Any) -> dict:
        """QBMiddlewareClient.backlog: the realm's waiting events."""
        answer = self._send("GET", f"/backlog?realmId={self._realm(realm_id)}", 200)
        realms = answer.get("realms") if isinstance(answer, dict) else None
        if not realms or not isinstance(realms[0], dict):
            raise ApexError("The sync middleware did not report the backlog.")
        return realms[0]

    def test_connection(self, realm_id: Any) -> dict:
        """QBMiddlewareClient.testConnection: QuickBooks' answer for the company, in words."""
        answer = self._send("POST", f"/connections/{self._realm(realm_id)}/test", 200, {})
        if not isinstance(answer, dict) or not isinstance(answer.get("ok"), bool):
            raise ApexError("The sync middleware did not say whether QuickBooks answered.")
        # ConnectionTest's fields, as Apex serialises them (null when absent).
        return {
            name: answer.get(name)
            for name in ("ok", "companyName", "country", "message", "checkedAt")
        }

    def retry_event(self, event_key: Any) -> int:
        if blank(event_key):
            raise ApexError("The sync log has no event key, so there is no event to retry.")
        answer = self._send("POST", "/events/retry", 200, {"eventKey": event_key})
        retried = answer.get("retried") if isinstance(answer, dict) else None
        if not isinstance(retried, int) or isinstance(retried, bool):
            raise ApexError("The sync middleware did not say whether the event was retried.")
        return retried

    def start_backfill(self, realm_id: Any, qb_objects: Any, since: Any) -> list[dict]:
        """QBMiddlewareClient.startBackfill: POST /api/backfills, the jobs in the order they run."""
        if not isinstance(qb_objects, list) or not qb_objects:
            raise ApexError("Choose at least one QuickBooks object to sync.")
        body: dict[str, Any] = {"realmId": self._realm(realm_id), "objects": qb_objects}
        if not blank(since):
            if not isinstance(since, str) or not _SINCE_DATE.fullmatch(since):
                raise ApexError(f'Not a date: "{apex_text(since)}". Use YYYY-MM-DD.')
            body["since"] = since
        answer = self._send("POST", "/backfills", 202, body)
        jobs = answer.get("jobs") if isinstance(answer, dict) else None
        if not isinstance(jobs, list):
            raise ApexError("The sync middleware did not say which jobs it queued.")
        return [_backfill_job(job) for job in jobs]

    def cancel_backfill(self, job_key: Any) -> dict:
        """QBMiddlewareClient.cancelBackfill: POST /api/backfills/<key>/cancel."""
        if not isinstance(job_key, str) or not _JOB_KEY.fullmatch(job_key):
            raise ApexError(f'Not a sync job key: "{apex_text(job_key)}".')
        return _backfill_job(self._send("POST", f"/backfills/{job_key}/cancel", 200, {}))

    def resolve_match_review(self, review_id: str | None, action: Any, record_id: Any) -> dict:
        """QBMiddlewareClient.resolveMatchReview: POST /api/match-reviews/<id>."""
        if review_id is None:
            raise ApexError("Choose the match to resolve.")
        if action not in REVIEW_ACTIONS:
            raise ApexError(
                f'Not a way to resolve a match: "{apex_text(action)}". Use link, create or skip.'
            )
        body: dict[str, Any] = {"action": action}
        if action == "link":
            if record_id is None:
                raise ApexError("Choose the Salesforce record to link.")
            body["recordId"] = record_id
        answer = self._send("POST", f"/match-reviews/{review_id}", 200, body)
        answer = answer if isinstance(answer, dict) else {}
        # ReviewResolution's fields, as Apex serialises them (null when absent).
        return {"status": answer.get("status"), "recordId": answer.get("recordId")}


def _backfill_job(answer: Any) -> dict:
    """QBMiddlewareClient.BackfillJob's fields, as Apex serialises them (null when absent)."""
    answer = answer if isinstance(answer, dict) else {}
    return {name: answer.get(name) for name in ("id", "qbObject", "state")}


class ConnectionController:
    """QBConnectionController's contract; `notify_companies` is QBConfigChangedNotifier's."""

    def __init__(
        self,
        sf: Callable[[], Salesforce],
        middleware: MiddlewareApi,
        lightning_origin: Callable[[], str],
    ) -> None:
        """`lightning_origin` stands in for `'https://' + DomainCreator.getLightningHostname()`:
        the origin the QB Setup tab is served from."""
        self._sf = sf
        self._middleware = middleware
        self._lightning_origin = lightning_origin

    def _companies(self, where: str, value: Any) -> list[dict]:
        soql = format_soql(
            "SELECT {:literal} FROM QB_Company__c WHERE {:literal} {}",
            NOTIFICATION_FIELDS,
            where,
            value,
        )
        return [as_apex_record(r) for r in self._sf().query_all(soql)["records"]]

    def notify_companies(self, company_ids: set[str]) -> list[dict]:
        """Notify the middleware per company, then record each outcome on the company."""
        companies = self._companies("Id IN", sorted(company_ids)) if company_ids else []
        for company in companies:
            try:
                self._middleware.notify_config_changed(company.get("Realm_Id__c"))
                outcome = {
                    "Config_Notified_At__c": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "Config_Notification_Error__c": None,
                }
            except ApexError as error:
                outcome = {"Config_Notification_Error__c": error.message[:255]}
            self._sf().restful(
                f"sobjects/QB_Company__c/{company['Id']}", method="PATCH", json=outcome
            )
        return self._companies("Id IN", [c["Id"] for c in companies]) if companies else []

    def start_connection(self, params: dict) -> dict:
        return self._middleware.start_connection(params.get("realmId"), self._lightning_origin())

    def disconnect(self, params: dict) -> None:
        self._middleware.disconnect(params.get("realmId"))

    def get_connections(self, params: dict) -> list[dict]:
        return self._middleware.connections()

    def notify_config_changed(self, params: dict) -> dict:
        realm_id = params.get("realmId")
        companies = self._companies("Realm_Id__c =", realm_id) if isinstance(realm_id, str) else []
        if not companies:
            raise ApexError(
                f"No QuickBooks company with realm id {apex_text(realm_id)} exists or you cannot "
                "see it."
            )
        return self.notify_companies({companies[0]["Id"]})[0]

    def get_config_notification(self, params: dict) -> dict:
        company_id = id_param(params, "companyId", required=False)
        companies = self._companies("Id =", company_id) if company_id else []
        if not companies:
            raise ApexError(
                f"The QuickBooks company {apex_text(company_id)} does not exist or you cannot "
                "see it."
            )
        return companies[0]


def connection_methods(controller: ConnectionController) -> dict[str, Callable[[dict], Any]]:
    """`@AuraEnabled` method name → implementation (/apex/QBConnectionController/<method>)."""
    return {
        "startConnection": controller.start_connection,
        "disconnect": controller.disconnect,
        "getConnections": controller.get_connections,
        "notifyConfigChanged": controller.notify_config_changed,
        "getConfigNotification": controller.get_config_notification,
    }
