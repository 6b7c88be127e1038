"""The Accounting API subset under /v3/company/<realmId>: read, query, CDC, CompanyInfo, writes.

Shapes from research §3–§4: reads answer `{"<Entity>": {...}, "time": ...}`, queries
`{"QueryResponse": {"<Entity>": [...], "startPosition": 1, "maxResults": N}, "time": ...}`, CDC
`{"CDCResponse": [{"QueryResponse": [{...}, ...]}], "time": ...}`, failures a Fault body.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, g, jsonify, make_response, request

from qbsync_sandbox.emulators.quickbooks import entities, errors, properties
from qbsync_sandbox.emulators.quickbooks.clock import intuit_time, parse_time
from qbsync_sandbox.emulators.quickbooks.emulator import emulator
from qbsync_sandbox.emulators.quickbooks.faultpoints import injected_failure
from qbsync_sandbox.emulators.quickbooks.preferences import company_preferences
from qbsync_sandbox.emulators.quickbooks.query import (
    check_properties,
    parse_query,
    project,
    run_query,
)
from qbsync_sandbox.emulators.quickbooks.tokens import InvalidAccessToken

blueprint = Blueprint("qbo_accounting", __name__, url_prefix="/v3/company/<realm_id>")

CDC_LOOKBACK = timedelta(days=30)  # "within the past 30 days"
CDC_MAX_OBJECTS = 1000  # "Server responses can handle a maximum of 1,000 objects"
# Minor versions 1–74 are ignored since 1 Aug 2025; requests use 75 (research §4).
MINIMUM_MINOR_VERSION = 75


@blueprint.errorhandler(errors.QboFault)
def _fault(fault: errors.QboFault) -> tuple[Response, int]:
    return _with_tid(jsonify(fault.body(emulator().state.now()))), fault.status


@blueprint.errorhandler(errors.AdminError)
def _bad_request(error: errors.AdminError) -> tuple[Response, int]:
    return _fault(errors.invalid_request(error.message))


def endpoint(family: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Fault injection, bearer token, realm, rate limits, `Accept` and minorversion checks, then
    the view."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(realm_id: str, **kwargs: Any) -> Any:
            failure = injected_failure(family)
            if failure is not None:
                return _with_tid(failure)
            emu = emulator()
            header = request.headers.get("Authorization", "")
            token = header[7:].strip() if header.lower().startswith("bearer ") else ""
            try:
                token_realm = emu.tokens.realm_of(token)
            except InvalidAccessToken as error:
                response = jsonify(errors.authentication_failed_body(str(error), emu.state.now()))
                response.headers["WWW-Authenticate"] = (
                    'Bearer realm="Intuit", error="invalid_token"'
                )
                return _with_tid(response), 401
            if token_realm != realm_id or not emu.state.has_company(realm_id):
                raise errors.forbidden_realm(realm_id)
            if not emu.limits.admit(realm_id):
                raise errors.throttled()  # Intuit's per-realm limits (throttle.py)
            # QuickBooks answers XML unless asked for JSON; a client that forgets would break.
            if "application/json" not in request.headers.get("Accept", ""):
                raise errors.QboFault(
                    406, "2010", "Unsupported Accept header", "send Accept: application/json"
                )
            g.minor_version = _minor_version(request.args.get("minorversion"))
            request_id = request.args.get("requestid")
            if not request_id:
                return view(realm_id, **kwargs)
            first = emu.replay.first(realm_id, request_id)
            if first is not None:
                return _with_tid(jsonify(first[1])), first[0]
            try:
                response = make_response(view(realm_id, **kwargs))
            except errors.QboFault as fault:
                response = make_response(_fault(fault))
            emu.replay.remember(realm_id, request_id, response.status_code, response.get_json())
            return response

        return wrapper

    return decorate


@blueprint.get("/companyinfo/<company_id>")
@endpoint("companyinfo")
def company_info(realm_id: str, company_id: str) -> Response:
    if company_id != realm_id:
        raise errors.object_not_found("CompanyInfo", company_id)
    return _ok({"CompanyInfo": emulator().state.get(realm_id, "CompanyInfo", "1")})


@blueprint.route("/query", methods=["GET", "POST"])
@endpoint("query")
def query(realm_id: str) -> Response:
    """`?query=` on GET; the statement as the body with `Content-Type: application/text` on POST."""
    if request.method == "POST":
        content_type = request.mimetype
        if content_type not in ("application/text", "text/plain"):
            raise errors.QboFault(
                415,
                "2010",
                "Unsupported Media Type",
                f"Content-Type {content_type!r}: send application/text",
            )
        statement = request.get_data(as_text=True)
    else:
        statement = request.args.get("query", "")
    return _ok(_query_response(realm_id, statement))


def _query_response(realm_id: str, statement: str) -> dict[str, Any]:
    """The `QueryResponse` of a statement (also one item of a batch)."""
    parsed = parse_query(statement)
    entity = entities.canonical_entity(parsed.entity)
    if entity is None:
        raise errors.query_validation_error(f"{parsed.entity} is not a valid entity")
    for field_name in entities.UNFILTERABLE.get(entity, ()):
        if parsed.filters_on(field_name):
            # The Fault QuickBooks gives for a property it cannot filter on (wording UNCONFIRMED).
            raise errors.query_validation_error(
                f"property '{field_name}' is not queryable for {entity}"
            )
    rules = properties.of(entity)
    check_properties(parsed, rules)
    active_only = entity in entities.NAME_LIST and not parsed.filters_on("Active")

    def choose(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
        if active_only:
            # "SELECT * FROM Customer" returns the active customers only (Intuit blog, 2017-02-08).
            records = [record for record in records if record.get("Active") is not False]
        return run_query(parsed, records)

    page, total = emulator().state.select(realm_id, entity, choose)
    if parsed.count:
        return {"QueryResponse": {"totalCount": total}}
    if not page:
        return {"QueryResponse": {}}
    return {
        "QueryResponse": {
            entity: [project(parsed, rules, record) for record in page],
            "startPosition": parsed.start_position,
            "maxResults": len(page),
        }
    }


@blueprint.get("/cdc")
@endpoint("cdc")
def cdc(realm_id: str) -> Response:
    state = emulator().state
    names = [name.strip() for name in request.args.get("entities", "").split(",") if name.strip()]
    if not names:
        raise errors.invalid_request(
            "entities is required, e.g. entities=Customer,Vendor", "entities"
        )
    wanted = []
    for name in names:
        entity = entities.canonical_entity(name)
        if entity is None or entity in entities.NOT_IN_CDC:
            raise errors.invalid_request(
                f"{name} is not supported by ChangeDataCapture", "entities"
            )
        wanted.append(entity)
    raw_since = request.args.get("changedSince", "")
    try:
        since = parse_time(raw_since)
    except ValueError:
        raise errors.invalid_request(
            f"changedSince {raw_since!r} is not an ISO 8601 date-time", "changedSince"
        ) from None
    if since < state.now() - CDC_LOOKBACK:
        # The documented 30-day look-back; Intuit's exact Fault for it is UNCONFIRMED.
        raise errors.invalid_request("changedSince must be within the last 30 days", "changedSince")
    changed = [
        (moment, entity, record)
        for entity in wanted
        for moment, record in state.changed_since(realm_id, entity, since)
    ]
    kept = _truncated(sorted(changed, key=lambda item: item[0]))
    responses = []
    for entity in wanted:
        found = [record for _, kind, record in kept if kind == entity]
        responses.append(
            {entity: found, "startPosition": 1, "maxResults": len(found)} if found else {}
        )
    return _ok({"CDCResponse": [{"QueryResponse": responses}]})


def _truncated(changed: list[tuple[Any, str, dict]]) -> list[tuple[Any, str, dict]]:
    """At most 1,000 changes, oldest first; which ones is the emulator's CDC setting."""
    if len(changed) <= CDC_MAX_OBJECTS:
        return changed
    settings = emulator().cdc
    if settings.truncation == "newest":
        return changed[-CDC_MAX_OBJECTS:]
    if settings.truncation == "random":
        chosen = set(settings.rng.sample(range(len(changed)), CDC_MAX_OBJECTS))
        return [item for index, item in enumerate(changed) if index in chosen]
    return changed[:CDC_MAX_OBJECTS]


