"""`QBHealthController` for the LWC preview: the health strip, the live feed and Test connection.

Mirrors force-app's QBHealthController with the same SOQL (user mode: the admin's session), the
middleware's backlog and connection test through MiddlewareApi, and the same messages. Datetimes
are ISO strings as Apex serialises them to a component.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from simple_salesforce import Salesforce, format_soql

from qbsync_preview.apex import ApexError, _integer_param, apex_text, as_apex_record, id_param
from qbsync_preview.connection import MiddlewareApi

SUCCESS = "Success"
FAILED = "Failed"
MAX_FEED = 50  # QBHealthController.MAX_FEED
FEED_FIELDS = (
    "Id, Name, Record_Name__c, QB_Object__c, QB_Record_Id__c, Operation__c, Status__c, "
    "Message__c, Salesforce_Object__c, Salesforce_Record_Id__c, Latency_Ms__c, Event_Time__c, "
    "Synced_At__c, LastModifiedDate"
)


class HealthController:
    """QBHealthController's contract."""

    def __init__(self, sf: Callable[[], Salesforce], middleware: MiddlewareApi) -> None:
        self._sf = sf
        self._middleware = middleware

    def _query(self, soql: str) -> list[dict]:
        return self._sf().query_all(soql)["records"]

    def _visible_company(self, params: dict) -> dict:
        company_id = id_param(params, "companyId", required=False)
        soql = format_soql(
            "SELECT Id, Realm_Id__c FROM QB_Company__c WHERE Id = {} LIMIT 1", company_id
        )
        records = self._query(soql) if company_id else []
        if not records:
            raise ApexError(
                f"The QuickBooks company {apex_text(company_id)} does not exist or you cannot "
                "see it."
            )
        return records[0]

    def get_health(self, params: dict) -> dict:
        company = self._visible_company(params)
        since = datetime.now(UTC) - timedelta(hours=24)
        last = self._query(
            format_soql(
                "SELECT Synced_At__c FROM QB_Sync_Log__c WHERE Company__c = {} "
                "AND Status__c = {} AND Synced_At__c != NULL ORDER BY Synced_At__c DESC LIMIT 1",
                company["Id"],
                SUCCESS,
            )
        )
        rows = self._query(
            format_soql(
                "SELECT QB_Object__c, Status__c, COUNT(Id) n FROM QB_Sync_Log__c "
                "WHERE Company__c = {} AND Synced_At__c >= {:literal} "
                "GROUP BY QB_Object__c, Status__c",
                company["Id"],
                since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
        )
        counts: dict[str, dict] = {}
        failures = 0
        for row in rows:
            count = counts.setdefault(
                row["QB_Object__c"],
                {"qbObject": row["QB_Object__c"], "succeeded": 0, "failed": 0, "other": 0},
            )
            if row["Status__c"] == SUCCESS:
                count["succeeded"] += row["n"]
            elif row["Status__c"] == FAILED:
                count["failed"] += row["n"]
                failures += row["n"]
            else:
                count["other"] += row["n"]
        health: dict[str, Any] = {
            "lastSuccessAt": last[0]["Synced_At__c"] if last else None,
            "failuresLast24h": failures,
            "backlog": None,
            "oldestWaitingAt": None,
            "backlogError": None,
            # Apex sorts the object names (String.sort: case-sensitive, nulls first).
            "objects": [counts[name] for name in sorted(counts, key=lambda n: (n is not None, n))],
        }
        try:
            backlog = self._middleware.backlog(company.get("Realm_Id__c"))
            health["backlog"] = backlog.get("waiting")
            health["oldestWaitingAt"] = backlog.get("oldestReceivedAt")
        except ApexError as error:
            health["backlogError"] = error.message
        # Apex leaves null properties out of what a component receives.
        return {name: value for name, value in health.items() if value is not None}

    def get_recent_logs(self, params: dict) -> list[dict]:
        company = self._visible_company(params)
        size = _integer_param(params, "size")
        rows = MAX_FEED if size is None or size < 1 or size > MAX_FEED else size
        soql = format_soql(
            "SELECT {:literal} FROM QB_Sync_Log__c WHERE Company__c = {} "
            "ORDER BY LastModifiedDate DESC LIMIT {:literal}",
            FEED_FIELDS,
            company["Id"],
            str(rows),
        )
        return [as_apex_record(record) for record in self._query(soql)]

    def test_connection(self, params: dict) -> dict:
        company = self._visible_company(params)
        return self._middleware.test_connection(company.get("Realm_Id__c"))


def health_methods(controller: HealthController) -> dict[str, Callable[[dict], Any]]:
    """`@AuraEnabled` method name → implementation (/apex/QBHealthController/<method>)."""
    return {
        "getHealth": controller.get_health,
        "getRecentLogs": controller.get_recent_logs,
        "testConnection": controller.test_connection,
    }
