"""Admin/test API (`/_admin/…`) and the read-only records page (`/records`).

Unauthenticated on purpose: the emulator binds to 127.0.0.1 and holds only sandbox data.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request

from qbsync_sandbox.emulators.salesforce.errors import ApiError, DmlFailure
from qbsync_sandbox.emulators.salesforce.faults import FaultSpecError
from qbsync_sandbox.emulators.salesforce.values import to_json

admin = Blueprint("salesforce_admin", __name__)


def _state():
    return current_app.extensions["salesforce"]


def _bad_request(message: str):
    return jsonify({"error": message}), 400


@admin.get("/_admin/faults")
def list_faults():
    faults = _state().faults
    return jsonify({"active": [f.as_json() for f in faults.active()], "triggered": faults.history})


@admin.post("/_admin/faults")
def add_fault():
    spec = request.get_json(silent=True)
    if not isinstance(spec, dict):
        return _bad_request('send a JSON object, e.g. {"kind": "lock_row", "count": 1}')
    if spec.get("kind") == "expire_sessions":
        expired = _state().authority.expire_all()
        faults = _state().faults
        faults.history["expire_sessions"] = faults.history.get("expire_sessions", 0) + 1
        return jsonify({"kind": "expire_sessions", "expired": expired})
    try:
        fault = _state().faults.add(spec)
    except FaultSpecError as error:
        return _bad_request(str(error))
    return jsonify(fault.as_json()), 201


@admin.delete("/_admin/faults")
def clear_faults():
    _state().faults.clear()
    return "", 204


@admin.get("/_admin/bulk")
def bulk_hold():
    """Whether closed Bulk API ingest jobs are held `InProgress`, and the ids of those held."""
    jobs = _state().ingest_jobs
    with jobs.lock:
        return jsonify({"hold": jobs.hold, "held": [job.id for job in jobs.held]})


@admin.put("/_admin/bulk")
def set_bulk_hold():
    """`{"hold": true}` keeps the ingest jobs closed from now on `InProgress`; `{"hold": false}`
    processes the held ones (they read JobComplete or Failed after this answer)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("hold"), bool):
        return _bad_request('send {"hold": true} or {"hold": false}')
    _state().ingest_jobs.set_hold(body["hold"])
    return bulk_hold()


@admin.post("/_admin/session")
def issue_session():
    """A session without a login, for local tools: the integration user's, or `?username=`'s."""
    org = _state().org
    user = org.user(request.args.get("username") or org.username)
    if user is None:
        return _bad_request(f"no user {request.args.get('username')!r} in this org")
    return jsonify(
        _state().authority.issue_for_tests(request.host_url.rstrip("/"), user.id, user.username)
    )


@admin.get("/_admin/usage")
def usage():
    org = _state().org
    return jsonify({"used": org.api_usage, "max": org.api_limit})


@admin.put("/_admin/usage")
def set_usage():
    body = request.get_json(silent=True) or {}
    org = _state().org
    used, limit = body.get("used", org.api_usage), body.get("max", org.api_limit)
    if not all(isinstance(v, int) and v >= 0 for v in (used, limit)):
        return _bad_request("used and max must be non-negative integers")
    with org.lock:
        org.api_usage, org.api_limit = used, limit
    return jsonify({"used": org.api_usage, "max": org.api_limit})


@admin.get("/_admin/notifications")
def sent_notifications():
    """The custom notifications the org sent (Send Custom Notification action), oldest first."""
    org = _state().org
    with org.lock:
        return jsonify({"totalSize": len(org.notifications), "records": list(org.notifications)})


@admin.get("/_admin/emails")
def sent_emails():
    """The emails the org sent (Send Email action), oldest first."""
    org = _state().org
    with org.lock:
        return jsonify({"totalSize": len(org.emails), "records": list(org.emails)})


@admin.get("/_admin/records/<sobject>")
def read_records(sobject: str):
    org = _state().org
    with org.lock:
        obj = org.object(sobject)
        rows = org.rows(obj.name, include_deleted=request.args.get("deleted") == "1")
        records = [{k: to_json(v) for k, v in org.record_json(obj, r).items()} for r in rows]
    return jsonify({"totalSize": len(records), "records": records})