@blueprint.get("/<entity_path>/<entity_id>")
@endpoint("read")
def read(realm_id: str, entity_path: str, entity_id: str) -> Response:
    entity = _resource_entity(entity_path)
    return _ok({entity: emulator().state.get(realm_id, entity, entity_id)})


@blueprint.post("/<entity_path>")
@endpoint("write")
def write(realm_id: str, entity_path: str) -> Response:
    """Create, update (`Id` + `SyncToken` in the body; `sparse`), delete (`?operation=delete`)
    or void (`?operation=void`, transactions only)."""
    entity = _resource_entity(entity_path)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise errors.QboFault(
            400, "2010", "Request has invalid or unsupported property", "body must be a JSON object"
        )
    operation = request.args.get("operation", "")
    if operation not in ("", "update", "create", "delete", "void"):
        raise errors.unsupported_operation(request.path)
    return _ok({entity: _write(realm_id, entity, body, operation)})


@blueprint.get("/preferences")
@endpoint("read")
def preferences(realm_id: str) -> Response:
    """The company's settings (python-quickbooks `Preferences.get`)."""
    state = emulator().state
    info = state.get(realm_id, "CompanyInfo", "1")
    return _ok({"Preferences": company_preferences(info["MetaData"])})


# "Recommended max 30 payloads per batch" (limits-and-throttles page, research §4); past it
# QuickBooks answers code 1040 "Batch size exceeds allowed limit" (Intuit's error-code list).
BATCH_LIMIT = 30
_BATCH_OPERATIONS = {"create": "", "update": "update", "delete": "delete"}


