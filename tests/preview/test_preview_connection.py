"""QBConnectionController in the preview: the middleware's /api (a stand-in served over real HTTP)
reached as through the QBSync_Middleware Named Credential, and the configuration-change
notification recorded on the company after a Real-Time Configuration save."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
from flask import Flask, jsonify, request

from qbsync_preview.app import create_preview_app, serve_in_thread

from .conftest import CLIENT_ID, CLIENT_SECRET, COMPANY, PreviewStack

API_KEY = "preview-test-api-key"


@dataclass
class FakeMiddleware:
    """Answers /api like the middleware does (shapes from its connections API)."""

    url: str = ""
    calls: list[tuple[str, str, dict | None]] = field(default_factory=list)
    fail_config_changed: bool = False


@pytest.fixture(scope="module")
def middleware() -> Iterator[FakeMiddleware]:
    fake = FakeMiddleware()
    app = Flask(__name__)

    @app.before_request
    def check_key():
        fake.calls.append((request.method, request.path, request.get_json(silent=True)))
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return jsonify({"error": "invalid API key", "status": 401}), 401
        return None

    @app.post("/api/connections")
    def start():
        body = request.get_json()
        return jsonify(
            {
                "authorizationUrl": "http://127.0.0.1:1/connect?state=s",
                "expiresAt": "2026-11-24T19:00:00Z",
                "realmId": body.get("realmId"),
                "callbackOrigin": "http://127.0.0.1:2",
            }
        ), 201

    @app.get("/api/connections")
    def listing():
        return jsonify(
            {"connections": [{"realmId": COMPANY["Realm_Id__c"], "status": "Connected"}]}
        )

    @app.delete("/api/connections/<realm_id>")
    def disconnect(realm_id: str):
        if realm_id != COMPANY["Realm_Id__c"]:
            return jsonify({"error": f"no connection for realm {realm_id}", "status": 404}), 404
        return jsonify({"realmId": realm_id, "status": "Disconnected"})

    @app.post("/api/config-changed")
    def config_changed():
        if fake.fail_config_changed:
            return jsonify({"error": "ledger unavailable", "status": 503}), 503
        return jsonify({"realmId": request.get_json()["realmId"]}), 202

    server, fake.url = serve_in_thread(app)
    yield fake
    server.shutdown()


@pytest.fixture(scope="module")
def preview_url(preview_stack: PreviewStack, middleware: FakeMiddleware) -> Iterator[str]:
    app = create_preview_app(
        preview_stack.salesforce_url,
        preview_stack.ca_path,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        middleware_url=middleware.url,
        middleware_api_key=API_KEY,
    )
    server, url = serve_in_thread(app)
    yield url
    server.shutdown()


def _call(url: str, klass: str, method: str, params: dict | None = None) -> requests.Response:
    return requests.post(f"{url}/apex/{klass}/{method}", json=params or {}, timeout=10)


def test_start_connection_and_list(preview_stack, preview_url, middleware, company_id):
    started = _call(preview_url, "QBConnectionController", "startConnection")
    assert started.status_code == 200
    assert started.json() == {
        "authorizationUrl": "http://127.0.0.1:1/connect?state=s",
        "expiresAt": "2026-11-24T19:00:00Z",
        "callbackOrigin": "http://127.0.0.1:2",
        "realmId": None,
    }
    # The page's origin stands in for the org's Lightning origin (DomainCreator).
    assert middleware.calls[-1] == ("POST", "/api/connections", {"origin": preview_url})
    listed = _call(preview_url, "QBConnectionController", "getConnections")
    assert listed.json() == [{"realmId": COMPANY["Realm_Id__c"], "status": "Connected"}]


def test_reconnect_names_the_realm_and_refuses_a_malformed_one(
    preview_stack, preview_url, middleware, company_id
):
    realm = COMPANY["Realm_Id__c"]
    started = _call(preview_url, "QBConnectionController", "startConnection", {"realmId": realm})
    assert started.json()["realmId"] == realm
    assert middleware.calls[-1] == (
        "POST",
        "/api/connections",
        {"origin": preview_url, "realmId": realm},
    )
    bad = _call(preview_url, "QBConnectionController", "startConnection", {"realmId": "a b"})
    assert bad.status_code == 400
    assert bad.json()["message"] == 'Not a QuickBooks realm id: "a b".'


def test_disconnect_checks_the_realm_and_reports_the_middleware_error(
    preview_stack, preview_url, company_id
):
    bad = _call(preview_url, "QBConnectionController", "disconnect", {"realmId": "a b"})
    assert bad.status_code == 400
    assert bad.json()["message"] == 'Not a QuickBooks realm id: "a b".'
    unknown = _call(preview_url, "QBConnectionController", "disconnect", {"realmId": "42"})
    assert (
        unknown.json()["message"]
        == "The sync middleware answered HTTP 404: no connection for realm 42"
    )
    done = _call(
        preview_url,
        "QBConnectionController",
        "disconnect",
        {"realmId": COMPANY["Realm_Id__c"]},
    )
    assert done.status_code == 200


def test_a_wrong_api_key_or_no_middleware_is_said_plainly(preview_stack, middleware):
    wrong = create_preview_app(
        preview_stack.salesforce_url,
        preview_stack.ca_path,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        middleware_url=middleware.url,
        middleware_api_key="wrong",
    ).test_client()
    refused = wrong.post("/apex/QBConnectionController/startConnection", json={})
    assert refused.status_code == 400
    assert refused.json["message"].startswith("The sync middleware refused the API key (HTTP 401)")
    assert "wrong" not in refused.json["message"]
    unconfigured = create_preview_app(
        preview_stack.salesforce_url,
        preview_stack.ca_path,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    ).test_client()
    missing = unconfigured.post("/apex/QBConnectionController/getConnections", json={})
    assert missing.json["message"].startswith("The sync middleware could not be reached")


def _realtime_save(preview_stack: PreviewStack, url: str, company_id: str) -> list[dict]:
    [mapping_id] = preview_stack.seed(
        "QB_Object_Mapping__c",
        {
            "Company__c": company_id,
            "QB_Object__c": "Customer",
            "Salesforce_Object__c": "Account",
            "External_Id_Field__c": "QB_External_Id__c",
            "Company_Object_Key__c": f"{company_id}:Customer",
        },
    )
    preview_stack.seed(
        "QB_Field_Mapping__c",
        {
            "Object_Mapping__c": mapping_id,
            "QB_Field__c": "DisplayName",
            "Salesforce_Field__c": "Name",
        },
    )
    response = _call(
        url,
        "QBSetupController",
        "saveRealtimeSettings",
        {"changes": [{"Id": mapping_id, "Realtime_Enabled__c": True}]},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_realtime_save_notifies_the_middleware_and_records_it(
    preview_stack, preview_url, middleware, company_id
):
    middleware.fail_config_changed = False
    rows = _realtime_save(preview_stack, preview_url, company_id)
    assert rows[0]["success"] is True
    assert middleware.calls[-1] == (
        "POST",
        "/api/config-changed",
        {"realmId": COMPANY["Realm_Id__c"]},
    )
    [company] = preview_stack.records("QB_Company__c")
    assert company["Config_Notified_At__c"]
    assert company.get("Config_Notification_Error__c") is None
    shown = _call(
        preview_url,
        "QBConnectionController",
        "getConfigNotification",
        {"companyId": company_id},
    ).json()
    assert shown["Config_Notified_At__c"] == company["Config_Notified_At__c"]


def test_a_refused_notification_is_recorded_and_the_save_stands(
    preview_stack, preview_url, middleware, company_id
):
    middleware.fail_config_changed = True
    try:
        rows = _realtime_save(preview_stack, preview_url, company_id)
    finally:
        middleware.fail_config_changed = False
    assert rows[0]["success"] is True
    [company] = preview_stack.records("QB_Company__c")
    assert company["Config_Notification_Error__c"] == (
        "The sync middleware answered HTTP 503: ledger unavailable"
    )
    [mapping] = preview_stack.records("QB_Object_Mapping__c")
    assert mapping["Realtime_Enabled__c"] is True
    resent = _call(
        preview_url,
        "QBConnectionController",
        "notifyConfigChanged",
        {"realmId": COMPANY["Realm_Id__c"]},
    )
    assert resent.status_code == 200
    assert "Config_Notification_Error__c" not in resent.json()
    unknown = _call(
        preview_url,
        "QBConnectionController",
        "notifyConfigChanged",
        {"realmId": "77"},
    )
    assert (
        unknown.json()["message"]
        == "No QuickBooks company with realm id 77 exists or you cannot see it."
    )
