"""A historical sync job as others see it: its QB_Sync_Job__c record in Salesforce (what QB Setup
shows: state, counts, ETA), upserted on Job_Key__c at the start, after every page and at the end,
and its JSON in the /api/backfills answers."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from qbsync.remotes import Salesforce
from qbsync.salesforce.errors import SalesforceError
from qbsync.store.backfills import BackfillJob

log = logging.getLogger(__name__)

JOB_OBJECT = "QB_Sync_Job__c"
JOB_KEY_FIELD = "Job_Key__c"
MESSAGE_LENGTH = 32768


def _time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def job_row(job: BackfillJob) -> dict[str, Any]:
    """The QB_Sync_Job__c field values of `job` (without `attributes`)."""
    counts = job.counts
    return {
        JOB_KEY_FIELD: job.job_key,
        "Company__r": {"Realm_Id__c": job.realm_id},
        "QB_Object__c": job.qb_object,
        "Salesforce_Object__c": job.salesforce_object,
        "State__c": job.state,
        "Since__c": _time(job.since),
        "Total__c": job.total,
        "Processed__c": counts.processed,
        "Created__c": counts.created,
        "Updated__c": counts.updated,
        "Matched__c": counts.matched,
        "Ambiguous__c": counts.ambiguous,
        "Failed__c": counts.failed,
        "Started_At__c": _time(job.started_at),
        "Finished_At__c": _time(job.finished_at),
        "ETA__c": _time(job.eta),
        "Write_Mode__c": job.write_mode,
        "Message__c": (job.message or "")[:MESSAGE_LENGTH] or None,
    }


def show_jobs(salesforce: Salesforce, jobs: list[BackfillJob]) -> None:
    """Upsert the jobs' QB_Sync_Job__c records in one call; a failure is logged, never raised:
    the middleware's row is the job's truth, the record shows it and is written again with the
    next page."""
    if not jobs:
        return
    try:
        results = salesforce.upsert_collection(
            JOB_OBJECT, JOB_KEY_FIELD, [job_row(j) for j in jobs]
        )
    except SalesforceError as error:
        log.warning("Could not write %d QB_Sync_Job__c record(s): %s", len(jobs), error)
        return
    for job, result in zip(jobs, results, strict=True):
        if not result.success:
            log.warning("Salesforce refused QB_Sync_Job__c %s: %s", job.job_key, result.message)


def job_json(job: BackfillJob) -> dict[str, Any]:
    """A job in the /api/backfills answers (docs/operating.md)."""
    counts = job.counts
    return {
        "id": job.job_key,
        "qbObject": job.qb_object,
        "state": job.state,
        "since": _time(job.since),
        "total": job.total,
        "processed": counts.processed,
        "created": counts.created,
        "updated": counts.updated,
        "matched": counts.matched,
        "ambiguous": counts.ambiguous,
        "failed": counts.failed,
        "startedAt": _time(job.started_at),
        "finishedAt": _time(job.finished_at),
        "eta": _time(job.eta),
        "writeMode": job.write_mode,
        "message": job.message,
    }