@blueprint.post("/batch")
@endpoint("write")
def batch(realm_id: str) -> Response:
    """`{"BatchItemRequest": [{"bId", "operation", "<Entity>": {...}} | {"bId", "Query"}]}`.

    Each item succeeds or fails on its own; a failed one carries its Fault (python-quickbooks
    `BatchManager`, `objects/batchrequest.py`).
    """
    body = request.get_json(silent=True)
    items = body.get("BatchItemRequest") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise errors.invalid_request(
            "BatchItemRequest must be a non-empty list", "BatchItemRequest"
        )
    if len(items) > BATCH_LIMIT:
        raise errors.QboFault(
            400,
            "1040",
            "Batch size exceeds allowed limit",
            f"The batch limit size is {BATCH_LIMIT}; the request has {len(items)} items",
        )
    return _ok({"BatchItemResponse": [_batch_item(realm_id, item) for item in items]})


def _batch_item(realm_id: str, item: Any) -> dict[str, Any]:
    bid = str(item.get("bId", "")) if isinstance(item, dict) else ""
    try:
        if not isinstance(item, dict) or not bid:
            raise errors.invalid_request("every batch item needs a bId", "bId")
        if "Query" in item:
            return {"bId": bid, **_query_response(realm_id, str(item["Query"]))}
        operation = item.get("operation")
        payload = [(key, value) for key, value in item.items() if key not in ("bId", "operation")]
        if operation not in _BATCH_OPERATIONS or len(payload) != 1:
            raise errors.invalid_request(
                "a batch item has an operation (create, update, delete) and one entity", "operation"
            )
        name, record = payload[0]
        entity = entities.canonical_entity(name)
        if entity is None or entity == "CompanyInfo" or not isinstance(record, dict):
            raise errors.unsupported_operation(f"batch item {name}")
        return {"bId": bid, entity: _write(realm_id, entity, record, _BATCH_OPERATIONS[operation])}
    except errors.QboFault as fault:
        body = fault.body(emulator().state.now())
        return {"bId": bid, "Fault": body["Fault"]}


def _write(realm_id: str, entity: str, body: dict[str, Any], operation: str) -> dict[str, Any]:
    """Create, update (`Id` + `SyncToken`; `sparse`), delete or void one record; returns it."""
    state = emulator().state
    if operation == "void":
        _require_update_keys(body)
        return state.void(realm_id, entity, str(body["Id"]), body)
    if operation == "delete":
        if entity in entities.NAME_LIST:
            raise errors.operation_not_supported("Delete", entity, "set Active to false")
        _require_update_keys(body)
        return state.delete(realm_id, entity, str(body["Id"]), body)
    if "Id" in body:
        _require_update_keys(body)
        sparse = body.get("sparse") is True
        return state.update(realm_id, entity, str(body["Id"]), body, sparse=sparse)
    return state.create(realm_id, entity, body)


@blueprint.post("/<entity_path>/<entity_id>/send")
@endpoint("write")
def send(realm_id: str, entity_path: str, entity_id: str) -> Response:
    """Email a form: to `sendTo`, else to its BillEmail (Intuit's "send" operations)."""
    entity = _resource_entity(entity_path)
    address = request.args.get("sendTo") or None
    return _ok({entity: emulator().state.send(realm_id, entity, entity_id, address)})


@blueprint.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(realm_id: str, rest: str) -> Response:
    raise errors.unsupported_operation(request.path)


def _require_update_keys(body: dict[str, Any]) -> None:
    for key in ("Id", "SyncToken"):
        if key not in body:
            raise errors.required_param_missing(key)


def _resource_entity(segment: str) -> str:
    # Resource segments are lower case (`customer`, `invoice`), as python-quickbooks sends them.
    entity = entities.canonical_entity(segment)
    if entity is None or segment != segment.lower() or entity == "CompanyInfo":
        raise errors.unsupported_operation(request.path)
    return entity


def _minor_version(raw: str | None) -> int:
    if raw is None:
        return MINIMUM_MINOR_VERSION
    if not raw.isdigit() or int(raw) < 1:
        raise errors.invalid_request(
            f"minorversion must be a positive integer, got {raw!r}", "minorversion"
        )
    return max(int(raw), MINIMUM_MINOR_VERSION)


def _ok(payload: dict[str, Any]) -> Response:
    payload["time"] = intuit_time(emulator().state.now())
    return _with_tid(jsonify(payload))


def _with_tid(response: Response) -> Response:
    # Intuit tags every response with a transaction id for support requests.
    response.headers["intuit_tid"] = str(uuid.uuid4())
    return response
