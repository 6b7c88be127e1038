"""`QBSyncLogController` for the LWC preview: the Retry action of a failed sync log.

Mirrors force-app's QBSyncLogController: only a failed log the user can see is retried; the
middleware is asked first (POST /api/events/retry, as QBMiddlewareClient.retryEvent), then the log
is read again and, if it is still Failed, marked Retrying with a note in front of its message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from simple_salesforce import Salesforce, format_soql

from qbsync_preview.apex import ApexError, apex_text, as_apex_record, id_param
from qbsync_preview.connection import MiddlewareApi

FAILED = "Failed"
RETRYING = "Retrying"
# QB_Sync_Log__c.Message__c is a LongTextArea(32768) (QBSyncLogController.MESSAGE_LENGTH).
MESSAGE_LENGTH = 32768


class SyncLogController:
    """QBSyncLogController's contract; `user_id` says who the Apex runs as (UserInfo);
    `system_update(sobject, id, values)` writes in system mode, as the Apex's one write does."""

    def __init__(
        self,
        sf: Callable[[], Salesforce],
        middleware: MiddlewareApi,
        user_id: Callable[[], str | None],
        system_update: Callable[[str, str, dict], None],
    ) -> None:
        self._sf = sf
        self._middleware = middleware
        self._user_id = user_id
        self._system_update = system_update

    def _visible_log(self, log_id: str | None) -> dict:
        soql = format_soql(
            "SELECT Id, Name, Status__c, Message__c, Event_Key__c FROM QB_Sync_Log__c "
            "WHERE Id = {} LIMIT 1",
            log_id,
        )
        records = self._sf().query_all(soql)["records"] if log_id else []
        if not records:
            raise ApexError(
                f"The sync log {apex_text(log_id)} does not exist or you cannot see it."
            )
        return as_apex_record(records[0])

    def _user_name(self) -> str:
        user_id = self._user_id()
        soql = format_soql("SELECT Name FROM User WHERE Id = {}", user_id)
        records = self._sf().query_all(soql)["records"] if user_id else []
        return apex_text(records[0]["Name"] if records else None)

    def retry(self, params: dict) -> dict:
        log_id = id_param(params, "syncLogId", required=False)
        log = self._visible_log(log_id)
        status = log.get("Status__c")
        if status != FAILED:
            raise ApexError(
                f"Only failed sync logs can be retried; {log['Name']} is "
                f"{status or 'without a status'}."
            )
        self._middleware.retry_event(log.get("Event_Key__c"))
        # Read again: the worker may have written a newer outcome since (then it is kept).
        current = self._visible_log(log["Id"])
        if current.get("Status__c") == FAILED:
            stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
            note = f"Retry requested by {self._user_name()} at {stamp} UTC: "
            message: Any = note + (current.get("Message__c") or "")
            # System mode, as recordRetryRequest: sync logs are read-only for the admin.
            self._system_update(
                "QB_Sync_Log__c",
                log["Id"],
                {"Status__c": RETRYING, "Message__c": message[:MESSAGE_LENGTH]},
            )
        return self._visible_log(log["Id"])
