"""POST /api/events/retry: the Retry action of a failed sync log, on a real temp SQLite ledger."""

from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet

from qbsync.app import create_app
from qbsync.config import Settings
from qbsync.events import ChangeEvent
from qbsync.services import Services
from qbsync.store import Store
from qbsync.store.ledger import EventLedger
from qbsync.sync_log import SyncLogEntry, log_key

REALM = "9341455130166501"
API_KEY = "k" * 40
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RETRY = "/api/events/retry"


def change(entity_id: str, key: str | None = None) -> ChangeEvent:
    return ChangeEvent(
        realm_id=REALM,
        entity="Customer",
        entity_id=entity_id,
        operation="Create",
        occurred_at=NOW,
        event_key=key or f"ce:{entity_id}",
    )


@pytest.fixture
def store(tmp_path):
    return Store.open(f"sqlite:///{tmp_path / 'ledger.db'}")


@pytest.fixture
def ledger(store):
    return store.events


@pytest.fixture
def client(tmp_path, store):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        encryption_keys=(Fernet.generate_key().decode(),),
        api_key=API_KEY,
    )
    return create_app(services=Services(settings, store=store)).test_client()


def auth(key=API_KEY):
    return {"Authorization": f"Bearer {key}"}


def settle(ledger: EventLedger, **outcomes: str) -> None:
    """Claim every event and give each its outcome: failed, dead, done, or left claimed."""
    claimed = {e.entity_id: e.id for e in ledger.claim("worker-1", 100, 60, now=NOW)}
    for entity_id, outcome in outcomes.items():
        if outcome == "failed":
            ledger.mark_failed([claimed[entity_id]], "REQUIRED_FIELD_MISSING: Name", None)
        elif outcome == "dead":
            ledger.mark_dead([claimed[entity_id]], "gave up after 8 attempts: timeout")
        elif outcome == "done":
            ledger.mark_done([claimed[entity_id]])


def by_entity_id(ledger: EventLedger) -> dict:
    return {e.entity_id: e for e in ledger.events()}


@pytest.mark.parametrize("outcome", ["failed", "dead"])
def test_retry_puts_a_failed_or_dead_event_back_to_pending(client, ledger, outcome) -> None:
    ledger.add([change("58"), change("59")])
    settle(ledger, **{"58": outcome, "59": outcome})

    response = client.post(RETRY, json={"eventKey": "ce:58"}, headers=auth())

    assert response.status_code == 200, response.json
    assert response.json == {"retried": 1}
    events = by_entity_id(ledger)
    retried, other = events["58"], events["59"]
    assert (retried.state, retried.attempts, retried.reason, retried.next_attempt_at) == (
        "pending",
        0,
        "retried from Salesforce",
        None,
    )
    assert retried.last_error is not None  # kept for reference until the next outcome
    assert other.state == outcome  # only the named event
    assert [e.entity_id for e in ledger.claim("worker-2", 100, 60, now=NOW)] == ["58"]


def test_retry_finds_an_event_by_the_shortened_key_of_its_sync_log(client, ledger) -> None:
    # Keys longer than Event_Key__c are written as prefix#sha256 (sync_log.log_key).
    long_key = "legacy:" + REALM + ":Customer:58:Create:" + "x" * 300
    twin = long_key[:-1] + "y"  # the same first 190 characters
    ledger.add([change("58", key=long_key), change("59", key=twin)])
    settle(ledger, **{"58": "failed", "59": "failed"})
    written = SyncLogEntry(long_key, REALM, "Customer", "58", "Create", "Failed", "", 1, NOW, NOW)
    event_key_field = written.row()["Event_Key__c"]
    assert event_key_field == log_key(long_key) and len(event_key_field) == 255

    response = client.post(RETRY, json={"eventKey": event_key_field}, headers=auth())

    assert response.json == {"retried": 1}
    assert {k: e.state for k, e in by_entity_id(ledger).items()} == {
        "58": "pending",
        "59": "failed",
    }


@pytest.mark.parametrize(
    ("outcome", "state"), [("done", "done"), ("claimed", "claimed"), (None, "pending")]
)
def test_retry_of_an_event_that_is_not_failed_is_a_conflict(client, ledger, outcome, state) -> None:
    ledger.add([change("58")])
    if outcome is not None:
        settle(ledger, **{"58": outcome})

    response = client.post(RETRY, json={"eventKey": "ce:58"}, headers=auth())

    assert response.status_code == 409
    assert response.json == {
        "error": f"the event 'ce:58' is {state}, not failed or dead: there is nothing to retry",
        "status": 409,
        "state": state,
    }
    assert by_entity_id(ledger)["58"].state == state


def test_second_retry_is_a_conflict_as_the_event_is_pending(client, ledger) -> None:
    ledger.add([change("58")])
    settle(ledger, **{"58": "failed"})
    assert client.post(RETRY, json={"eventKey": "ce:58"}, headers=auth()).status_code == 200

    again = client.post(RETRY, json={"eventKey": "ce:58"}, headers=auth())

    assert (again.status_code, again.json["state"]) == (409, "pending")


def test_retry_of_an_unknown_event_is_not_found(client, ledger) -> None:
    ledger.add([change("58")])

    response = client.post(RETRY, json={"eventKey": "ce:unknown"}, headers=auth())

    assert response.status_code == 404
    assert response.json["error"].startswith("no event with key 'ce:unknown' in the middleware's")


def test_an_unmatched_shortened_key_is_not_found(client, ledger) -> None:
    long_key = "legacy:" + "x" * 300
    ledger.add([change("58", key=long_key)])
    settle(ledger, **{"58": "failed"})
    forged = log_key(long_key)[:-64] + "0" * 64

    response = client.post(RETRY, json={"eventKey": forged}, headers=auth())

    assert response.status_code == 404
    assert by_entity_id(ledger)["58"].state == "failed"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "the body is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
        (["ce:58"], "the body must be a JSON object"),
        ({}, "eventKey must be a non-empty string"),
        ({"eventKey": 58}, "eventKey must be a non-empty string"),
        ({"eventKey": "  "}, "eventKey must be a non-empty string"),
        ({"eventKey": "k" * 256}, "eventKey is longer than Event_Key__c holds (255 characters)"),
    ],
    ids=["not-json", "array", "missing", "number", "blank", "too-long"],
)
def test_bad_bodies_are_refused(client, ledger, body, message) -> None:
    ledger.add([change("58")])
    settle(ledger, **{"58": "failed"})
    if isinstance(body, str):
        response = client.post(
            RETRY, data=body, headers={**auth(), "Content-Type": "application/json"}
        )
    else:
        response = client.post(RETRY, json=body, headers=auth())

    assert response.status_code == 400
    assert message in response.json["error"]
    assert by_entity_id(ledger)["58"].state == "failed"


@pytest.mark.parametrize("headers", [{}, auth("wrong"), {"Authorization": f"Basic {API_KEY}"}])
def test_retry_needs_the_api_key(client, ledger, headers) -> None:
    ledger.add([change("58")])
    settle(ledger, **{"58": "failed"})

    response = client.post(RETRY, json={"eventKey": "ce:58"}, headers=headers)

    assert response.status_code == 401
    assert by_entity_id(ledger)["58"].state == "failed"


def test_only_post_is_allowed(client) -> None:
    response = client.get(RETRY, headers=auth())
    assert response.status_code == 405
