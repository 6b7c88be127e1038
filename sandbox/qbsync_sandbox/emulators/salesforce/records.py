"""Reading records by id in bulk and by change time (REST API Developer Guide).

- sObject Collections retrieve: `GET /composite/sobjects/<Obj>?ids=…&fields=…` and the same with a
  `{"ids": [...], "fields": [...]}` body by POST (resources_composite_sobjects_collections_retrieve,
  …_retrieve_post): one entry per id, in order, null for an id that is invalid or not found; an
  invalid field answers 400. jsforce's `retrieve(type, [ids])` uses the POST form.
- sObject Get Updated / Get Deleted: `GET /sobjects/<Obj>/updated?start=…&end=…` answers
  `{"ids": [...], "latestDateCovered": …}` (resources_getupdated, dome_get_updated); `/deleted`
  answers `{"deletedRecords": [{"id", "deletedDate"}], "earliestDateAvailable", "latestDateCovered"}`
  (resources_getdeleted). Records count by SystemModstamp; the seconds of start and end are ignored.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, jsonify, request

from qbsync_sandbox.emulators.salesforce.errors import ApiError
from qbsync_sandbox.emulators.salesforce.rest import (
    check_version,
    readable_object,
    record_json,
    state,
    user,
)
from qbsync_sandbox.emulators.salesforce.values import parse_datetime, to_json

MAX_RETRIEVE = 2000  # "The request retrieves up to 2,000 records" (…_retrieve_post)
REPLICATION_DAYS = 30  # "Results are returned for no more than 30 days previous" (getupdated)

records = Blueprint("salesforce_records", __name__, url_prefix="/services/data")


def _list(raw) -> list[str]:
    if isinstance(raw, str):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
        return raw
    return []


@records.route("/v<version>/composite/sobjects/<sobject>", methods=["GET", "POST"])
def retrieve(version: str, sobject: str):
    check_version(version)
    org = state().org
    obj = readable_object(sobject)
    if request.method == "POST":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        wanted_ids, fields = _list(body.get("ids")), _list(body.get("fields"))
    else:
        wanted_ids, fields = _list(request.args.get("ids")), _list(request.args.get("fields"))
    # Both parameters are "Required" in the guide; UNCONFIRMED wording of the refusal.
    if not wanted_ids:
        raise ApiError(400, "MISSING_ARGUMENT", "ids parameter is required", [])
    if not fields:
        raise ApiError(400, "MISSING_ARGUMENT", "fields parameter is required", [])
    if len(wanted_ids) > MAX_RETRIEVE:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RETRIEVE} records into this call",
            [],
        )
    unknown = [
        name
        for name in fields
        if obj.field(name) is None or not user().access.readable(obj, obj.field(name))
    ]
    if unknown:
        raise ApiError(
            400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {obj.name}"
        )
    answers = []
    with org.lock:
        for record_id in wanted_ids:
            found = org.locate(record_id)
            if found is None or found[0].name != obj.name:
                answers.append(None)
            else:
                answers.append(record_json(obj, found[1], version, fields))
    return jsonify(answers)


def _window() -> tuple[datetime, datetime]:
    """start/end, seconds dropped. The refusals' codes are the platform's (INVALID_REPLICATION_DATE
    is in the StatusCode enum of partner.wsdl); their wording is UNCONFIRMED."""
    bounds = []
    for name in ("start", "end"):
        raw = request.args.get(name)
        if not raw:
            raise ApiError(400, "MISSING_ARGUMENT", f"{name} parameter is required", [])
        try:
            moment = parse_datetime(raw)
        except ValueError:
            raise ApiError(
                400, "INVALID_REPLICATION_DATE", f"{name} must be an ISO 8601 date and time"
            ) from None
        bounds.append(moment.replace(second=0, microsecond=0))
    start, end = bounds
    now = state().org.clock()
    if start > end:
        raise ApiError(400, "INVALID_REPLICATION_DATE", "start date cannot be after end date")
    if start < now - timedelta(days=REPLICATION_DAYS):
        raise ApiError(400, "INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago")
    return start, end


def _covered(end: datetime) -> datetime:
    """latestDateCovered is at most `end` and never in the future (GetUpdatedResult)."""
    return min(end, state().org.clock().replace(second=0, microsecond=0))


@records.get("/v<version>/sobjects/<sobject>/updated")
@records.get("/v<version>/sobjects/<sobject>/updated/")
def updated(version: str, sobject: str):
    check_version(version)
    org = state().org
    obj = readable_object(sobject)
    start, end = _window()
    with org.lock:
        changed = [row["Id"] for row in org.rows(obj.name) if start <= row["SystemModstamp"] < end]
    return jsonify({"ids": changed, "latestDateCovered": to_json(_covered(end))})


@records.get("/v<version>/sobjects/<sobject>/deleted")
@records.get("/v<version>/sobjects/<sobject>/deleted/")
def deleted(version: str, sobject: str):
    check_version(version)
    org = state().org
    obj = readable_object(sobject)
    start, end = _window()
    with org.lock:
        gone = [
            {"id": row["Id"], "deletedDate": to_json(row["SystemModstamp"])}
            for row in org.rows(obj.name, include_deleted=True)
            if row.get("IsDeleted") and start <= row["SystemModstamp"] < end
        ]
    return jsonify(
        {
            "deletedRecords": gone,
            "earliestDateAvailable": to_json(org.clock() - timedelta(days=REPLICATION_DAYS)),
            "latestDateCovered": to_json(_covered(end)),
        }
    )
