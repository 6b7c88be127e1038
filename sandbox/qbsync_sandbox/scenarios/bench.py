"""`./scripts/bench`: the performance figures, measured on the sandbox (real processes, real HTTP).

1. Webhook ingest: signed CloudEvents batches POSTed to gunicorn, each stored in the ledger
   before the 200 (Intuit wants the answer within 3 s); then the same while stalled connections
   (half-sent headers, `qbsync_sandbox.stalls`) are held open against the web process.
2. Latency: a Customer created in QuickBooks → its Account readable in Salesforce (target ~1 s).
3. Drain: a burst of changes → all applied; QuickBooks reads and Salesforce calls it cost.
4. With `--invoices N`, only this: N invoices with `--lines` lines each drained by a fresh worker,
   its QuickBooks reads per invoice and Salesforce calls per record written
   (`qbsync_sandbox.scenarios.bench_invoices`).

Figures, not pass/fail: this machine is shared and noisy. Loads are bounded and loopback only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from qbsync.store import Store
from qbsync.webhooks.signature import sign
from qbsync_sandbox.scenarios.bench_invoices import invoice_burst
from qbsync_sandbox.stack import Stack, wait_until
from qbsync_sandbox.stalls import StalledPool


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(_percentile(values, 0.50) * 1000, 1),
        "p95_ms": round(_percentile(values, 0.95) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
        "mean_ms": round(statistics.fmean(values) * 1000, 1),
    }


def ingest(stack: Stack, batches: int, events_per_batch: int, concurrency: int) -> dict:
    """POST signed batches for a realm with no mappings: the worker skips them, web is measured."""

    def one(number: int) -> float:
        body = json.dumps(
            [
                {
                    "specversion": "1.0",
                    "id": str(uuid.uuid4()),
                    "source": "intuit.bench",
                    "type": "qbo.customer.updated.v1",
                    "time": "2026-11-24T12:00:00Z",
                    "intuitentityid": str(number * events_per_batch + i),
                    "intuitaccountid": "4620816365000000",
                }
                for i in range(events_per_batch)
            ]
        ).encode()
        headers = {
            "intuit-signature": sign(body, stack.verifier_token),
            "content-type": "application/cloudevents-batch+json; charset=utf-8",
        }
        started = time.perf_counter()
        response = requests.post(
            f"{stack.web_url}/webhooks/quickbooks", data=body, headers=headers, timeout=10
        )
        response.raise_for_status()
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        durations = list(pool.map(one, range(batches)))
    elapsed = time.perf_counter() - started
    return {
        **_summary(durations),
        "batches_per_s": round(batches / elapsed, 1),
        "events_per_s": round(batches * events_per_batch / elapsed, 1),
        "events_per_batch": events_per_batch,
        "concurrency": concurrency,
    }


def ingest_stalled(stack: Stack, stalled: int, batches: int, events_per_batch: int) -> dict:
    """`ingest` one batch at a time while `stalled` half-sent requests are held open."""
    with StalledPool("127.0.0.1", stack.web_port, stalled) as pool:
        figures = ingest(stack, batches, events_per_batch, concurrency=1)
        held = pool.held
    return {**figures, "stalled_held": held, "stalled_opened": pool.opened}


def latency(stack: Stack, sf, samples: int) -> dict:
    durations = []
    for n in range(samples):
        started = time.perf_counter()
        customer = stack.create_entity(
            "Customer", {"DisplayName": f"Latency {n} {uuid.uuid4().hex[:6]}"}
        )
        stack.wait_for_record(sf, "Account", "Customer", customer["Id"], timeout=30)
        durations.append(time.perf_counter() - started)
    return _summary(durations)


def drain(stack: Stack, sf, records: int) -> dict:
    before = stack.qbo("GET", "/deliveries")
    ledger = Store.open(stack.middleware_env["QBSYNC_DATABASE_URL"]).events
    started = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        created = list(
            pool.map(
                lambda n: stack.create_entity(
                    "Customer", {"DisplayName": f"Burst {n} {uuid.uuid4().hex[:6]}"}
                ),
                range(records),
            )
        )
    queued = time.perf_counter() - started
    last = max(created, key=lambda c: int(c["Id"]))

    def drained() -> bool:
        counts = ledger.counts()
        return counts["pending"] == 0 and counts["claimed"] == 0

    stack.wait_for_record(sf, "Account", "Customer", last["Id"], timeout=120)
    wait_until(drained, timeout=120, what="the ledger to drain")
    elapsed = time.perf_counter() - started
    after = stack.qbo("GET", "/deliveries")
    return {
        "records": records,
        "create_calls_s": round(queued, 2),
        "drained_s": round(elapsed, 2),
        "records_per_s": round(records / elapsed, 1),
        "webhook_batches": after["batches"] - before["batches"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--batches", type=int, default=300, help="webhook batches to POST")
    parser.add_argument("--events-per-batch", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--stalled", type=int, default=300, help="stalled connections held during the second ingest"
    )
    parser.add_argument("--latency-samples", type=int, default=20)
    parser.add_argument("--burst", type=int, default=500, help="Customers created at once")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--invoices", type=int, help="only the invoice burst: this many invoices (e.g. 1000)"
    )
    parser.add_argument("--lines", type=int, default=10, help="lines per invoice of the burst")
    args = parser.parse_args(argv)
    if args.invoices:
        with tempfile.TemporaryDirectory(prefix="qbsync-bench-") as workdir:
            figures = {"invoices": invoice_burst(Path(workdir), args.invoices, args.lines)}
        print(f"invoice burst   {figures['invoices']}")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
        return 0
    with (
        tempfile.TemporaryDirectory(prefix="qbsync-bench-") as workdir,
        Stack(Path(workdir)) as stack,
    ):
        stack.connect()
        sf = stack.salesforce()
        stack.apply_recommended_mappings(enable=("Customer",))
        figures = {
            "ingest": ingest(stack, args.batches, args.events_per_batch, args.concurrency),
            "ingest_stalled": ingest_stalled(stack, args.stalled, 50, args.events_per_batch),
            "latency": latency(stack, sf, args.latency_samples),
            "drain": drain(stack, sf, args.burst),
        }
    print(f"webhook ingest  {figures['ingest']}")
    print(f"ingest, stalled {figures['ingest_stalled']}")
    print(f"create→Account  {figures['latency']}")
    print(f"burst drain     {figures['drain']}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
