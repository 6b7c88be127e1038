"""The emulator's own JSON admin API under /_admin (not an Intuit API).

Companies and their records, fault injection, webhook delivery settings and statistics, and the
auto-consent and token-expiry knobs the tests need.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from qbsync_sandbox.emulators.quickbooks import errors
from qbsync_sandbox.emulators.quickbooks.clock import parse_time, utc_now
from qbsync_sandbox.emulators.quickbooks.emulator import emulator
from qbsync_sandbox.emulators.quickbooks.injection import FaultRule

blueprint = Blueprint("qbo_admin", __name__, url_prefix="/_admin")


@blueprint.errorhandler(errors.AdminError)
def _admin_error(error: errors.AdminError) -> tuple[Response, int]:
    return jsonify({"error": error.message}), error.status


@blueprint.errorhandler(errors.QboFault)
def _fault(fault: errors.QboFault) -> tuple[Response, int]:
    # Validation failures of records read exactly as the Accounting API would report them.
    return jsonify(fault.body(emulator().state.now())), fault.status


@blueprint.get("")
def index() -> Response:
    """What the admin API offers, and the companies it holds."""
    emu = emulator()
    return jsonify(
        {
            "companies": _companies(),
            "routes": sorted(
                {
                    f"{' '.join(sorted(r.methods - {'HEAD', 'OPTIONS'}))} {r.rule}"
                    for r in _admin_rules()
                }
            ),
            "webhooks": asdict(emu.deliverer.settings()),
        }
    )


@blueprint.get("/companies")
def list_companies() -> Response:
    return jsonify({"companies": _companies()})


@blueprint.post("/companies")
def create_company() -> tuple[Response, int]:
    """Body: `{"realmId": "...", "companyName": "..."}`, both optional."""
    body = _json_object()
    realm_id = _optional_str(body, "realmId")
    name = _optional_str(body, "companyName") or "Sandbox Company_US_1"
    realm_id = emulator().state.create_company(realm_id, name)
    return jsonify({"realmId": realm_id, "companyName": name}), 201


@blueprint.get("/companies/<realm_id>/<entity>")
def list_records(realm_id: str, entity: str) -> Response:
    """Every record of an entity, inactive ones included."""
    records = emulator().state.records(realm_id, entity)
    return jsonify({"records": records})


@blueprint.post("/companies/<realm_id>/<entity>")
def create_record(realm_id: str, entity: str) -> tuple[Response, int]:
    record = emulator().state.create(realm_id, entity, _json_object())
    return jsonify(record), 201


@blueprint.post("/companies/<realm_id>/<entity>/bulk")
def create_records(realm_id: str, entity: str) -> tuple[Response, int]:
    """Body: `{"records": [{…}, …], "notify": false, "createdAt": "2026-01-05T10:00:00Z"}`: many
    records at once, all or none (their ids); with `notify` false no webhook is sent for them
    (records from before the connection). `createdAt`, a past moment, stamps their `MetaData`
    (a company's history is older than the connection: stamped now, CDC would list it as
    today's changes and the reconciliation would sync it as missed webhooks)."""
    body = _json_object()
    records = body.get("records")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise errors.AdminError(400, "records must be a list of JSON objects")
    notify = body.get("notify", True) is not False
    created_at = _past_moment(body.get("createdAt"), "createdAt")
    ids = emulator().state.create_many(
        realm_id, entity, records, notify=notify, created_at=created_at
    )
    return jsonify({"ids": ids}), 201


def _past_moment(value: Any, name: str) -> datetime | None:
    """An ISO 8601 moment before now (None when absent)."""
    if value is None:
        return None
    try:
        moment = parse_time(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise errors.AdminError(400, f"{name} must be an ISO 8601 date-time, got {value!r}")
    if moment >= utc_now():
        raise errors.AdminError(400, f"{name} must be in the past, got {value}")
    return moment


@blueprint.post("/companies/<realm_id>/<entity>/merge")
def merge_records(realm_id: str, entity: str) -> Response:
    """Body: `{"from": "<id merged away>", "into": "<id that survives>"}`."""
    body = _json_object()
    source, target = _required_str(body, "from"), _required_str(body, "into")
    return jsonify(emulator().state.merge(realm_id, entity, source, target))


@blueprint.get("/companies/<realm_id>/<entity>/<entity_id>")
def get_record(realm_id: str, entity: str, entity_id: str) -> Response:
    return jsonify(emulator().state.get(realm_id, entity, entity_id))


@blueprint.post("/companies/<realm_id>/<entity>/<entity_id>")
def update_record(realm_id: str, entity: str, entity_id: str) -> Response:
    """Sparse by default; `"sparse": false` replaces the record. A `SyncToken`, if sent, must be current."""
    body = _json_object()
    sparse = body.get("sparse", True) is not False
    return jsonify(emulator().state.update(realm_id, entity, entity_id, body, sparse=sparse))


@blueprint.post("/companies/<realm_id>/<entity>/<entity_id>/void")
def void_record(realm_id: str, entity: str, entity_id: str) -> Response:
    """Void a transaction as `?operation=void` does, at its current SyncToken."""
    state = emulator().state
    current = state.get(realm_id, entity, entity_id)
    body = {"Id": entity_id, "SyncToken": current.get("SyncToken")}
    return jsonify(state.void(realm_id, entity, entity_id, body))


@blueprint.delete("/companies/<realm_id>/<entity>/<entity_id>")
def delete_record(realm_id: str, entity: str, entity_id: str) -> Response:
    """Name-list records (Customer, Vendor, Item, …) become inactive; transactions are removed."""
    body = request.get_json(silent=True) if request.content_length else {}
    return jsonify(emulator().state.delete(realm_id, entity, entity_id, body or {}))


@blueprint.get("/faults")
def list_faults() -> Response:
    return jsonify({"faults": [rule.to_json() for rule in emulator().faults.rules()]})


@blueprint.post("/faults")
def add_fault() -> tuple[Response, int]:
    """Body: `{"family": "query", "kind": "throttle", "count": 2}`; see injection.FaultRule."""
    body = _json_object()
    try:
        rule = FaultRule(**body)
    except TypeError as error:
        raise errors.AdminError(400, f"bad fault rule: {error}") from None
    except ValueError as error:
        raise errors.AdminError(400, str(error)) from None
    emulator().faults.add(rule)
    return jsonify(rule.to_json()), 201


@blueprint.delete("/faults")
def clear_faults() -> Response:
    emulator().faults.clear(request.args.get("family"))
    return jsonify({"faults": []})


@blueprint.get("/limits")
def read_limits() -> Response:
    """Intuit's per-realm request limits: on or off, and how many requests they refused."""
    return jsonify(emulator().limits.figures())


@blueprint.put("/limits")
def change_limits() -> Response:
    """Body: `{"enabled": true}` (turning them on or off starts the windows afresh)."""
    try:
        emulator().limits.configure(_json_object().get("enabled"))
    except ValueError as error:
        raise errors.AdminError(400, str(error)) from None
    return jsonify(emulator().limits.figures())


@blueprint.get("/webhooks")
def webhook_settings() -> Response:
    return jsonify(asdict(emulator().deliverer.settings()))


@blueprint.patch("/webhooks")
def change_webhook_settings() -> Response:
    """Change delivery settings, e.g. `{"format": "legacy", "duplicate_rate": 0.5, "seed": 7}`."""
    try:
        settings = emulator().deliverer.configure(**_json_object())
    except (TypeError, ValueError) as error:
        raise errors.AdminError(400, str(error)) from None
    return jsonify(asdict(settings))


@blueprint.get("/cdc")
def cdc_settings() -> Response:
    settings = emulator().cdc
    return jsonify({"truncation": settings.truncation, "seed": settings.seed})


@blueprint.patch("/cdc")
def change_cdc_settings() -> Response:
    """`{"truncation": "random", "seed": 7}`: which 1,000 objects a full CDC response keeps."""
    body = _json_object()
    settings = emulator().cdc
    try:
        settings.configure(body.get("truncation", settings.truncation), body.get("seed"))
    except ValueError as error:
        raise errors.AdminError(400, str(error)) from None
    return jsonify({"truncation": settings.truncation, "seed": settings.seed})


@blueprint.get("/deliveries")
def deliveries() -> Response:
    """Counters and the log of delivery attempts (status, event ids)."""
    return jsonify(emulator().deliverer.stats())


@blueprint.get("/oauth")
def oauth_settings() -> Response:
    emu = emulator()
    return jsonify(
        {**_consent(), "accessTokenTtl": emu.tokens.access_ttl, "grants": emu.tokens.grants()}
    )


@blueprint.patch("/oauth")
def change_oauth_settings() -> Response:
    """`{"consentRealmId": "...", "deny": true, "accessTokenTtl": 5}`."""
    emu = emulator()
    body = _json_object()
    if "consentRealmId" in body:
        realm_id = body["consentRealmId"]
        if realm_id is not None and not emu.state.has_company(str(realm_id)):
            raise errors.AdminError(404, f"no company with realmId {realm_id!r}")
        emu.consent.realm_id = None if realm_id is None else str(realm_id)
    if "deny" in body:
        emu.consent.deny = bool(body["deny"])
    if "accessTokenTtl" in body:
        ttl = body["accessTokenTtl"]
        if not isinstance(ttl, int) or ttl < 1:
            raise errors.AdminError(400, "accessTokenTtl must be a positive integer (seconds)")
        emu.tokens.access_ttl = ttl
    return jsonify({**_consent(), "accessTokenTtl": emu.tokens.access_ttl})


@blueprint.post("/oauth/expire")
def expire_tokens() -> Response:
    """`{"realmId": "...", "refresh": false}`: live access (and optionally refresh) tokens expire now."""
    body = _json_object()
    realm_id = _optional_str(body, "realmId")
    touched = emulator().tokens.expire(realm_id, access=True, refresh=bool(body.get("refresh")))
    return jsonify({"grants": touched})


def _companies() -> list[dict[str, Any]]:
    state, tokens = emulator().state, emulator().tokens
    return [
        {
            "realmId": realm,
            "companyName": state.company_name(realm),
            "connected": tokens.is_connected(realm),
        }
        for realm in state.realm_ids()
    ]


def _consent() -> dict[str, Any]:
    emu = emulator()
    return {"consentRealmId": emu.consent.realm_id, "deny": emu.consent.deny}


def _admin_rules() -> list[Any]:
    return [rule for rule in current_app.url_map.iter_rules() if rule.rule.startswith("/_admin")]


def _json_object() -> dict[str, Any]:
    if not request.content_length:
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise errors.AdminError(400, "the body must be a JSON object")
    return body


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise errors.AdminError(400, f"{key} must be a string")
    return str(value)


def _required_str(body: dict[str, Any], key: str) -> str:
    value = _optional_str(body, key)
    if not value:
        raise errors.AdminError(400, f"{key} is required")
    return value
