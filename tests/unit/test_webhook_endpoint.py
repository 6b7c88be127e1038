"""POST /webhooks/quickbooks through Flask's test client, on a real temp SQLite ledger."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient

from qbsync.app import create_app
from qbsync.config import Settings
from qbsync.logs import JsonLogFormatter
from qbsync.services import Services
from qbsync.store import Store
from qbsync.store.ledger import EventLedger
from qbsync.webhooks.signature import sign

TOKEN = "verifier-token-0f6c8d"
URL = "/webhooks/quickbooks"
LIMIT = 4096
FIXTURES = Path(__file__).parent.parent / "fixtures" / "webhooks"


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


@pytest.fixture
def store(tmp_path) -> Store:
    return Store.open(f"sqlite:///{tmp_path / 'ledger.db'}")


@pytest.fixture
def ledger(store: Store) -> EventLedger:
    return store.events


@pytest.fixture
def app(store: Store, tmp_path) -> Flask:
    settings = Settings(
        intuit_webhook_verifier_token=TOKEN,
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        max_body_bytes=LIMIT,
    )
    return create_app(services=Services(settings, store=store))


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def deliver(client: FlaskClient, body: bytes, content_type: str | None = "application/json"):
    headers = {"intuit-signature": sign(body, TOKEN)}
    if content_type:
        headers["Content-Type"] = content_type
    return client.post(URL, data=body, headers=headers)


# --- signature ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "the intuit-signature header is missing"),
        ({"intuit-signature": sign(b"another body", TOKEN)}, "does not match the body"),
        ({"intuit-signature": "%%%"}, "is not base64"),
    ],
    ids=["missing", "wrong", "not-base64"],
)
def test_unsigned_bodies_get_401_and_nothing_is_stored(
    client: FlaskClient, ledger: EventLedger, headers: dict, message: str
) -> None:
    response = client.post(URL, data=fixture("cloudevents_customer_updated"), headers=headers)
    assert response.status_code == 401
    assert response.is_json
    assert message in response.json["error"]
    assert ledger.events() == []
    assert ledger.quarantined() == []


def test_signature_with_another_token_gets_401(client: FlaskClient, ledger: EventLedger) -> None:
    body = fixture("cloudevents_customer_updated")
    response = client.post(URL, data=body, headers={"intuit-signature": sign(body, "other")})
    assert response.status_code == 401
    assert ledger.events() == []


def test_unconfigured_verifier_token_accepts_nothing(store: Store, ledger: EventLedger) -> None:
    settings = Settings(intuit_webhook_verifier_token="")
    client = create_app(services=Services(settings, store=store)).test_client()
    body = fixture("cloudevents_customer_updated")
    response = client.post(URL, data=body, headers={"intuit-signature": sign(body, "")})
    assert response.status_code == 401
    assert "verifier token is not configured" in response.json["error"]
    assert ledger.events() == []


# --- storing ------------------------------------------------------------------------------


def test_signed_cloudevents_batch_is_stored_before_200(
    client: FlaskClient, ledger: EventLedger
) -> None:
    response = deliver(client, fixture("cloudevents_multi_realm"))
    assert response.status_code == 200
    assert response.json == {"events": 3, "stored": 3, "quarantined": None}
    stored = ledger.events()
    assert [(e.realm_id, e.entity, e.entity_id, e.operation, e.state) for e in stored] == [
        ("9341455130166501", "Customer", "58", "Update", "pending"),
        ("4620816365229015820", "Item", "19", "Create", "pending"),
        ("4620816365229015820", "Vendor", "7", "Delete", "pending"),
    ]
    assert stored[0].event_key == "ce:5b6c7d8e-0001-4aaa-8bbb-000000000001"


def test_signed_legacy_body_is_stored(client: FlaskClient, ledger: EventLedger) -> None:
    response = deliver(client, fixture("legacy_multi_entity"))
    assert response.status_code == 200
    assert [(e.entity, e.source) for e in ledger.events()] == [
        ("Customer", "legacy"),
        ("Vendor", "legacy"),
    ]


def test_merge_keeps_the_merged_away_id(client: FlaskClient, ledger: EventLedger) -> None:
    assert deliver(client, fixture("cloudevents_customer_merged")).status_code == 200
    (merged,) = ledger.events()
    assert (merged.operation, merged.entity_id, merged.deleted_id) == ("Merge", "123", "27")


def test_retried_batch_is_recorded_once(client: FlaskClient, ledger: EventLedger) -> None:
    body = fixture("cloudevents_multi_realm")
    assert deliver(client, body).json["stored"] == 3
    again = deliver(client, body)
    assert again.status_code == 200
    assert again.json == {"events": 3, "stored": 0, "quarantined": None}
    assert len(ledger.events()) == 3


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/cloudevents+json",
        "application/cloudevents-batch+json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        None,
    ],
)
def test_any_content_type_is_accepted(
    client: FlaskClient, ledger: EventLedger, content_type: str | None
) -> None:
    response = deliver(client, fixture("cloudevents_salesreceipt_no_data"), content_type)
    assert response.status_code == 200
    assert [e.entity for e in ledger.events()] == ["SalesReceipt"]


# --- quarantine ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"this is not json", "the body is not JSON"),
        (b'{"hello": "world"}', "neither a legacy eventNotifications object"),
        (fixture("cloudevents_unknown_operation"), "unknown operation 'archived'"),
        (fixture("cloudevents_missing_entity_id"), "intuitentityid is missing"),
    ],
    ids=["not-json", "unknown-shape", "unknown-operation", "missing-field"],
)
def test_signed_but_unusable_body_is_quarantined_and_acknowledged(
    client: FlaskClient, ledger: EventLedger, body: bytes, reason: str
) -> None:
    response = deliver(client, body)
    assert response.status_code == 200
    (kept,) = ledger.quarantined()
    assert response.json == {"events": 0, "stored": 0, "quarantined": kept.id}
    assert kept.body == body  # the raw bytes, as signed
    assert reason in kept.reason
    assert ledger.events() == []


def test_mixed_batch_stores_the_good_events_and_quarantines_the_body(
    client: FlaskClient, ledger: EventLedger
) -> None:
    body = fixture("cloudevents_mixed_unknown_entity")
    response = deliver(client, body)
    assert response.status_code == 200
    assert [(e.entity, e.entity_id) for e in ledger.events()] == [("Customer", "58")]
    (kept,) = ledger.quarantined()
    assert kept.body == body
    assert "unknown entity 'spaceship'" in kept.reason
    assert response.json == {"events": 1, "stored": 1, "quarantined": kept.id}
    # Intuit's retry of the same body: nothing new anywhere.
    assert deliver(client, body).json == {"events": 1, "stored": 0, "quarantined": kept.id}
    assert len(ledger.events()) == 1
    assert len(ledger.quarantined()) == 1


# --- size, methods, errors ----------------------------------------------------------------


def test_oversized_body_gets_413_and_nothing_is_stored(
    client: FlaskClient, ledger: EventLedger
) -> None:
    body = b"[" + b" " * LIMIT + b"]"
    response = deliver(client, body)
    assert response.status_code == 413
    assert response.is_json
    assert str(LIMIT) in response.json["error"]
    assert ledger.events() == [] and ledger.quarantined() == []


def test_oversized_chunked_body_without_length_gets_413(
    client: FlaskClient, ledger: EventLedger
) -> None:
    body = b"[" + b" " * LIMIT + b"]"
    response = client.post(
        URL,
        input_stream=io.BytesIO(body),
        headers={"intuit-signature": sign(body, TOKEN), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert response.is_json
    assert ledger.events() == []


def test_chunked_body_within_the_limit_is_stored(client: FlaskClient, ledger: EventLedger) -> None:
    body = fixture("cloudevents_customer_updated")
    response = client.post(
        URL,
        input_stream=io.BytesIO(body),
        headers={"intuit-signature": sign(body, TOKEN), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 200
    assert len(ledger.events()) == 1


def test_body_at_the_limit_is_accepted(client: FlaskClient, ledger: EventLedger) -> None:
    body = fixture("cloudevents_customer_updated")
    body = body + b" " * (LIMIT - len(body))
    assert len(body) == LIMIT
    assert deliver(client, body).status_code == 200
    assert len(ledger.events()) == 1


def test_other_methods_get_405_as_json(client: FlaskClient) -> None:
    response = client.get(URL)
    assert response.status_code == 405
    assert response.json["status"] == 405
    assert "POST" in response.headers["Allow"]


def test_unknown_paths_get_404_as_json(client: FlaskClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404
    assert response.is_json and response.json["status"] == 404


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "refusedApiCalls": 0}


# --- logging and settings -----------------------------------------------------------------


def test_logs_hold_neither_bodies_nor_the_token(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = fixture("cloudevents_mixed_unknown_entity")
    deliver(client, body)
    client.post(URL, data=body, headers={"intuit-signature": sign(body, "wrong")})
    assert caplog.records, "the endpoint logs what it did"
    text = caplog.text + " ".join(json.dumps(vars(r), default=str) for r in caplog.records)
    assert TOKEN not in text
    assert sign(body, TOKEN) not in text
    assert "aa000001-0000-4000-8000-000000000001" not in text  # event ids of the body
    assert "quarantined" in caplog.text


def test_json_log_lines_carry_extra_fields() -> None:
    record = logging.LogRecord(
        "qbsync.webhooks.views", logging.INFO, __file__, 1, "stored", (), None
    )
    record.stored = 3
    line = json.loads(JsonLogFormatter().format(record))
    assert (line["level"], line["logger"], line["message"], line["stored"]) == (
        "INFO",
        "qbsync.webhooks.views",
        "stored",
        3,
    )


def test_create_app_reads_the_environment_without_settings(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("QBSYNC_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("INTUIT_WEBHOOK_VERIFIER_TOKEN", TOKEN)
    monkeypatch.setenv("QBSYNC_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    client = create_app().test_client()
    assert deliver(client, fixture("legacy_customer_create")).json["stored"] == 1
