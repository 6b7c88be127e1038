"""A database that cannot be reached: every web route answers 503 with Retry-After, the worker
and the reconciler wait and carry on once it answers again.

The outage is real: the store's SQLite file lies in a directory that does not exist (SQLite:
"unable to open database file"); creating the directory and migrating the file ends it.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask

from qbsync.app import create_app
from qbsync.config import Settings
from qbsync.events import ChangeEvent, Version
from qbsync.oauth_state import StateSigner
from qbsync.reconcile import Reconciler, reconcile_periodically
from qbsync.salesforce.auth import SalesforceLogin
from qbsync.salesforce.client import SalesforceClient
from qbsync.services import Services
from qbsync.store import Store, StoreUnavailable
from qbsync.store.database import make_engine
from qbsync.store.migrate import migrate
from qbsync.store.oauth_states import OAuthStates
from qbsync.webhooks.signature import sign
from qbsync.worker import STORE_WAIT_SECONDS, Worker
from tests.support.paths import FIXTURES
from tests.support.worker_loop import run_until_idle, stop_worker

API_KEY = "k" * 40
TOKEN = "verifier-token"
REALM = "9341455130166501"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
WEBHOOK = (FIXTURES / "webhooks" / "cloudevents_customer_updated.json").read_bytes()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        encryption_keys=(Fernet.generate_key().decode(),),
        api_key=API_KEY,
        intuit_webhook_verifier_token=TOKEN,
        intuit_client_id="client",
        intuit_client_secret="secret",
        intuit_redirect_uri="https://qbsync.example.com/oauth/quickbooks/callback",
        intuit_environment="sandbox",
        salesforce_login_url="https://login.example.com",
        salesforce_client_id="consumer",
        salesforce_client_secret="consumer-secret",
    )


@pytest.fixture
def database_path(tmp_path: Path) -> Path:
    return tmp_path / "not-yet" / "qbsync.db"


@pytest.fixture
def store(database_path: Path) -> Store:
    """A store whose database cannot be opened (yet)."""
    store = Store(make_engine(f"sqlite:///{database_path}"))
    yield store
    store.close()


def end_outage(database_path: Path) -> None:
    database_path.parent.mkdir()
    engine = make_engine(f"sqlite:///{database_path}")
    migrate(engine)
    engine.dispose()


# --- the web: 503 and Retry-After on every route ------------------------------------------------


def signed_state(settings: Settings, tmp_path: Path) -> str:
    """A state the app would accept, issued on another (working) database with the same key."""
    engine = make_engine(f"sqlite:///{tmp_path / 'issuer.db'}")
    migrate(engine)
    state, _ = StateSigner(OAuthStates(engine), settings.encryption_keys[0]).issue()
    engine.dispose()
    return state


def requests(settings: Settings, tmp_path: Path) -> dict[tuple[str, str], dict]:
    """One request per route and method, each as its caller sends it."""
    callback = {
        "query_string": {"state": signed_state(settings, tmp_path), "code": "C", "realmId": REALM},
        "headers": {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},  # a browser
    }
    return {
        ("/webhooks/quickbooks", "POST"): {
            "data": WEBHOOK,
            "headers": {"intuit-signature": sign(WEBHOOK, TOKEN)},
        },
        ("/api/connections", "POST"): {"headers": AUTH},
        ("/api/connections", "GET"): {"headers": AUTH},
        ("/api/connections/<realm_id>", "DELETE"): {"headers": AUTH},
        ("/api/config-changed", "POST"): {"headers": AUTH, "json": {"realmId": REALM}},
        ("/api/events/retry", "POST"): {"headers": AUTH, "json": {"eventKey": "ce:1"}},
        ("/api/backlog", "GET"): {"headers": AUTH},
        ("/api/connections/<realm_id>/test", "POST"): {"headers": AUTH},
        ("/api/backfills", "POST"): {
            "headers": AUTH,
            "json": {"realmId": REALM, "objects": ["Customer"]},
        },
        ("/api/backfills", "GET"): {"headers": AUTH, "query_string": {"realmId": REALM}},
        ("/api/backfills/<job_key>/cancel", "POST"): {"headers": AUTH},
        ("/api/match-reviews/<review_id>", "POST"): {"headers": AUTH, "json": {"action": "skip"}},
        ("/oauth/quickbooks/callback", "GET"): callback,
        # Intuit's Reconnect and Disconnect URLs name a company of ours by reading the vault.
        ("/quickbooks/reconnect", "GET"): {**callback, "query_string": {"realmId": REALM}},
        ("/quickbooks/disconnect", "GET"): {**callback, "query_string": {"realmId": REALM}},
    }


# A review is read from Salesforce before the ledger is used (its QuickBooks token, the versions
# written): with Salesforce unreachable too, as here, the first failure it meets is Salesforce's.
SALESFORCE_FIRST = {("/api/match-reviews/<review_id>", "POST")}
BROWSER_PAGES = {"/oauth/quickbooks/callback", "/quickbooks/reconnect", "/quickbooks/disconnect"}
# Health, readiness and metrics report the outage instead (test_health_routes_report_the_outage).
HEALTH_ROUTES = {("/healthz", "GET"), ("/readyz", "GET"), ("/metrics", "GET")}


def routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def test_every_route_answers_503_with_retry_after(
    settings: Settings, store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(services=Services(settings, store=store))
    client = app.test_client()
    calls = requests(settings, tmp_path)
    assert set(calls) | HEALTH_ROUTES == routes(app), "every route is called below"

    for (rule, method), kwargs in calls.items():
        path = (
            rule.replace("<realm_id>", REALM)
            .replace("<job_key>", "job-1")
            .replace("<review_id>", "a0B000000000001AAA")
        )
        response = client.open(path, method=method, **kwargs)
        if (rule, method) in SALESFORCE_FIRST:
            assert response.status_code == 502, (rule, response.get_data(as_text=True))
            assert "Salesforce" in response.json["error"]
            continue
        assert response.status_code == 503, (rule, method, response.get_data(as_text=True))
        assert response.headers["Retry-After"] == "10"
        if rule in BROWSER_PAGES:
            assert response.mimetype == "text/html"
            assert "database is unavailable" in response.get_data(as_text=True)
        else:
            assert response.json == {
                "error": "the database is unavailable; try again later",
                "status": 503,
            }
    # Logged as what it is, without a traceback or the statement's parameters.
    assert all(record.exc_info is None for record in caplog.records)
    assert "unable to open database file" in caplog.text
    assert "intuit-signature" not in caplog.text


def test_health_routes_report_the_outage(settings: Settings, store: Store) -> None:
    token = "m" * 32
    services = Services(settings.with_overrides(metrics_token=token), store=store)
    client = create_app(services=services).test_client()
    # Alive: a database outage is no reason to restart the process.
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["status"] == "unavailable"
    assert ready.json["reason"] == "the database does not answer"
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert scraped.status_code == 200
    assert "qbsync_ledger_up 0.0" in scraped.get_data(as_text=True)


def test_a_browser_less_callback_gets_json(settings: Settings, store: Store, tmp_path: Path):
    client = create_app(services=Services(settings, store=store)).test_client()
    state = signed_state(settings, tmp_path)
    response = client.get(f"/oauth/quickbooks/callback?state={state}&code=C&realmId={REALM}")
    assert response.status_code == 503
    assert response.json["status"] == 503


# --- the worker and the reconciler wait -----------------------------------------------------------


class Outage(threading.Event):
    """The loop's stop event: records each wait; the first ends the outage, the second stops."""

    def __init__(self, database_path: Path) -> None:
        super().__init__()
        self.database_path = database_path
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        if len(self.waits) == 1:
            end_outage(self.database_path)
            return False
        self.set()
        return True


