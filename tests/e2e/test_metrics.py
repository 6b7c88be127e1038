"""Health, readiness and Prometheus metrics of both processes after real traffic (issue 20, item 2).

A sandbox of its own (its metric counters must start from this test's traffic): the web process
under gunicorn with 2 workers (multiprocess metrics), the worker with its health port, JSON logs.
A Customer created in the QuickBooks emulator travels to the Salesforce emulator; both processes'
`/metrics` are scraped before and after and parsed with prometheus_client's parser.
"""

from __future__ import annotations

import json
import secrets

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from qbsync_sandbox.stack import Stack, free_port, wait_until

pytestmark = pytest.mark.e2e

TOKEN = secrets.token_urlsafe(32)


@pytest.fixture(scope="module")
def observed(tmp_path_factory):
    health_port = free_port()
    stack = Stack(
        tmp_path_factory.mktemp("metrics"),
        extra_env={
            "QBSYNC_METRICS_TOKEN": TOKEN,
            "QBSYNC_WORKER_HEALTH_BIND": f"127.0.0.1:{health_port}",
            "QBSYNC_LOG_FORMAT": "json",
        },
    )
    with stack.running() as sandbox:
        sandbox.connect()
        sandbox.apply_recommended_mappings(enable=("Customer",))
        sandbox.worker_url = f"http://127.0.0.1:{health_port}"
        wait_until(
            lambda: _get(f"{sandbox.worker_url}/healthz") == 200,
            timeout=30,
            what="the worker's health port",
        )
        yield sandbox


def _get(url: str) -> int | None:
    try:
        return requests.get(url, timeout=5).status_code
    except requests.ConnectionError:
        return None


def scrape(base_url: str) -> dict[tuple[str, tuple], float]:
    response = requests.get(
        f"{base_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_health_and_readiness_of_both_processes(observed):
    for base in (observed.web_url, observed.worker_url):
        assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
        assert requests.get(f"{base}/metrics", timeout=5).status_code == 401


def test_metrics_move_with_a_synced_customer(observed):
    sf = observed.salesforce()
    web_before, worker_before = scrape(observed.web_url), scrape(observed.worker_url)
    customer = observed.create_entity(
        "Customer", {"DisplayName": f"Metrics {secrets.token_hex(4)}"}
    )
    observed.wait_for_record(sf, "Account", "Customer", customer["Id"])
    # The worker scrapes its counters right after it settled the batch; the sync-log write and
    # the web's webhook counters are already done by then.
    wait_until(
        lambda: (
            value(scrape(observed.worker_url), "qbsync_sync_latency_seconds_count")
            > value(worker_before, "qbsync_sync_latency_seconds_count")
        ),
        timeout=15,
        what="the sync latency histogram to count the Customer",
    )
    web, worker = scrape(observed.web_url), scrape(observed.worker_url)

    def moved(before: dict, after: dict, name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # The web process, summed over its gunicorn workers.
    assert moved(web_before, web, "qbsync_webhooks_received_total") >= 1
    assert moved(web_before, web, "qbsync_webhook_events_total", outcome="stored") >= 1
    assert value(web, "qbsync_ledger_up") == 1
    assert value(web, "qbsync_companies", status="connected") == 1
    assert value(web, "qbsync_companies_reconnect_required") == 0
    assert value(web, "qbsync_events", state="done") >= 1

    # The worker: the QuickBooks read, the Salesforce upsert (real-time work), the latency.
    def realtime(name: str, kind: str) -> float:
        return moved(worker_before, worker, name, kind=kind, work="realtime")

    assert realtime("qbsync_quickbooks_calls_total", "query") >= 1
    assert realtime("qbsync_salesforce_calls_total", "upsert") >= 1
    assert moved(worker_before, worker, "qbsync_events_settled_total", status="Success") >= 1
    latency_sum = moved(worker_before, worker, "qbsync_sync_latency_seconds_sum")
    assert 0 < latency_sum < 60
    print(f"\nsync latency of the Customer (receipt → Salesforce): {latency_sum * 1000:.0f} ms")


def test_json_log_lines_carry_the_event_key(observed):
    customer = observed.create_entity("Customer", {"DisplayName": f"Logs {secrets.token_hex(4)}"})
    observed.wait_for_record(observed.salesforce(), "Account", "Customer", customer["Id"])
    lines = [
        json.loads(line)
        for name in ("web", "worker")
        for line in observed.log_path(name).read_text().splitlines()
        if line.startswith("{")
    ]
    stored = [line for line in lines if line["message"] == "webhook stored"]
    assert stored, "no 'webhook stored' line in the web log"
    assert all(line.get("event_key") or line.get("event_keys") for line in stored)
