"""Health, readiness, metrics and JSON logs (issue 20, item 2), in-process on a real SQLite ledger.

The counters are process-wide, so the tests compare a scrape before and after.
"""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import responses
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from qbsync.app import create_app
from qbsync.config import ConfigError, Settings, load_settings
from qbsync.events import ChangeEvent
from qbsync.health import serve_worker_health
from qbsync.logs import about_events, configure_logging
from qbsync.metrics import (
    LedgerCollector,
    prepare_multiprocess_dir,
    remove_own_multiprocess_dir,
)
from qbsync.quickbooks import QuickBooksClient, QuickBooksThrottled, TokenVault
from qbsync.services import Services
from qbsync.store import Store
from qbsync.store.database import make_engine
from qbsync.store.migrate import migrate
from qbsync.store.tokens import TokenRows
from qbsync.webhooks.signature import sign
from tests.support import builders

VERIFIER = "verifier-token-metrics"
METRICS_TOKEN = "m" * 40
REALM = "9341455130166501"
WEBHOOK = (Path(__file__).parent.parent / "fixtures" / "webhooks").joinpath(
    "cloudevents_customer_updated.json"
)


@pytest.fixture
def store(tmp_path) -> Store:
    return Store.open(f"sqlite:///{tmp_path / 'ledger.db'}")


def client_for(store: Store, **settings: object) -> FlaskClient:
    values = {"intuit_webhook_verifier_token": VERIFIER, "metrics_token": METRICS_TOKEN}
    return create_app(
        services=Services(Settings(**{**values, **settings}), store=store)
    ).test_client()


def scrape(client: FlaskClient) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def test_healthz_keeps_its_body_and_readyz_reads_the_ledger(store: Store) -> None:
    client = client_for(store)
    assert client.get("/healthz").get_json() == {"status": "ok", "refusedApiCalls": 0}
    ready = client.get("/readyz")
    assert (ready.status_code, ready.get_json()) == (200, {"status": "ready"})


@pytest.mark.parametrize(
    ("token", "headers", "status"),
    [
        ("", {"Authorization": f"Bearer {METRICS_TOKEN}"}, 404),
        (METRICS_TOKEN, {}, 401),
        (METRICS_TOKEN, {"Authorization": "Bearer " + "x" * 40}, 401),
        (METRICS_TOKEN, {"Authorization": f"Basic {METRICS_TOKEN}"}, 401),
    ],
    ids=["off-without-token", "no-header", "wrong-token", "wrong-scheme"],
)
def test_metrics_need_the_configured_bearer_token(store, token, headers, status) -> None:
    response = client_for(store, metrics_token=token).get("/metrics", headers=headers)
    assert response.status_code == status
    assert response.get_json()["status"] == status
    assert "qbsync_" not in response.get_data(as_text=True)


def test_webhook_counters_move_with_real_requests(store: Store) -> None:
    client = client_for(store)
    before = scrape(client)
    body = WEBHOOK.read_bytes()
    assert client.post("/webhooks/quickbooks", data=body).status_code == 401
    signed = {"intuit-signature": sign(body, VERIFIER), "Content-Type": "application/json"}
    assert client.post("/webhooks/quickbooks", data=body, headers=signed).status_code == 200
    assert client.post("/webhooks/quickbooks", data=body, headers=signed).status_code == 200
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert moved("qbsync_webhooks_received_total") == 3
    assert moved("qbsync_webhooks_rejected_total", reason="signature") == 1
    assert moved("qbsync_webhook_events_total", outcome="stored") == 1
    assert moved("qbsync_webhook_events_total", outcome="duplicate") == 1
    assert after[("qbsync_events", (("state", "pending"),))] == 1
    assert after[("qbsync_backlog_events", (("realm", REALM),))] == 1
    assert after[("qbsync_ledger_up", ())] == 1


def test_the_ledger_collector_reads_backlog_age_and_companies(store: Store) -> None:
    store.events.add(
        [
            ChangeEvent("r1", "Customer", entity_id, "Update", None, f"ce:{entity_id}")
            for entity_id in ("1", "2")
        ]
    )
    store.tokens.save(
        "r2",
        {
            "environment": "sandbox",
            "secret": "sealed",
            "access_expires_at": datetime.now(UTC),
            "status": "reconnect_required",
        },
    )
    later = datetime.now(UTC) + timedelta(minutes=10)
    samples = {
        (sample.name, tuple(sample.labels.values())): sample.value
        for family in LedgerCollector(store, clock=lambda: later).collect()
        for sample in family.samples
    }
    assert samples[("qbsync_backlog_events", ("r1",))] == 2
    assert 595 <= samples[("qbsync_oldest_pending_age_seconds", ("r1",))] <= 605
    assert samples[("qbsync_companies", ("reconnect_required",))] == 1
    assert samples[("qbsync_companies_reconnect_required", ())] == 1
    assert samples[("qbsync_events", ("pending",))] == 2


