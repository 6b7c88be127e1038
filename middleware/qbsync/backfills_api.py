"""Historical sync jobs as QB Setup (through QBMiddlewareClient) and scripts drive them:

- `POST /api/backfills` `{"realmId", "objects": [...], "since": "2026-01-01" | omitted}` → 202
  with the queued jobs in the order they run;
- `GET /api/backfills?realmId=R` → the realm's jobs, newest first;
- `POST /api/backfills/<job key>/cancel` → the job Cancelled (it stops before its next page).

The same API key as the other /api routes (qbsync.api_guard). docs/operating.md has the answers.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request

from qbsync.api_guard import require_api_key
from qbsync.backfill_requests import (
    BadRequest,
    ConfigUnavailable,
    UnknownRealm,
    cancel_backfill,
    start_backfills,
)
from qbsync.job_record import job_json
from qbsync.services import current_services
from qbsync.store.backfills import JobConflict, JobFinished, JobNotFound

blueprint = Blueprint("backfills", __name__)

MAX_JOBS_LISTED = 100


@blueprint.post("/api/backfills")
@require_api_key
def start():
    """Queue a historical sync of each object; 400 bad request, 404 unknown realm, 409 a job
    of one of the objects is Queued or Running already, 502 Salesforce unreachable."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, 'the body must be a JSON object: {"realmId": "...", "objects": ["Customer"]}')
    try:
        jobs = start_backfills(
            current_services(), body.get("realmId"), body.get("objects"), body.get("since")
        )
    except BadRequest as error:
        abort(400, str(error))
    except UnknownRealm as error:
        abort(404, str(error))
    except JobConflict as error:
        return jsonify(error=str(error), status=409, id=error.job.job_key), 409
    except ConfigUnavailable as error:
        abort(502, str(error))
    jobs_json = [{"id": j.job_key, "qbObject": j.qb_object, "state": j.state} for j in jobs]
    return jsonify(jobs=jobs_json), 202


@blueprint.get("/api/backfills")
@require_api_key
def list_jobs():
    """The realm's jobs, newest first (at most 100)."""
    realm_id = request.args.get("realmId", "").strip()
    if not realm_id:
        abort(400, "realmId is required: GET /api/backfills?realmId=<realm id>")
    jobs = current_services().store.backfills.jobs(realm_id, limit=MAX_JOBS_LISTED)
    return jsonify(jobs=[job_json(job) for job in jobs])


@blueprint.post("/api/backfills/<job_key>/cancel")
@require_api_key
def cancel(job_key: str):
    """Cancel a Queued or Running job; 404 unknown, 409 finished already."""
    try:
        job = cancel_backfill(current_services(), job_key)
    except JobNotFound:
        abort(404, f"no historical sync job {job_key!r}")
    except JobFinished as error:
        return jsonify(error=str(error), status=409, state=error.job.state), 409
    return jsonify(id=job.job_key, state=job.state)
