"""REST API routes under `/services/data/v<version>/` (research/salesforce.md §1)."""

from __future__ import annotations

import json
import re
import secrets
import time
from collections import OrderedDict

from flask import Blueprint, Response, current_app, g, jsonify, request

from qbsync_sandbox.emulators.salesforce import columns, describe, soql
from qbsync_sandbox.emulators.salesforce.errors import (
    ApiError,
    DmlFailure,
    MultipleMatches,
    RecordError,
    not_found,
)
from qbsync_sandbox.emulators.salesforce.permissions import User
from qbsync_sandbox.emulators.salesforce.schema import ObjectDef
from qbsync_sandbox.emulators.salesforce.values import to_json

LATEST_VERSION = "66.0"
_VERSION = re.compile(r"^(\d{2})\.0$")
MAX_COLLECTION = 200
_ROLLED_BACK = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
)

rest = Blueprint("salesforce_rest", __name__, url_prefix="/services/data")


def state():
    return current_app.extensions["salesforce"]


def user() -> User:
    """The user the request's session runs as (set by the app's session check)."""
    return g.salesforce_user


def readable_object(sobject: str) -> ObjectDef:
    """The object, or NOT_FOUND when it does not exist or the user cannot read it: an object the
    user has no access to does not exist for the REST API."""
    obj = state().org.object(sobject)
    if not user().access.object(obj).read:
        raise not_found()
    return obj


def check_version(version: str) -> None:
    match = _VERSION.match(version)
    if not match or not 20 <= int(match.group(1)) <= int(float(LATEST_VERSION)):
        raise not_found()


def _body(expect: type = dict):
    raw = request.get_data(cache=True)
    if not raw:
        raise ApiError(
            400,
            "JSON_PARSER_ERROR",
            "The HTTP entity body is required, but this request has no entity body.",
        )
    try:
        parsed = json.loads(raw)
    except ValueError as error:
        raise ApiError(
            400, "JSON_PARSER_ERROR", f"Unexpected character in the request body: {error}"
        ) from None
    if not isinstance(parsed, expect):
        kind = "START_ARRAY" if isinstance(parsed, list) else "START_OBJECT"
        raise ApiError(
            400,
            "JSON_PARSER_ERROR",
            f"Cannot deserialize instance of the request from {kind} token",
        )
    return parsed


def _errors(failure: DmlFailure) -> Response:
    return Response(
        json.dumps([e.as_rest_item() for e in failure.errors]), 400, mimetype="application/json"
    )


def _single_lock_fault(record_id: str = "") -> None:
    fault = state().faults.take(request.path, ("lock_row",))
    if fault is not None:
        raise ApiError(
            400,
            "UNABLE_TO_LOCK_ROW",
            f"unable to obtain exclusive access to this record or 1 records: {record_id}".rstrip(
                ": "
            ),
            [],
        )


