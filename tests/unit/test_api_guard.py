"""What every /api call passes first (issue 15, items 5 and 6): the key, logged and counted when
refused, and a JSON body that parses and does not nest without end.

A real app on a real SQLite store; the calls that pass the guard reach their views, which need
neither Intuit nor Salesforce for the bodies used here.
"""

from __future__ import annotations

import json
import logging

import pytest
from cryptography.fernet import Fernet

from qbsync.app import create_app
from qbsync.config import Settings
from qbsync.services import Services
from qbsync.store import Store

API_KEY = "a-shared-key-" + "k" * 30

# Every /api route, with a body its view accepts (method, path, body).
ROUTES = [
    ("POST", "/api/connections", {}),
    ("GET", "/api/connections", None),
    ("DELETE", "/api/connections/9341455130166501", None),
    ("POST", "/api/config-changed", {"realmId": "9341455130166501"}),
    ("POST", "/api/events/retry", {"eventKey": "ce:nothing"}),
]


@pytest.fixture
def app(tmp_path):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        encryption_keys=(Fernet.generate_key().decode(),),
        api_key=API_KEY,
        intuit_client_id="intuit-client",
        intuit_redirect_uri="https://qbsync.example.com/oauth/quickbooks/callback",
        intuit_webhook_verifier_token="verifier",
        intuit_environment="sandbox",
    )
    store = Store.open(settings.database_url)
    yield create_app(services=Services(settings, store=store))
    store.close()


@pytest.fixture
def client(app):
    return app.test_client()


def call(client, method, path, *, key=API_KEY, data=None):
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return client.open(path, method=method, data=data, headers=headers)


# --- refused calls ------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_a_refused_call_is_logged_without_the_key_and_counted(client, caplog, method, path, body):
    caplog.set_level(logging.WARNING, logger="qbsync.api_guard")
    wrong = "wrong-key-" + "w" * 30

    assert call(client, method, path, key=wrong).status_code == 401
    assert call(client, method, path, key=None).status_code == 401

    records = [r for r in caplog.records if r.name == "qbsync.api_guard"]
    assert [r.getMessage() for r in records] == [
        "refused /api call: wrong key",
        "refused /api call: no bearer key",
    ]
    assert [(r.method, r.path, r.refused_api_calls) for r in records] == [
        (method, path, 1),
        (method, path, 2),
    ]
    assert records[0].remote_addr == "127.0.0.1"
    assert wrong not in caplog.text and API_KEY not in caplog.text
    assert client.get("/healthz").get_json() == {"status": "ok", "refusedApiCalls": 2}


def test_accepted_calls_are_not_counted(client):
    assert call(client, "GET", "/api/connections").status_code == 200
    assert client.get("/healthz").get_json()["refusedApiCalls"] == 0


# --- bodies -------------------------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_deeply_nested_json_is_400_on_every_route(client, method, path, body):
    # Before: json.loads raised RecursionError in the view and the answer was a 500.
    for text in (nested(100_000), '{"realmId": ' + nested(33) + "}"):
        response = call(client, method, path, data=text)
        assert response.status_code == 400, response.get_data(as_text=True)
        assert response.get_json() == {
            "error": "the JSON body nests deeper than 32 levels",
            "status": 400,
        }


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_malformed_json_is_400_on_every_route(client, method, path, body):
    # Before: /api/config-changed took an unreadable body for an empty one and answered 202.
    response = call(client, method, path, data='{"realmId": ')
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("the body is not valid JSON: Expecting value")
    response = call(client, method, path, data=b"\xff\xfe")
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("the body is not valid JSON")


def test_nesting_up_to_the_limit_reaches_the_view(client):
    body = {"realmId": "9341455130166501", "extra": json.loads(nested(31))}
    response = call(client, "POST", "/api/config-changed", data=json.dumps(body))
    assert response.status_code == 202


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_a_bad_body_without_the_key_is_401_not_parsed(client, method, path, body):
    response = call(client, method, path, key=None, data=nested(100_000))
    assert response.status_code == 401


def test_without_a_configured_key_every_call_is_refused_and_counted(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="qbsync.api_guard")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'other.db'}", api_key="")
    store = Store.open(settings.database_url)
    try:
        client = create_app(services=Services(settings, store=store)).test_client()
        response = call(client, "GET", "/api/connections", key="anything-" + "x" * 30)
        assert response.status_code == 401
        assert response.get_json()["error"] == "QBSYNC_API_KEY is not configured on the middleware"
        assert [r.getMessage() for r in caplog.records] == ["refused /api call: no key configured"]
        assert client.get("/healthz").get_json()["refusedApiCalls"] == 1
    finally:
        store.close()