@admin.get("/_admin/records/<sobject>/<record_id>")
def read_record(sobject: str, record_id: str):
    org = _state().org
    with org.lock:
        obj = org.object(sobject)
        found = org.locate(record_id)
        if found is None or found[0].name != obj.name:
            return jsonify({"error": f"no {obj.name} with id {record_id}"}), 404
        return jsonify({k: to_json(v) for k, v in org.record_json(obj, found[1]).items()})


@admin.post("/_admin/records/<sobject>")
def seed_records(sobject: str):
    """Create one record (object body) or several (array); validated like the API, all or none."""
    body = request.get_json(silent=True)
    items = body if isinstance(body, list) else [body]
    if not items or not all(isinstance(i, dict) for i in items):
        return _bad_request("send a JSON object or an array of objects")
    org = _state().org
    with org.lock:
        savepoint = org.savepoint()
        created = []
        for index, item in enumerate(items):
            try:
                created.append(org.create(sobject, item))
            except DmlFailure as failure:
                org.rollback(savepoint)
                errors = [e.as_rest_item() for e in failure.errors]
                return jsonify({"index": index, "errors": errors}), 400
    return jsonify({"ids": created}), 201


@admin.patch("/_admin/records/<sobject>/<record_id>")
def update_record(sobject: str, record_id: str):
    """Update one record in system mode (no user's permissions apply), validated like the API: what
    Apex running `AccessLevel.SYSTEM_MODE` writes, for the preview's twin of the Apex."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _bad_request("send a JSON object of field values")
    org = _state().org
    try:
        org.update(sobject, record_id, body)
    except DmlFailure as failure:
        return jsonify({"errors": [e.as_rest_item() for e in failure.errors]}), 400
    return "", 204


@admin.delete("/_admin/records")
def reset_records():
    _state().org.reset()
    return "", 204


@admin.post("/_admin/query")
def admin_query():
    body = request.get_json(silent=True) or {}
    text = body.get("q", "")
    org = _state().org
    total, records = org.query(text, include_deleted=bool(body.get("all")))
    return jsonify({"totalSize": total, "done": True, "records": records})


@admin.post("/_admin/commit-times")
def commit_times():
    """`{"ids": [...]}` → when each record's last write was committed, in epoch seconds with
    sub-millisecond precision (null: never written): the benchmarks time a change to this
    moment, which the REST API does not show (its SystemModstamp has milliseconds and is
    stamped when the record is written, before the commit)."""
    body = request.get_json(silent=True)
    record_ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(record_ids, list) or not all(isinstance(i, str) for i in record_ids):
        return _bad_request('body must be {"ids": [record id, ...]}')
    return jsonify({"commitTimes": _state().org.commit_times(record_ids)})


@admin.errorhandler(ApiError)
def admin_api_error(error: ApiError):
    return jsonify({"error": error.message, "errorCode": error.error_code}), error.status


@admin.get("/records")
def records_index():
    org = _state().org
    with org.lock:
        counts = [(o.name, o.label, len(org.rows(o.name))) for o in org.schema.objects]
    return render_template("records.html", objects=counts, current=None, columns=[], rows=[])


@admin.get("/records/<sobject>")
def records_page(sobject: str):
    org = _state().org
    with org.lock:
        obj = org.schema.object(sobject)
        if obj is None:
            return render_template("records.html", objects=[], current=None, missing=sobject), 404
        counts = [(o.name, o.label, len(org.rows(o.name))) for o in org.schema.objects]
        system = {"IsDeleted", "SystemModstamp", "CreatedById", "LastModifiedById", "OwnerId"}
        columns = [f.name for f in obj.fields.values() if f.name not in system]
        rows = sorted(org.rows(obj.name), key=lambda r: r["CreatedDate"], reverse=True)
        values = [[to_json(org.record_json(obj, r).get(c)) for c in columns] for r in rows]
    return render_template(
        "records.html", objects=counts, current=obj, columns=columns, rows=values
    )