@rest.get("")  # the guide's own example asks /services/data without a slash: 200, not a redirect
@rest.get("/")
def versions():
    return jsonify(
        [
            {"label": f"v{v}.0", "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
            for v in range(31, int(float(LATEST_VERSION)) + 1)
        ]
    )


@rest.get("/v<version>")  # the CLI's `org display` asks it without a slash: 200, not a redirect
@rest.get("/v<version>/")
def resources(version: str):
    check_version(version)
    base = f"/services/data/v{version}"
    names = ("sobjects", "query", "queryAll", "limits", "composite", "ui-api")
    return jsonify({name: f"{base}/{name}" for name in names})


@rest.get("/v<version>/limits")
def limits(version: str):
    check_version(version)
    org = state().org
    return jsonify(
        {
            "DailyApiRequests": {
                "Max": org.api_limit,
                "Remaining": max(org.api_limit - org.api_usage, 0),
            },
            "DataStorageMB": {"Max": 5, "Remaining": 5},
            "FileStorageMB": {"Max": 20, "Remaining": 20},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
        }
    )


@rest.get("/v<version>/sobjects")
@rest.get("/v<version>/sobjects/")
def describe_global(version: str):
    check_version(version)
    return jsonify(
        {
            "encoding": "UTF-8",
            "maxBatchSize": MAX_COLLECTION,
            "sobjects": [
                {
                    "name": o.name,
                    "label": o.label,
                    "labelPlural": o.plural_label,
                    "keyPrefix": o.key_prefix,
                    "custom": o.custom,
                    "queryable": True,
                    "urls": {"sobject": f"/services/data/v{version}/sobjects/{o.name}"},
                }
                for o in state().org.schema.objects
                if user().access.object(o).read
            ],
        }
    )


@rest.get("/v<version>/sobjects/<sobject>/describe")
def describe_object(version: str, sobject: str):
    check_version(version)
    org = state().org
    return jsonify(describe.describe(org.schema, readable_object(sobject), version, user().access))


@rest.get("/v<version>/sobjects/<sobject>")
@rest.get("/v<version>/sobjects/<sobject>/")
def object_basic_info(version: str, sobject: str):
    check_version(version)
    org = state().org
    full = describe.describe(org.schema, readable_object(sobject), version, user().access)
    basics = {k: v for k, v in full.items() if k not in {"fields", "childRelationships"}}
    return jsonify({"objectDescribe": basics, "recentItems": []})


@rest.post("/v<version>/sobjects/<sobject>")
@rest.post("/v<version>/sobjects/<sobject>/")  # simple-salesforce posts to ".../Account/"
def create(version: str, sobject: str):
    check_version(version)
    org = state().org
    obj = readable_object(sobject)
    body = _body()
    org.check_body(obj, body)
    _single_lock_fault()
    try:
        new_id = org.create(obj.name, body, user())
    except DmlFailure as failure:
        return _errors(failure)
    return jsonify({"id": new_id, "success": True, "errors": []}), 201


def _record_or_404(sobject: str, record_id: str):
    org = state().org
    obj = readable_object(sobject)
    found = org.locate(record_id)
    if found is None or found[0].name != obj.name:
        if org.is_deleted(record_id):
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted", [])
        if found is None and len(record_id) not in (15, 18):
            # not an id: Salesforce reads the segment as an external id field name
            raise ApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {record_id}",
            )
        raise not_found()
    return obj, found[1]


def record_json(obj, record: dict, version: str, fields: list[str] | None = None) -> dict:
    org = state().org
    access = user().access
    values = {
        name: value
        for name, value in org.record_json(obj, record).items()
        if access.readable(obj, obj.field(name))
    }
    if fields:
        values = {
            org.schema.object(obj.name).field(f).name: values[obj.field(f).name] for f in fields
        }
    attributes = {
        "type": obj.name,
        "url": f"/services/data/v{version}/sobjects/{obj.name}/{record['Id']}",
    }
    return {"attributes": attributes} | {k: to_json(v) for k, v in values.items()}


def _requested_fields(obj) -> list[str] | None:
    raw = request.args.get("fields")
    if not raw:
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [
        n for n in names if obj.field(n) is None or not user().access.readable(obj, obj.field(n))
    ]
    if unknown:
        raise ApiError(
            400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {obj.name}"
        )
    return names


@rest.route("/v<version>/sobjects/<sobject>/<record_id>", methods=["GET", "PATCH", "DELETE"])
def record(version: str, sobject: str, record_id: str):
    check_version(version)
    org = state().org
    with org.lock:
        obj, current = _record_or_404(sobject, record_id)
        if request.method == "GET":
            return jsonify(record_json(obj, current, version, _requested_fields(obj)))
        if request.method == "PATCH":
            body = _body()
            org.check_body(obj, body)
            _single_lock_fault(current["Id"])
            try:
                org.update(obj.name, current["Id"], body, user())
            except DmlFailure as failure:
                return _errors(failure)
            return Response(status=204)
        _single_lock_fault(current["Id"])
        try:
            org.delete(current["Id"], user())
        except DmlFailure as failure:
            return _errors(failure)
        return Response(status=204)