def test_prepare_multiprocess_dir_empties_a_given_directory(tmp_path) -> None:
    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_123.db").write_bytes(b"stale")
    (given / "keep.txt").write_text("not ours")
    assert prepare_multiprocess_dir(str(given)) == str(given)
    assert sorted(p.name for p in given.iterdir()) == ["keep.txt"]
    fresh = Path(prepare_multiprocess_dir(""))
    assert fresh.is_dir() and not any(fresh.iterdir())
    (fresh / "counter_1.db").write_bytes(b"")
    remove_own_multiprocess_dir(str(given))  # the operator's: kept
    remove_own_multiprocess_dir(str(fresh))  # serve's own: removed at exit
    assert given.is_dir() and not fresh.exists()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("QBSYNC_LOG_FORMAT", "xml", "must be text or json"),
        ("QBSYNC_METRICS_TOKEN", "short", "at least 32"),
        ("QBSYNC_WORKER_HEALTH_BIND", "9101", "must be host:port"),
        ("QBSYNC_WORKER_HEALTH_BIND", "127.0.0.1:99999", "must be host:port"),
    ],
)
def test_bad_observability_settings_stop_start_up(variable, value, message) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({variable: value, "QBSYNC_ENCRYPTION_KEY": Fernet.generate_key().decode()})


@pytest.fixture
def qbsync_logger():
    """The `qbsync` logger as configure_logging leaves it, restored afterwards (other tests
    capture its records through the root logger)."""
    logger = logging.getLogger("qbsync")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield logger
    logger.handlers[:], logger.level, logger.propagate = saved


def test_json_lines_carry_the_event_keys_of_the_work_in_hand(qbsync_logger) -> None:
    configure_logging("INFO", "json")
    handler = qbsync_logger.handlers[0]
    stream = io.StringIO()
    handler.setStream(stream)
    log = logging.getLogger("qbsync.test")
    with about_events(["ce:one"]):
        log.info("about one event")
    with about_events([f"ce:{n}" for n in range(60)]):
        log.info("about a batch")
    log.info("about nothing")
    one, batch, nothing = (json.loads(line) for line in stream.getvalue().splitlines())
    assert one["event_key"] == "ce:one" and one["message"] == "about one event"
    assert batch["event_count"] == 60 and len(batch["event_keys"]) == 50
    assert "event_key" not in nothing and "event_keys" not in nothing


@responses.activate
def test_quickbooks_calls_and_errors_are_counted_by_kind(tmp_path) -> None:
    api, realm = "https://qbo.example.test", "9130354"
    engine = make_engine(f"sqlite:///{tmp_path / 'vault.db'}")
    migrate(engine)
    vault = TokenVault(TokenRows(engine), [Fernet.generate_key().decode()])
    vault.save(builders.tokens(realm, access="a", refresh="r"))
    client = QuickBooksClient(
        Settings(intuit_environment="sandbox", intuit_api_base_url=api), vault
    )
    url = f"{api}/v3/company/{realm}/query"
    responses.add(responses.POST, url, json={"QueryResponse": {}})
    responses.add(responses.POST, url, json={"Fault": {"Error": [{"code": "3001"}]}}, status=429)

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0

    calls = sample("qbsync_quickbooks_calls_total", kind="query", work="realtime")
    throttled = sample("qbsync_quickbooks_errors_total", kind="query", error="throttled")
    client.query_by_ids(realm, "Customer", ["1"])
    with pytest.raises(QuickBooksThrottled):
        client.query_by_ids(realm, "Customer", ["1"])
    assert sample("qbsync_quickbooks_calls_total", kind="query", work="realtime") - calls == 2
    assert (
        sample("qbsync_quickbooks_errors_total", kind="query", error="throttled") - throttled == 1
    )
    engine.dispose()


def test_the_worker_health_port_answers_liveness_readiness_and_metrics(store: Store) -> None:
    running = {"loop": True}
    services = Services(Settings(metrics_token=METRICS_TOKEN), store=store)
    server = serve_worker_health(services, "127.0.0.1:0", alive=lambda: running["loop"])
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert requests.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
        assert requests.get(f"{base}/readyz", timeout=5).json() == {"status": "ready"}
        assert requests.get(f"{base}/metrics", timeout=5).status_code == 401
        scraped = requests.get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=5
        )
        assert "qbsync_ledger_up 1.0" in scraped.text
        assert requests.get(f"{base}/other", timeout=5).status_code == 404
        running["loop"] = False  # the worker is stopping
        stopping = requests.get(f"{base}/healthz", timeout=5)
        assert (stopping.status_code, stopping.json()) == (503, {"status": "stopped"})
    finally:
        server.shutdown()
        server.server_close()
