"""Ambiguous matches of a historical sync, listed for the admin: one QB_Match_Review__c per
QuickBooks record that several Salesforce records match (QB Setup's review list links, creates or
skips each one; `POST /api/match-reviews/<id>` resolves it).

A page written again after a worker was killed finds the same ambiguous records: the reviews the
job has for them already are not created twice (one query by job and QuickBooks ids first).
"""

from __future__ import annotations

import logging

from qbsync.matching import MAX_CANDIDATES, MatchPlan
from qbsync.remotes import Salesforce
from qbsync.salesforce.chunks import call_in_chunks
from qbsync.salesforce.errors import SalesforceError
from qbsync.store.backfills import BackfillJob
from qbsync.sync_config import soql_literal

log = logging.getLogger(__name__)

REVIEW_OBJECT = "QB_Match_Review__c"
OPEN = "Open"


def _existing(salesforce: Salesforce, job: BackfillJob, ids: list[str]) -> set[str]:
    quoted = ", ".join(f"'{soql_literal(i)}'" for i in ids)
    soql = (
        f"SELECT QB_Record_Id__c FROM {REVIEW_OBJECT} "  # noqa: S608 - literals escaped
        f"WHERE Sync_Job__r.Job_Key__c = '{soql_literal(job.job_key)}' "
        f"AND QB_Record_Id__c IN ({quoted})"
    )
    return {row["QB_Record_Id__c"] for row in salesforce.query_all(soql)}


def write_reviews(
    salesforce: Salesforce,
    job: BackfillJob,
    salesforce_object: str,
    plan: MatchPlan,
    names: dict[str, str | None],
) -> None:
    """Create an Open review per ambiguous record of `plan` the job has none for yet. A failure
    is logged: the record stays counted as ambiguous and its sync log names the candidates."""
    if not plan.ambiguous:
        return
    try:
        known = _existing(salesforce, job, sorted(plan.ambiguous))
    except SalesforceError as error:
        log.warning("Could not read the match reviews of job %s: %s", job.job_key, error)
        return
    rows = [
        {
            "Sync_Job__r": {"Job_Key__c": job.job_key},
            "Company__r": {"Realm_Id__c": job.realm_id},
            "QB_Object__c": job.qb_object,
            "QB_Record_Id__c": entity_id,
            "QB_Record_Name__c": (names.get(entity_id) or "")[:255] or None,
            "Salesforce_Object__c": salesforce_object,
            "Candidate_Ids__c": ",".join(candidates[:MAX_CANDIDATES]),
            "Matched_By__c": (plan.matched_by.get(entity_id) or "")[:255] or None,
            "Status__c": OPEN,
        }
        for entity_id, candidates in sorted(plan.ambiguous.items())
        if entity_id not in known
    ]
    for row, result in call_in_chunks(
        rows, lambda chunk: salesforce.create_collection(REVIEW_OBJECT, chunk)
    ):
        if isinstance(result, SalesforceError):
            log.warning("Could not create a match review of job %s: %s", job.job_key, result)
        elif not result.success:
            log.warning(
                "Salesforce refused the match review of %s %s: %s",
                job.qb_object,
                row["QB_Record_Id__c"],
                result.message,
            )