@rest.route("/v<version>/sobjects/<sobject>/<field>/<path:value>", methods=["GET", "PATCH"])
def by_external_id(version: str, sobject: str, field: str, value: str):
    check_version(version)
    org = state().org
    obj = readable_object(sobject)
    definition = org.external_id_field(obj, field, user())
    if request.method == "GET":
        with org.lock:
            matches = org.find(obj, definition, value)
            if len(matches) > 1:
                return _multiple(version, obj.name, matches)
            if not matches:
                raise not_found()
            return jsonify(record_json(obj, org.locate(matches[0])[1], version))
    body = _body()
    org.check_body(obj, body)
    _single_lock_fault()
    try:
        record_id, created = org.upsert(obj.name, definition.name, value, body, user())
    except MultipleMatches as multiple:
        return _multiple(version, obj.name, multiple.ids)
    except DmlFailure as failure:
        return _errors(failure)
    if created:
        return jsonify({"id": record_id, "success": True, "errors": [], "created": True}), 201
    if float(version) < 46:
        return Response(status=204)  # before v46.0 an update answered 204 without a body
    return jsonify({"id": record_id, "success": True, "errors": [], "created": False}), 200


def _multiple(version: str, sobject: str, matches: list[str]) -> Response:
    urls = [f"/services/data/v{version}/sobjects/{sobject}/{i}" for i in matches]
    return Response(json.dumps(urls), 300, mimetype="application/json")


# ---------------------------------------------------------------- query


def _batch_size() -> int:
    options = request.headers.get("Sforce-Query-Options", "")
    match = re.search(r"batchSize=(\d+)", options)
    return min(max(int(match.group(1)), 200), 2000) if match else 2000


def _page(version: str, total: int, records: list[dict], batch: int) -> dict:
    body: dict = {"totalSize": total, "done": len(records) <= batch, "records": records[:batch]}
    if len(records) > batch:
        locator = "01g" + secrets.token_hex(8)[:15]
        cursors: OrderedDict = state().cursors
        cursors[locator] = records
        while len(cursors) > 100:
            cursors.popitem(last=False)
        body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{batch}"
    return body


def _run_query(version: str, include_deleted: bool):
    check_version(version)
    text = request.args.get("q", "")
    if request.args.get("columns", "").lower() == "true":
        parsed = soql.parse(text)
        org = state().org
        with org.lock:
            executor = soql.Executor(org, text, version, user().access)
            return jsonify(columns.column_metadata(executor, parsed))
    return jsonify(query_page(version, text, include_deleted))


def query_page(version: str, text: str, include_deleted: bool) -> dict:
    """The first page of a query's answer, as the user of the request (ApiError when refused)."""
    parsed = soql.parse(text)
    org = state().org
    with org.lock:
        executor = soql.Executor(org, text, version, user().access)
        total, records = executor.run(parsed, include_deleted=include_deleted)
    return _page(version, total, records, _batch_size())


@rest.get("/v<version>/query")
@rest.get("/v<version>/query/")
def query(version: str):
    return _run_query(version, include_deleted=False)


@rest.get("/v<version>/queryAll")
@rest.get("/v<version>/queryAll/")
def query_all(version: str):
    return _run_query(version, include_deleted=True)


@rest.get("/v<version>/query/<cursor>")
@rest.get("/v<version>/queryAll/<cursor>")
def query_more(version: str, cursor: str):
    check_version(version)
    return jsonify(more_page(version, cursor))


