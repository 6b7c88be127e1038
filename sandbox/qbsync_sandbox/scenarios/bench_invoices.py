"""`./scripts/bench --invoices N`: a burst of N invoices with L lines each (issue 10's targets).

The invoices are created in the QuickBooks emulator while its webhook deliveries are paused;
resumed, they arrive as a burst does (batches of up to 100 events, 0.2 s apart) at the running
worker. The worker's own counters (`/metrics` on QBSYNC_WORKER_HEALTH_BIND), read before and
after, give the QuickBooks reads and Salesforce calls the burst cost.

Issue 10's targets: ≤ 0.01 QuickBooks reads per invoice and ≤ 0.008 Salesforce calls per record
written (invoices, lines and sync logs; 200 records a call puts the floor at 0.005).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from qbsync.store import Store
from qbsync_sandbox.stack import Stack, free_port, wait_until

_SAMPLE = re.compile(r"^(qbsync_(?:quickbooks|salesforce)_calls)_total\{([^}]*)\} (\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')

Calls = dict[str, dict[str, float]]  # system ("quickbooks", "salesforce") → kind → calls


def worker_calls_by_work(metrics_url: str, token: str) -> dict[str, Calls]:
    """The worker's QuickBooks and Salesforce call counters from its `/metrics`, by the work
    they were made for ("realtime", "backfill": `qbsync.metrics`), system and kind."""
    text = requests.get(metrics_url, headers={"Authorization": f"Bearer {token}"}, timeout=10).text
    calls: dict[str, Calls] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            labels = dict(_LABEL.findall(match[2]))
            system = "quickbooks" if "quickbooks" in match[1] else "salesforce"
            by_system = calls.setdefault(labels["work"], {"quickbooks": {}, "salesforce": {}})
            by_system[system][labels["kind"]] = float(match[3])
    return calls


def worker_calls(metrics_url: str, token: str) -> Calls:
    """The worker's QuickBooks and Salesforce call counters by kind, whatever the work."""
    return all_work(worker_calls_by_work(metrics_url, token).values())


def all_work(by_work: Iterable[Calls]) -> Calls:
    """Counters of several kinds of work added up, by system and kind."""
    total: Calls = {"quickbooks": {}, "salesforce": {}}
    for calls in by_work:
        for system, kinds in calls.items():
            for kind, count in kinds.items():
                total[system][kind] = total[system].get(kind, 0) + count
    return total


def invoice_burst(workdir: Path, invoices: int, lines: int) -> dict:
    token = secrets.token_urlsafe(32)
    bind = f"127.0.0.1:{free_port()}"
    extra = {"QBSYNC_METRICS_TOKEN": token, "QBSYNC_WORKER_HEALTH_BIND": bind}
    with Stack(workdir, extra_env=extra) as stack:
        stack.connect()
        sf = stack.salesforce()
        stack.apply_recommended_mappings(enable=("Customer", "Item", "Invoice"))
        customer = stack.create_entity("Customer", {"DisplayName": "Burst Customer"})
        items = [
            stack.create_entity(
                "Item", {"Name": f"Burst Item {n}", "IncomeAccountRef": {"value": "1"}}
            )
            for n in range(lines)
        ]
        # The references are in Salesforce before the burst: what is measured is the invoices.
        stack.wait_for_record(sf, "Account", "Customer", customer["Id"], timeout=60)
        for item in items:
            stack.wait_for_record(sf, "Product2", "Item", item["Id"], timeout=60)
        ledger = Store.open(stack.middleware_env["QBSYNC_DATABASE_URL"]).events
        wait_until(
            lambda: ledger.counts()["pending"] == 0 and ledger.counts()["claimed"] == 0,
            timeout=60,
            what="the set-up events to drain",
        )
        settled_before = sum(ledger.counts().values())
        metrics_url = f"http://{bind}/metrics"
        before = worker_calls(metrics_url, token)
        stack.qbo("PATCH", "/webhooks", json={"paused": True})

        body_lines = [
            {
                "Amount": 10.0 + n,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 1},
            }
            for n, item in enumerate(items)
        ]
        started = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            list(
                pool.map(
                    lambda _: stack.create_entity(
                        "Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": body_lines}
                    ),
                    range(invoices),
                )
            )
        created_s = time.perf_counter() - started

        stack.qbo("PATCH", "/webhooks", json={"paused": False})
        drain_started = time.perf_counter()
        wait_until(
            lambda: (
                sum(ledger.counts().values()) - settled_before >= invoices
                and ledger.counts()["pending"] == 0
                and ledger.counts()["claimed"] == 0
            ),
            timeout=1800,
            interval=0.5,
            what="the invoice burst to drain",
        )
        drained_s = time.perf_counter() - drain_started
        after = worker_calls(metrics_url, token)
        calls = {
            system: {
                kind: count - before[system].get(kind, 0)
                for kind, count in counts.items()
                if count > before[system].get(kind, 0)
            }
            for system, counts in after.items()
        }
        events = sum(ledger.counts().values()) - settled_before
        soql = "SELECT COUNT() FROM QB_Transaction_Line__c"
        lines_in_salesforce = sf.query(soql)["totalSize"]
    qb_reads = sum(calls["quickbooks"].values())
    sf_calls = sum(calls["salesforce"].values())
    written = invoices + invoices * lines + events  # invoices, lines, one sync log per event
    return {
        "invoices": invoices,
        "lines_per_invoice": lines,
        "events": events,
        "lines_in_salesforce": lines_in_salesforce,
        "create_s": round(created_s, 1),
        "drain_s": round(drained_s, 1),
        "quickbooks_calls": calls["quickbooks"],
        "salesforce_calls": calls["salesforce"],
        "quickbooks_reads_per_invoice": round(qb_reads / invoices, 4),
        "salesforce_calls_per_record": round(sf_calls / written, 4),
    }
