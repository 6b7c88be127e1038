"""Ambiguous matches, listed for the admin: one QB_Match_Review__c per QuickBooks record that
several Salesforce records match (QB Setup's review list links, creates or skips each one;
`POST /api/match-reviews/<id>` resolves it). A historical sync's reviews name its job; real
time's name none (Sync_Job__c is blank).

A review is not created twice (one query by QuickBooks ids first): a historical sync's page
written again after a worker was killed finds the reviews its job has already; a real-time change
to a record whose review is still Open (from real time or a job) finds that review.
"""

from __future__ import annotations

import logging

from qbsync.matching import MAX_CANDIDATES, MatchPlan
from qbsync.remotes import Salesforce
from qbsync.salesforce.chunks import call_in_chunks
from qbsync.salesforce.errors import SalesforceError
from qbsync.sync_config import soql_literal

log = logging.getLogger(__name__)

REVIEW_OBJECT = "QB_Match_Review__c"
OPEN = "Open"


def ambiguous_message(salesforce_object: str, candidates: list[str], matched_by: str | None) -> str:
    """The sync log's message for a record not written because several records match it."""
    return (
        f"ambiguous match: {len(candidates)} {salesforce_object} records match "
        f"by {matched_by or 'the match rules'} "
        f"({', '.join(candidates)}); not written: link, create or skip it in QB Setup"
    )


def _existing(
    salesforce: Salesforce, realm_id: str, qb_object: str, job_key: str | None, ids: list[str]
) -> set[str]:
    quoted = ", ".join(f"'{soql_literal(i)}'" for i in ids)
    if job_key is not None:
        scope = f"Sync_Job__r.Job_Key__c = '{soql_literal(job_key)}'"
    else:
        scope = (
            f"Company__r.Realm_Id__c = '{soql_literal(realm_id)}' "
            f"AND QB_Object__c = '{soql_literal(qb_object)}' AND Status__c = '{OPEN}'"
        )
    soql = (
        f"SELECT QB_Record_Id__c FROM {REVIEW_OBJECT} "  # noqa: S608 - literals escaped
        f"WHERE {scope} AND QB_Record_Id__c IN ({quoted})"
    )
    return {row["QB_Record_Id__c"] for row in salesforce.query_all(soql)}


def write_reviews(
    salesforce: Salesforce,
    realm_id: str,
    qb_object: str,
    salesforce_object: str,
    plan: MatchPlan,
    names: dict[str, str | None],
    *,
    job_key: str | None,
) -> None:
    """Create an Open review per ambiguous record of `plan` that has none yet: none of the job
    `job_key`'s, or, in real time (`job_key` None), no Open one. A failure is logged: the record
    stays not written and its sync log names the candidates."""
    if not plan.ambiguous:
        return
    owner = f"job {job_key}" if job_key is not None else f"real-time {qb_object} of {realm_id}"
    try:
        known = _existing(salesforce, realm_id, qb_object, job_key, sorted(plan.ambiguous))
    except SalesforceError as error:
        log.warning("Could not read the match reviews of %s: %s", owner, error)
        return
    job = {"Sync_Job__r": {"Job_Key__c": job_key}} if job_key is not None else {}
    rows = [
        {
            **job,
            "Company__r": {"Realm_Id__c": realm_id},
            "QB_Object__c": qb_object,
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
            log.warning("Could not create a match review of %s: %s", owner, result)
        elif not result.success:
            log.warning(
                "Salesforce refused the match review of %s %s: %s",
                qb_object,
                row["QB_Record_Id__c"],
                result.message,
            )