def more_page(version: str, cursor: str) -> dict:
    """The page of a query's answer a `nextRecordsUrl` names (ApiError when it names none)."""
    locator, _, offset = cursor.rpartition("-")
    records = state().cursors.get(locator)
    if records is None or not offset.isdigit():
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    start, batch = int(offset), _batch_size()
    body: dict = {
        "totalSize": len(records),
        "done": start + batch >= len(records),
        "records": records[start : start + batch],
    }
    if not body["done"]:
        body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{start + batch}"
    return body


# ---------------------------------------------------------------- sObject Collections


def _collection_body() -> tuple[list[dict], bool]:
    body = _body()
    records = body.get("records")
    if not isinstance(records, list) or not records:
        raise ApiError(400, "INVALID_FIELD", "No records provided in the request body", [])
    if len(records) > MAX_COLLECTION:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
            [],
        )
    if not all(isinstance(r, dict) for r in records):
        raise ApiError(400, "JSON_PARSER_ERROR", "Each record must be a JSON object")
    return records, bool(body.get("allOrNone", False))


def _record_type(record: dict, default: str | None = None):
    org = state().org
    name = (record.get("attributes") or {}).get("type") or default
    if not name:
        raise ApiError(
            400,
            "INVALID_TYPE",
            "When creating or updating records, the sObject type must be specified in attributes",
            [],
        )
    obj = org.schema.object(name)
    if obj is None or not user().access.object(obj).read:
        raise ApiError(400, "INVALID_TYPE", f"sObject type '{name}' is not supported.", [])
    return obj


def _run_collection(items: list, operation, all_or_none: bool, with_created: bool) -> Response:
    """Apply `operation(item) -> (id, created)` per item; answers 200 with per-record results in order."""
    org = state().org
    faults = state().faults
    with org.lock:
        savepoint = org.savepoint() if all_or_none else None
        results = []
        for item in items:
            result: dict = {"id": None, "success": False, "errors": []}
            if faults.take(request.path, ("lock_row",)) is not None:
                result["errors"] = [
                    RecordError(
                        "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
                    ).as_collection_item()
                ]
            else:
                try:
                    result["id"], created = operation(item)
                    result["success"] = True
                    if with_created:
                        result["created"] = created
                except DmlFailure as failure:
                    result["errors"] = [e.as_collection_item() for e in failure.errors]
                except _ItemFailure as failure:
                    result["id"] = failure.record_id
                    result["errors"] = [e.as_collection_item() for e in failure.errors]
            if with_created and not result["success"]:
                result["created"] = False
            results.append(result)
        if all_or_none and any(not r["success"] for r in results):
            org.rollback(savepoint)
            for result in results:
                if result["success"]:
                    result.update(
                        id=None, success=False, errors=[_ROLLED_BACK.as_collection_item()]
                    )
                    if with_created:
                        result["created"] = False
    return Response(json.dumps(results), 200, mimetype="application/json")


def _without_id(body: dict) -> dict:
    return {k: v for k, v in body.items() if k.lower() != "id"}


class _ItemFailure(Exception):
    """One record of a collection failed; `record_id` is reported with its errors."""

    def __init__(
        self, errors: RecordError | list[RecordError], record_id: str | None = None
    ) -> None:
        self.errors = errors if isinstance(errors, list) else [errors]
        super().__init__(self.errors[0].message)
        self.record_id = record_id


