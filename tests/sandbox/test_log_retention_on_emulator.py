"""Sync-log retention over real HTTPS: the middleware's purge (qbsync.log_retention, through
SalesforceClient's queries and a Bulk API 2.0 delete job) against an emulator full of old logs.

Two companies keep logs differently (7/30 days, and the defaults 14/90); logs of no company follow
the defaults. Every log older than its company's setting for its outcome goes, the others stay,
and the pass costs the same handful of API calls whatever the number of logs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from qbsync.cli import main
from qbsync.config import Settings
from qbsync.log_retention import purge_logs
from qbsync.salesforce import SalesforceClient
from qbsync.services import Services
from qbsync.store.purge import Retention, purge_periodically
from qbsync_sandbox.emulators.salesforce import (
    Org,
    create_salesforce_app,
    load_schema,
    run_in_thread,
)
from tests.support.paths import FORCE_APP

CLIENT_ID = "3MVG9-retention-test"
SECRET = "retention-secret"
USERNAME = "integration@qbsync.example"
AGES = (3, 10, 20, 60, 120)  # days
STATUSES = ("Success", "Skipped", "Failed", "Retrying")
# One API call each: the companies, one query per distinct settings (two here) and the
# company-less logs; the delete job's create, upload, close, at least one poll and the final read.
MAX_CALLS = 1 + 3 + 5 + 2


@pytest.fixture
def org_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Org, str]]:
    org = Org(load_schema(FORCE_APP), username=USERNAME)
    app = create_salesforce_app(org, client_id=CLIENT_ID, client_secret=SECRET)
    server, base_url, ca_path = run_in_thread(app, tmp_path / "tls")
    # requests prefers REQUESTS_CA_BUNDLE over Session.verify (DESIGN.md, Pitfalls).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_path))
    yield org, base_url
    server.shutdown()
    server.server_close()


def _settings(base_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        salesforce_login_url=base_url,
        salesforce_client_id=CLIENT_ID,
        salesforce_client_secret=SECRET,
    )


def _fill(org: Org, now: datetime) -> dict[str, bool]:
    """Logs of every status and age for two companies and none; id -> whether it must go."""
    short = org.create(
        "QB_Company__c",
        {
            "Name": "Short Co",
            "Realm_Id__c": "1001",
            "Log_Retention_Success_Days__c": 7,
            "Log_Retention_Failure_Days__c": 30,
        },
    )
    default = org.create("QB_Company__c", {"Name": "Default Co", "Realm_Id__c": "1002"})
    expected = {}
    for company, (success_days, failure_days) in (
        (short, (7, 30)),
        (default, (14, 90)),
        (None, (14, 90)),
    ):
        for status in STATUSES:
            for age in AGES:
                log_id = org.create(
                    "QB_Sync_Log__c",
                    {
                        "Company__c": company,
                        "Status__c": status,
                        "Synced_At__c": (now - timedelta(days=age)).isoformat(),
                        "Event_Key__c": f"{company}-{status}-{age}",
                    },
                )
                kept_days = success_days if status in ("Success", "Skipped") else failure_days
                expected[log_id] = age > kept_days
    return expected


def _remaining(org: Org) -> set[str]:
    return {row["Id"] for row in org.query("SELECT Id FROM QB_Sync_Log__c")[1]}


def test_purge_deletes_old_logs_per_company_settings_in_a_few_calls(org_url, tmp_path):
    org, base_url = org_url
    now = datetime.now(UTC)
    expected = _fill(org, now)
    client = SalesforceClient(_settings(base_url, tmp_path))
    client.query_all("SELECT Id FROM QB_Company__c")  # log in before counting
    before = org.api_usage
    counts = purge_logs(client, now)
    calls = org.api_usage - before
    print(f"sync-log purge: {counts}, {calls} API calls")  # noqa: T201 - the figure asked for
    gone = {log_id for log_id, goes in expected.items() if goes}
    assert _remaining(org) == set(expected) - gone
    assert counts == {"companies": 2, "deleted": len(gone), "failed": 0}
    assert all(org.is_deleted(log_id) for log_id in gone)  # to the recycle bin, as a delete does
    assert calls <= MAX_CALLS
    # Nothing left to purge: the next pass deletes nothing and makes no delete job.
    before = org.api_usage
    assert purge_logs(client, now)["deleted"] == 0
    assert org.api_usage - before == 1 + 3


def test_thousands_of_logs_cost_a_query_page_per_2000_and_one_job(org_url, tmp_path):
    org, base_url = org_url
    now = datetime.now(UTC)
    old = (now - timedelta(days=200)).isoformat()
    for n in range(2100):
        org.create("QB_Sync_Log__c", {"Status__c": "Success", "Synced_At__c": old,
                                      "Event_Key__c": f"bulk-{n}"})  # fmt: skip
    client = SalesforceClient(_settings(base_url, tmp_path))
    client.query_all("SELECT Id FROM QB_Company__c")
    before = org.api_usage
    assert purge_logs(client, now)["deleted"] == 2100
    calls = org.api_usage - before
    print(f"2,100 old logs purged with {calls} API calls")  # noqa: T201 - the figure asked for
    assert calls <= MAX_CALLS + 1  # the company-less query takes 2 pages of 2,000
    assert _remaining(org) == set()


def test_the_worker_purge_thread_and_the_cli_purge_logs(org_url, tmp_path):
    org, base_url = org_url
    now = datetime.now(UTC)
    expected = _fill(org, now)
    services = Services(_settings(base_url, tmp_path))
    stop = threading.Event()
    passes = []

    def purge_sync_logs(moment: datetime) -> dict[str, int]:
        stop.set()  # one pass: the loop ends after this call
        passes.append(purge_logs(services.salesforce, moment))
        return passes[-1]

    # The worker's purge thread body, run inline: the ledger, then the sync logs.
    purge_periodically(services.store.engine, Retention(), stop, 3600, lambda: now, purge_sync_logs)
    assert passes and passes[0]["deleted"] == sum(expected.values())
    assert _remaining(org) == {i for i, goes in expected.items() if not goes}
    result = CliRunner().invoke(main, ["purge-logs"], obj=services)
    assert result.exit_code == 0, result.output
    assert '"deleted": 0' in result.output


def test_cli_purge_logs_reports_salesforce_refusing(org_url, tmp_path):
    org, base_url = org_url
    services = Services(_settings(base_url, tmp_path))
    org.api_limit = org.api_usage  # every further call: 403 REQUEST_LIMIT_EXCEEDED
    result = CliRunner().invoke(main, ["purge-logs"], obj=services)
    assert result.exit_code == 1
    assert "TotalRequests Limit exceeded" in result.output
    assert "Traceback" not in result.output
