"""`QBBackfillController` for the LWC preview: historical sync jobs and match reviews (issue 17).

Mirrors force-app's QBBackfillController: starting, cancelling and resolving go to the
middleware's /api (QBMiddlewareClient, here `MiddlewareApi`); the jobs and the open reviews are
read from QB_Sync_Job__c and QB_Match_Review__c as the admin (the Apex's `WITH USER_MODE`), each
review with its candidates' names (a candidate the admin cannot see keeps its id as its name).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simple_salesforce import Salesforce, format_soql

from qbsync_preview.apex import ApexError, as_apex_record, id_param
from qbsync_preview.connection import MiddlewareApi

# QBBackfillController.JOB_LIMIT and REVIEW_LIMIT.
JOB_LIMIT = 50
REVIEW_LIMIT = 200
JOB_FIELDS = (
    "Id, Name, Job_Key__c, QB_Object__c, Salesforce_Object__c, State__c, Since__c, Total__c, "
    "Processed__c, Created__c, Updated__c, Matched__c, Ambiguous__c, Failed__c, Started_At__c, "
    "Finished_At__c, ETA__c, Write_Mode__c, Message__c, CreatedDate"
)
REVIEW_FIELDS = (
    "Id, Name, QB_Object__c, QB_Record_Id__c, QB_Record_Name__c, Salesforce_Object__c, "
    "Matched_By__c, Candidate_Ids__c, Sync_Job__r.Name"
)


class BackfillController:
    """QBBackfillController's contract."""

    def __init__(self, sf: Callable[[], Salesforce], middleware: MiddlewareApi) -> None:
        self._sf = sf
        self._middleware = middleware

    def _query(self, soql: str) -> list[dict]:
        return self._sf().query_all(soql)["records"]

    def start_backfill(self, params: dict) -> list[dict]:
        return self._middleware.start_backfill(
            params.get("realmId"), params.get("qbObjects"), params.get("since")
        )

    def cancel_backfill(self, params: dict) -> dict:
        return self._middleware.cancel_backfill(params.get("jobKey"))

    def list_jobs(self, params: dict) -> list[dict]:
        soql = format_soql(
            "SELECT {:literal} FROM QB_Sync_Job__c WHERE Company__r.Realm_Id__c = {} "
            "ORDER BY CreatedDate DESC, Name DESC LIMIT {:literal}",
            JOB_FIELDS,
            params.get("realmId"),
            str(JOB_LIMIT),
        )
        return [as_apex_record(r) for r in self._query(soql)]

    def list_match_reviews(self, params: dict) -> list[dict]:
        soql = format_soql(
            "SELECT {:literal} FROM QB_Match_Review__c WHERE Company__r.Realm_Id__c = {} "
            "AND Status__c = 'Open' ORDER BY CreatedDate, Name LIMIT {:literal}",
            REVIEW_FIELDS,
            params.get("realmId"),
            str(REVIEW_LIMIT),
        )
        reviews = [_review(record) for record in self._query(soql)]
        names = self._names({c["id"] for r in reviews for c in r["candidates"]})
        for review in reviews:
            for candidate in review["candidates"]:
                candidate["name"] = names.get(candidate["id"], candidate["id"])
        return reviews

    def resolve_match_review(self, params: dict) -> dict:
        return self._middleware.resolve_match_review(
            id_param(params, "reviewId", required=False),
            params.get("action"),
            id_param(params, "recordId", required=False),
        )

    def _names(self, record_ids: set[str]) -> dict[str, str]:
        """Names of the records, per object, read as the admin; unseen records are absent. An id's
        key prefix names its object (Id.getSObjectType() in Apex), from the global describe."""
        by_prefix: dict[str, list[str]] = {}
        for record_id in sorted(record_ids):
            by_prefix.setdefault(record_id[:3], []).append(record_id)
        if not by_prefix:
            return {}
        objects = {
            o["keyPrefix"]: o["name"]
            for o in self._sf().describe()["sobjects"]
            if o.get("keyPrefix") in by_prefix
        }
        names = {}
        for prefix, ids in by_prefix.items():
            if prefix not in objects:
                continue
            soql = format_soql(
                "SELECT Id, Name FROM {:literal} WHERE Id IN {}", objects[prefix], ids
            )
            names |= {r["Id"]: r["Name"] for r in self._query(soql)}
        return names


def _review(record: dict) -> dict:
    """QBBackfillController.MatchReview from a QB_Match_Review__c (nulls left out, as Apex)."""
    candidates = [
        {"id": part.strip(), "name": part.strip()}
        for part in (record.get("Candidate_Ids__c") or "").split(",")
        if _is_id(part.strip())
    ]
    review: dict[str, Any] = {
        "id": record["Id"],
        "name": record.get("Name"),
        "qbObject": record.get("QB_Object__c"),
        "qbRecordId": record.get("QB_Record_Id__c"),
        "qbRecordName": record.get("QB_Record_Name__c"),
        "salesforceObject": record.get("Salesforce_Object__c"),
        "matchedBy": record.get("Matched_By__c"),
        "jobName": (record.get("Sync_Job__r") or {}).get("Name"),
        "candidates": candidates,
    }
    return {k: v for k, v in review.items() if v is not None}


def _is_id(text: str) -> bool:
    try:
        id_param({"id": text}, "id")
    except ApexError:  # not an id: Id.valueOf's StringException, the entry is left out
        return False
    return True


def backfill_methods(controller: BackfillController) -> dict[str, Callable[[dict], Any]]:
    """`@AuraEnabled` method name → implementation (/apex/QBBackfillController/<method>)."""
    return {
        "startBackfill": controller.start_backfill,
        "cancelBackfill": controller.cancel_backfill,
        "listJobs": controller.list_jobs,
        "listMatchReviews": controller.list_match_reviews,
        "resolveMatchReview": controller.resolve_match_review,
    }