@rest.route("/v<version>/composite/sobjects", methods=["POST", "PATCH", "DELETE"])
def collections(version: str):
    check_version(version)
    org = state().org
    if request.method == "DELETE":
        raw_ids = [i for i in request.args.get("ids", "").split(",") if i]
        if not raw_ids:
            raise ApiError(400, "MISSING_ARGUMENT", "ids parameter is required", [])
        if len(raw_ids) > MAX_COLLECTION:
            raise ApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
                [],
            )

        def delete(record_id: str):
            try:
                org.delete(record_id, user())
            except DmlFailure as failure:
                raise _ItemFailure(failure.errors, record_id) from None
            return record_id, False

        all_or_none = request.args.get("allOrNone", "false").lower() == "true"
        return _run_collection(raw_ids, delete, all_or_none, with_created=False)
    records, all_or_none = _collection_body()
    typed = [(_record_type(r), r) for r in records]
    for obj, body in typed:
        org.check_body(obj, _without_id(body) if request.method == "PATCH" else body)
    if request.method == "POST":
        return _run_collection(
            typed,
            lambda item: (org.create(item[0].name, item[1], user()), True),
            all_or_none,
            False,
        )

    def update(item):
        obj, body = item
        # Field names are case-insensitive: the guide's own update example writes "id".
        record_id = next((v for k, v in body.items() if k.lower() == "id"), None)
        if not record_id:
            raise _ItemFailure(
                RecordError("MISSING_ARGUMENT", "Id not specified in an update call")
            )
        try:
            org.update(obj.name, record_id, _without_id(body), user())
        except DmlFailure as failure:
            raise _ItemFailure(failure.errors, record_id) from None
        return record_id, False

    return _run_collection(typed, update, all_or_none, with_created=False)


@rest.patch("/v<version>/composite/sobjects/<sobject>/<field>")
def collections_upsert(version: str, sobject: str, field: str):
    check_version(version)
    org = state().org
    obj = readable_object(sobject)
    definition = org.external_id_field(obj, field, user())
    records, all_or_none = _collection_body()
    for record in records:
        if _record_type(record, obj.name).name != obj.name:
            raise ApiError(
                400, "INVALID_TYPE", "All records must be of the sObject type in the URL", []
            )
        org.check_body(obj, record)
    keys = [
        next((v for k, v in r.items() if k.lower() == definition.name.lower()), None)
        for r in records
    ]
    seen: dict = {}
    for key in keys:
        if key is not None:
            normalized = (
                key.lower() if isinstance(key, str) and not definition.case_sensitive else key
            )
            seen[normalized] = seen.get(normalized, 0) + 1

    def upsert(index_record):
        index, record = index_record
        key = keys[index]
        if key in (None, ""):
            raise _ItemFailure(RecordError("MISSING_ARGUMENT", f"{definition.name} not specified"))
        normalized = key.lower() if isinstance(key, str) and not definition.case_sensitive else key
        if seen[normalized] > 1:
            raise _ItemFailure(
                RecordError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"Duplicate external id specified: {key}",
                    [definition.name],
                )
            )
        try:
            return org.upsert(obj.name, definition.name, key, record, user())
        except MultipleMatches as multiple:
            raise _ItemFailure(
                RecordError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"More than one record found for external id field: {multiple.ids}",
                    [definition.name],
                )
            ) from None

    return _run_collection(list(enumerate(records)), upsert, all_or_none, with_created=True)


# ---------------------------------------------------------------- UI API (for the LWC preview)


@rest.get("/v<version>/ui-api/object-info/<sobject>")
def ui_object_info(version: str, sobject: str):
    check_version(version)
    org = state().org
    return jsonify(describe.object_info(org.schema, readable_object(sobject), user().access))


@rest.get("/v<version>/ui-api/object-info/<sobject>/picklist-values/<record_type>/<field>")
def ui_picklist_values(version: str, sobject: str, record_type: str, field: str):
    check_version(version)
    obj = readable_object(sobject)
    definition = obj.field(field)
    if (
        definition is None
        or definition.type not in {"Picklist", "MultiselectPicklist"}
        or not user().access.readable(obj, definition)
    ):
        raise not_found()
    return jsonify(describe.picklist_values(definition))


def apply_request_faults() -> None:
    """Latency/timeout, then refusals, before a REST request is handled."""
    faults = state().faults
    delay = faults.take(request.path, ("latency", "timeout"))
    if delay is not None:
        time.sleep(delay.seconds)
    if faults.take(request.path, ("invalid_session",)) is not None:
        raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
    if faults.take(request.path, ("request_limit",)) is not None:
        raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
