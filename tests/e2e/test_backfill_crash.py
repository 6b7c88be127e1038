"""A historical sync survives `kill -9` of the worker (issue 17), end to end: real processes, the
job started through POST /api/backfills and followed through GET /api/backfills.

2,500 Customers that existed before the connection (created without webhooks, most in the same
second: the checkpoint steps through them by offset) are synced while Salesforce answers slowly;
the worker is SIGKILLed in the middle of a page and started again. The job resumes from its last
checkpoint after the lease (10 s here): it ends Done with every record counted once, one Account
per Customer (none missing, none duplicated) and the job record showing the same counts.

A job above the Bulk threshold (3,000 here) is killed while its chunk's Bulk API job is held
InProgress in the Salesforce emulator: the chunk renews a normal lease while it polls, so the
job resumes one lease after the kill, not after a lease set for the whole Bulk job.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from simple_salesforce import format_soql

from qbsync_sandbox.stack import Stack, wait_until

pytestmark = pytest.mark.e2e

CUSTOMERS = 2500
BULK_THRESHOLD = 3000  # the Collections test's 2,500 stay under it


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    sandbox = Stack(
        tmp_path_factory.mktemp("backfill-crash"),
        extra_env={
            "QBSYNC_LEASE_SECONDS": "10",
            "QBSYNC_BACKFILL_BULK_THRESHOLD": str(BULK_THRESHOLD),
        },
    )
    with sandbox.running():
        sandbox.connect()
        sandbox.apply_recommended_mappings(enable=("Customer",))
        yield sandbox


def _history(stack: Stack, label: str, count: int) -> list[str]:
    """Customers the company had before the connection (no webhook): their ids."""
    records = [{"DisplayName": f"{label} {n:05d}"} for n in range(count)]
    return stack.qbo(
        "POST",
        f"/companies/{stack.realm_id}/Customer/bulk",
        json={"records": records, "notify": False},
    )["ids"]


def _job(stack: Stack, key: str) -> dict:
    listed = stack.api("GET", "/api/backfills", params={"realmId": stack.realm_id}).json()
    return next(job for job in listed["jobs"] if job["id"] == key)


def _finished(stack: Stack, key: str) -> dict | None:
    job = _job(stack, key)
    return job if job["state"] in ("Done", "Failed", "Cancelled") else None


def _account_keys(stack: Stack, name_like: str) -> list[str]:
    soql = format_soql("SELECT QB_External_Id__c FROM Account WHERE Name LIKE {}", name_like)
    return [row["QB_External_Id__c"] for row in stack.salesforce().query_all(soql)["records"]]


def test_a_worker_killed_mid_page_is_resumed_from_the_checkpoint(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    realm = stack.realm_id
    ids = _history(stack, f"Old {tag}", CUSTOMERS)
    # Slow upserts keep the worker inside a page long enough to be killed there.
    stack.sf_fault("latency", seconds=0.4, count=None, path="/composite/sobjects/Account")
    started = stack.api("POST", "/api/backfills", json={"realmId": realm, "objects": ["Customer"]})
    assert started.status_code == 202, started.text
    (queued,) = started.json()["jobs"]
    key = queued["id"]

    wait_until(
        lambda: _job(stack, key)["processed"] >= 1000,
        timeout=120,
        interval=0.1,
        what="the first page",
    )
    stack.kill("worker")  # in the second page: some of its upserts are in Salesforce already
    killed = _job(stack, key)
    assert killed["state"] == "Running" and killed["processed"] < CUSTOMERS
    stack.clear_faults()
    stack.respawn("worker")

    def finished() -> dict | None:
        job = _job(stack, key)
        return job if job["state"] in ("Done", "Failed", "Cancelled") else None

    job = wait_until(finished, timeout=180, interval=0.2, what="the resumed job to finish")
    assert job["state"] == "Done", job
    # Counted once: the killed page's counts were never stored.
    assert job["total"] == job["processed"] == CUSTOMERS, job
    assert job["created"] + job["updated"] == CUSTOMERS and job["failed"] == 0, job

    sf = stack.salesforce()
    soql = format_soql("SELECT QB_External_Id__c FROM Account WHERE Name LIKE {}", f"Old {tag} %")
    keys = [row["QB_External_Id__c"] for row in sf.query_all(soql)["records"]]
    assert len(keys) == len(set(keys)) == CUSTOMERS  # none duplicated
    assert set(keys) == {f"{realm}-Customer-{i}" for i in ids}  # none missing
    (record,) = sf.query_all(
        format_soql(
            "SELECT State__c, Processed__c, Total__c FROM QB_Sync_Job__c WHERE Job_Key__c = {}",
            key,
        )
    )["records"]
    assert (record["State__c"], record["Processed__c"], record["Total__c"]) == (
        "Done",
        CUSTOMERS,
        CUSTOMERS,
    )


def test_a_worker_killed_while_its_bulk_job_runs_is_resumed_after_one_lease(stack: Stack) -> None:
    tag = uuid.uuid4().hex[:8]
    realm = stack.realm_id
    # The job takes these Customers only, not the other test's (they are older than this).
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds")
    ids = _history(stack, f"Bulk {tag}", BULK_THRESHOLD)
    stack.sf_admin("PUT", "/bulk", json={"hold": True})
    try:
        started = stack.api(
            "POST",
            "/api/backfills",
            json={"realmId": realm, "objects": ["Customer"], "since": since},
        )
        assert started.status_code == 202, started.text
        key = started.json()["jobs"][0]["id"]
        wait_until(
            lambda: stack.sf_admin("GET", "/bulk").json()["held"],
            timeout=120,
            interval=0.1,
            what="the chunk's Bulk job",
        )
        stack.kill("worker")  # while it polls the Bulk job
    finally:
        # The dead worker's job completes in Salesforce; nobody reads its results.
        stack.sf_admin("PUT", "/bulk", json={"hold": False})
    killed = _job(stack, key)
    assert (killed["state"], killed["processed"], killed["writeMode"]) == (
        "Running",
        0,
        "Bulk API 2.0",
    )
    stack.respawn("worker")

    # The lease is 10 s: a lease set for a whole Bulk job (15 minutes before) would not run out.
    job = wait_until(
        lambda: _finished(stack, key), timeout=90, interval=0.2, what="the resumed job"
    )
    assert job["state"] == "Done", job
    assert job["total"] == job["processed"] == BULK_THRESHOLD, job
    assert job["created"] + job["updated"] == BULK_THRESHOLD and job["failed"] == 0, job
    keys = _account_keys(stack, f"Bulk {tag} %")
    assert len(keys) == len(set(keys)) == BULK_THRESHOLD  # none duplicated
    assert set(keys) == {f"{realm}-Customer-{i}" for i in ids}  # none missing
