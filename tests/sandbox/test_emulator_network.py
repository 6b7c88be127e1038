"""Injected network latency, the emulators' own time, and Intuit's per-realm limits (issue 19).

Latency must not serialize requests (each waits its own, over the emulators' threaded servers);
the meter must move with API requests and leave the latency and the admin API out; the QuickBooks
emulator refuses the 11th request of a second and the 501st of a minute per realm with Intuit's
429 body, on the companies' clock (moved by hand here).
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
from flask import Flask, request

from qbsync_sandbox.emulators.quickbooks import QboState, create_qbo_app
from qbsync_sandbox.emulators.quickbooks import run_in_thread as run_qbo
from qbsync_sandbox.emulators.salesforce import Org, create_salesforce_app, load_schema
from qbsync_sandbox.emulators.salesforce import run_in_thread as run_salesforce
from tests.support.paths import FORCE_APP

# Requests that queued for the latency would take at least CONCURRENT × LATENCY_MS together (3.2 s);
# waiting side by side they take about one latency plus handling, which a loaded machine may
# stretch but not by seconds.
LATENCY_MS = 400
CONCURRENT = 8
REDIRECT = "https://middleware.example/callback"


def _qbo_app(state: QboState | None = None, **options):
    return create_qbo_app(
        state,
        verifier_token="verifier",
        client_id="client",
        client_secret="secret-value",
        start_deliverer=False,
        **options,
    )


@pytest.fixture
def qbo_server():
    started = []

    def start(**options) -> str:
        app = _qbo_app(**options)
        server, base = run_qbo(app)
        started.append(server)
        return base

    yield start
    for server in started:
        server.shutdown()


@pytest.fixture
def salesforce_server(tmp_path):
    app = create_salesforce_app(
        Org(load_schema(FORCE_APP)),
        client_id="client",
        client_secret="secret-value",
        latency_ms=LATENCY_MS,
    )
    server, base, ca_path = run_salesforce(app, tmp_path)
    yield base, str(ca_path)
    server.shutdown()


def _timed(get) -> tuple[float, float]:
    """(seconds of one request, seconds of CONCURRENT requests at once)."""
    started = time.perf_counter()
    assert get().ok
    single = time.perf_counter() - started
    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENT) as pool:
        assert all(r.ok for r in pool.map(lambda _: get(), range(CONCURRENT)))
    return single, time.perf_counter() - started


def test_quickbooks_latency_is_per_request_and_concurrent_requests_wait_together(qbo_server):
    base = qbo_server(latency_ms=LATENCY_MS)
    single, together = _timed(
        lambda: requests.get(f"{base}/.well-known/openid_configuration", timeout=10)
    )
    assert single >= LATENCY_MS / 1000
    assert together < CONCURRENT * LATENCY_MS / 1000


def test_salesforce_latency_is_per_request_and_concurrent_requests_wait_together(
    salesforce_server,
):
    base, ca_path = salesforce_server
    single, together = _timed(
        lambda: requests.get(f"{base}/services/data", verify=ca_path, timeout=10)
    )
    assert single >= LATENCY_MS / 1000
    assert together < CONCURRENT * LATENCY_MS / 1000


def test_the_meter_counts_api_requests_without_latency_or_admin_calls(qbo_server):
    base = qbo_server(latency_ms=LATENCY_MS)
    assert requests.get(f"{base}/_admin/network", timeout=5).json() == {
        "latency_ms": LATENCY_MS,
        "requests": 0,
        "busy_seconds": 0.0,
        "cpu_seconds": 0.0,
    }
    started = time.perf_counter()
    for _ in range(3):
        requests.get(f"{base}/.well-known/openid_configuration", timeout=10)
    elapsed = time.perf_counter() - started
    figures = requests.get(f"{base}/_admin/network", timeout=5).json()
    assert figures["requests"] == 3
    assert 0 < figures["busy_seconds"] < elapsed - 3 * LATENCY_MS / 1000
    assert figures["cpu_seconds"] > 0
    # The latency can change while it runs; the meter starts again from zero on request.
    changed = requests.put(f"{base}/_admin/network", json={"latency_ms": 0}, timeout=5)
    assert changed.json()["latency_ms"] == 0
    assert requests.delete(f"{base}/_admin/network/meter", timeout=5).status_code == 204
    assert requests.get(f"{base}/_admin/network", timeout=5).json()["requests"] == 0


@pytest.mark.parametrize("body", [{"latency_ms": -1}, {"latency_ms": "120"}, {}, [1]])
def test_a_bad_latency_is_a_400_naming_the_rule(qbo_server, body):
    base = qbo_server()
    response = requests.put(f"{base}/_admin/network", json=body, timeout=5)
    assert response.status_code == 400
    assert "latency_ms must be an integer" in response.json()["error"]


def test_salesforce_meter_moves_with_rest_calls(salesforce_server):
    base, ca_path = salesforce_server
    requests.get(f"{base}/services/data", verify=ca_path, timeout=10)
    figures = requests.get(f"{base}/_admin/network", verify=ca_path, timeout=5).json()
    assert figures["requests"] == 1 and figures["busy_seconds"] > 0


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def limited():
    """A test client of an emulator with the limits on, two companies and a fake clock."""
    clock = _Clock()
    state = QboState(clock=clock)
    realms = [state.create_company(), state.create_company()]
    app = _qbo_app(state, rate_limits=True)
    tokens = app.extensions["qbo_emulator"].tokens
    headers = {}
    for realm in realms:
        code = tokens.issue_code(realm, REDIRECT, "com.intuit.quickbooks.accounting")
        headers[realm] = {
            "Authorization": f"Bearer {tokens.exchange_code(code, REDIRECT)[1]}",
            "Accept": "application/json",
        }
    client = app.test_client()

    def call(realm: str):
        return client.get(f"/v3/company/{realm}/companyinfo/{realm}", headers=headers[realm])

    return clock, realms, call, client


def test_the_eleventh_request_of_a_second_is_refused_with_intuits_429(limited):
    clock, (realm, other), call, _ = limited
    assert [call(realm).status_code for _ in range(10)] == [200] * 10
    refused = call(realm)
    assert refused.status_code == 429
    fault = refused.get_json()["Fault"]
    assert fault["type"] == "ThrottleExceeded"
    assert fault["Error"][0]["code"] == "3001"
    assert call(other).status_code == 200  # per realm
    clock.now += timedelta(seconds=1)
    assert call(realm).status_code == 200


def test_the_five_hundred_and_first_request_of_a_minute_is_refused(limited):
    clock, (realm, _), call, client = limited
    for _ in range(50):  # 10 a second for 50 seconds: 500 requests
        assert [call(realm).status_code for _ in range(10)] == [200] * 10
        clock.now += timedelta(seconds=1)
    assert call(realm).status_code == 429
    clock.now += timedelta(seconds=10)  # a minute after the first 10: they leave the window
    assert [call(realm).status_code for _ in range(10)] == [200] * 10
    assert call(realm).status_code == 429
    assert client.get("/_admin/limits").get_json()["refused"] == 2


def test_the_limits_are_off_unless_turned_on(limited):
    _, (realm, _), call, client = limited
    assert client.put("/_admin/limits", json={"enabled": False}).status_code == 200
    assert all(call(realm).status_code == 200 for _ in range(30))
    bad = client.put("/_admin/limits", json={"enabled": "yes"})
    assert bad.status_code == 400 and "enabled must be true or false" in bad.get_json()["error"]


def _nodelay_app() -> Flask:
    """Answers whether the connection it is served on has Nagle's algorithm off."""
    app = Flask("nodelay")

    @app.get("/nodelay")
    def nodelay():
        connection = request.environ["werkzeug.socket"]
        return {"nodelay": connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0}

    return app


def test_both_emulators_serve_with_nagles_algorithm_off(tmp_path) -> None:
    """Otherwise a response's body waits for the client's delayed acknowledgement of its
    headers: about 20 ms a request on this machine, counted as the product's time."""
    qbo, qbo_base = run_qbo(_nodelay_app())
    salesforce, salesforce_base, ca_path = run_salesforce(_nodelay_app(), tmp_path)
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would win over `verify`
    try:
        assert session.get(f"{qbo_base}/nodelay", timeout=10).json() == {"nodelay": True}
        answer = session.get(f"{salesforce_base}/nodelay", verify=str(ca_path), timeout=10)
        assert answer.json() == {"nodelay": True}
    finally:
        qbo.shutdown()
        salesforce.shutdown()