class WorkerOutage(Outage):
    """The worker's stop event: its timed waits are the outage's; idle, the worker waits for a
    wake-up instead, and its watch for the stop (an untimed wait) is a real one."""

    def wait(self, timeout: float | None = None) -> bool:
        if timeout is None:
            return threading.Event.wait(self)
        self.waits.append(timeout)
        end_outage(self.database_path)
        return False


def test_the_worker_waits_for_the_database_then_carries_on(
    settings: Settings, store: Store, database_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    salesforce = SalesforceClient(
        settings, login_with=lambda s, session: SalesforceLogin("https://sf.example.com", "sid")
    )
    worker = Worker(Services(settings, store=store, salesforce=salesforce))
    stop = WorkerOutage(database_path)

    stop_worker(*run_until_idle(worker, stop))

    # Waited out the outage, then found the ledger empty.
    assert stop.waits == [STORE_WAIT_SECONDS]
    assert "Worker waits for the database" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert store.events.counts()["pending"] == 0


def test_the_reconciler_waits_for_the_database_then_reconciles(
    settings: Settings, store: Store, database_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="qbsync.reconcile")

    class Unused:
        def cdc(self, *args):
            raise AssertionError("no realm is connected: CDC is never called")

        def get(self, realm_id):
            raise AssertionError("no realm is connected: no configuration is read")

    services = Services(settings, store=store, quickbooks=Unused(), configs=Unused())
    reconciler = Reconciler(services)
    stop = Outage(database_path)

    reconcile_periodically(reconciler, stop, interval=3600, poll=0.5)

    assert stop.waits == [0.5, 0.5]
    assert "Reconciliation waits for the database" in caplog.text
    assert "Reconciliation pass" in caplog.text  # once the database answered
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        ("sqlite:///{tmp}/missing/qbsync.db", "OperationalError: unable to open database file"),
        # Nothing listens on port 1: the server cannot be reached.
        ("postgresql+psycopg://qbsync@127.0.0.1:1/qbsync", "OperationalError: connection failed"),
    ],
)
def test_every_store_class_reports_the_outage_without_the_statement(
    url: str, cause: str, tmp_path: Path
) -> None:
    store = Store(make_engine(url.format(tmp=tmp_path)))
    now = datetime.now(UTC)
    calls = {
        "events": lambda: store.events.add(
            [ChangeEvent(REALM, "Customer", "1", "Update", now, "ce:the-event-key")]
        ),
        "versions": lambda: store.versions.record_many(REALM, "Customer", {"1": Version(now)}),
        "watermarks": lambda: store.watermarks.all(),
        "config signal": lambda: store.config_signal.changed(REALM),
        "tokens": lambda: store.tokens.realm_ids(),
        "oauth states": lambda: store.oauth_states.add("the-nonce", now),
    }
    for name, call in calls.items():
        with pytest.raises(StoreUnavailable) as caught:
            call()
        message = str(caught.value)
        assert message.startswith(f"the database is unavailable ({cause}"), (name, message)
        assert "the-event-key" not in message and "the-nonce" not in message
    store.close()
