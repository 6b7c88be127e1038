"""Four workers on one PostgreSQL ledger against the emulators (issue 19's scale-out): real
processes, real HTTP, Intuit's per-realm limits enforced by the QuickBooks emulator.

A busy company's backlog and a quiet company's single change are delivered together; the quiet
change is applied before the backlog drains (order, read from the ledger, not time), the
emulator refuses no request (the workers pace each realm together through the database), the
periodic work runs in one worker only (the lease), and every change reaches Salesforce. Against
the local PostgreSQL (`QBSYNC_TEST_POSTGRES_URL`, as `.ci/run` sets it) in a database of its own;
skipped without it, like the other PostgreSQL-only e2e test (test_procfile).
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from qbsync.salesforce.schema import external_id
from qbsync.store import Store
from qbsync.store.schema import events
from qbsync_sandbox.postgres import scratch_database
from qbsync_sandbox.stack import Stack, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

POSTGRES_URL = os.environ.get("QBSYNC_TEST_POSTGRES_URL")
QUIET = "4620816365111111"
BACKLOG = 400
WORKERS = 4


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    if not POSTGRES_URL:
        pytest.skip("QBSYNC_TEST_POSTGRES_URL is not set")
    with scratch_database(POSTGRES_URL, "qbsync_scale_e2e") as url:
        sandbox = Stack(
            tmp_path_factory.mktemp("scale"),
            workers=WORKERS,
            # Small batches: the backlog takes many claims, so their order shows.
            extra_env={"QBSYNC_DATABASE_URL": url, "QBSYNC_WORKER_BATCH_SIZE": "20"},
        )
        with sandbox.running():
            sandbox.connect()
            sandbox.add_company(QUIET, "Quiet Company")
            sandbox.apply_recommended_mappings(enable=("Customer",))
            sandbox.apply_recommended_mappings(enable=("Customer",), realm=QUIET)
            sandbox.database_url = url
            yield sandbox


def _log_lines(stack: Stack, name: str, text: str) -> int:
    return stack.log_path(name).read_text(errors="replace").count(text)


def test_four_workers_serve_a_quiet_company_first_within_the_limits_and_lose_nothing(stack):
    sf = stack.salesforce()
    ledger = Store.open(stack.database_url)
    stack.qbo("PATCH", "/webhooks", json={"paused": True})
    with ThreadPoolExecutor(4) as pool:
        busy = list(
            pool.map(
                lambda n: stack.create_entity(
                    "Customer", {"DisplayName": f"Busy {n} {uuid.uuid4().hex[:6]}"}
                ),
                range(BACKLOG),
            )
        )
    quiet = stack.create_entity("Customer", {"DisplayName": "Quiet one"}, realm=QUIET)
    refused_before = stack.qbo("GET", "/limits")["refused"]

    stack.qbo("PATCH", "/webhooks", json={"paused": False})
    stack.wait_for_record(sf, "Account", "Customer", quiet["Id"], realm=QUIET, timeout=120)

    def drained() -> bool:
        counts = ledger.events.counts()
        return counts["done"] >= BACKLOG + 1 and counts["pending"] == counts["claimed"] == 0

    wait_until(drained, timeout=300, interval=0.2, what="the ledger to drain")

    # Order: the quiet company's change was applied before the busy backlog had drained.
    c = events.c
    with ledger.engine.connect() as connection:
        rows = connection.execute(
            select(c.realm_id, c.source, c.state, c.updated_at, c.claimed_by)
        ).all()
    # The webhooks' events (reconciliation may have enqueued the same changes again from CDC).
    delivered = [row for row in rows if row.source != "cdc"]
    quiet_done = [row.updated_at for row in delivered if row.realm_id == QUIET]
    busy_done = [row.updated_at for row in delivered if row.realm_id == stack.realm_id]
    assert len(quiet_done) == 1 and len(busy_done) == BACKLOG
    applied_after = sum(1 for done in busy_done if done > quiet_done[0])
    assert applied_after >= 20, f"only {applied_after} busy events were applied after the quiet one"
    assert {row.state for row in rows} == {"done"}
    # Several workers took part.
    assert len({row.claimed_by for row in rows}) >= 2

    # No 429: the workers paced each realm together.
    assert stack.qbo("GET", "/limits")["refused"] == refused_before

    # Periodic work ran in one worker only: reconciliation (at start and after each mapping
    # change) and the purge (hourly, so once in this test).
    reconciled = {
        name: _log_lines(stack, name, "Reconciliation pass:") for name in stack.worker_names
    }
    assert sum(1 for count in reconciled.values() if count) == 1, reconciled
    purges = [_log_lines(stack, name, "Purge pass:") for name in stack.worker_names]
    assert sum(purges) == 1, purges

    # Nothing lost: every busy change is an Account in Salesforce.
    keys = {
        record["QB_External_Id__c"]
        for record in sf.query_all(
            "SELECT QB_External_Id__c FROM Account WHERE QB_External_Id__c != null"
        )["records"]
    }
    assert {external_id(stack.realm_id, "Customer", c["Id"]) for c in busy} <= keys
    ledger.close()
