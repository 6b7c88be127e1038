"""`./scripts/bench --backfill N`: a historical sync of N Customers (issue 17's targets).

The Customers are created in the QuickBooks emulator as history (no webhook: they existed before
the company was connected); Salesforce already holds Accounts without an external id for some of
them: one Account of the same name for `matches` Customers (linked, not duplicated) and two for
`ambiguous` ones (listed for review, not written). The Customer mapping matches by Name. Then one
backfill job runs on the worker with both emulators' injected latency (default QuickBooks 120 ms,
Salesforce 180 ms), from the job's creation until it is Done.

Printed: the duration, the QuickBooks reads and Salesforce calls (the worker's own counters on its
`/metrics`), the worker's peak resident memory (VmHWM, Linux), and the job's created, matched,
ambiguous and failed counts; then the same with the Bulk API threshold set out of reach (sObject
Collections only), side by side. Issue 17's target for 50,000 Customers: ≤ 2 minutes, ≤ 60
QuickBooks reads, ≤ 100 Salesforce calls, peak worker RSS ≤ 250 MB.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from qbsync.store import Store
from qbsync_sandbox.scenarios.bench_invoices import worker_calls
from qbsync_sandbox.stack import Stack, free_port, wait_until

SYSADMIN = "sysadmin@qbsync.sandbox"
SEED_CHUNK = 5_000  # Customers per admin call to the QuickBooks emulator
ACCOUNTS_PER_CALL = 200  # sObject Collections
# The setting that sends a job's writes through Bulk API 2.0 above this many records; set out of
# reach for the Collections-only run.
BULK_THRESHOLD_VARIABLE = "QBSYNC_BACKFILL_BULK_THRESHOLD"
OUT_OF_REACH = str(10**9)


def customer_name(number: int) -> str:
    return f"Backfill Customer {number:06d}"


def _seed_quickbooks(stack: Stack, customers: int) -> None:
    for start in range(0, customers, SEED_CHUNK):
        records = [
            {
                "DisplayName": customer_name(n),
                "PrimaryPhone": {"FreeFormNumber": f"555-{n % 10_000:04d}"},
                "BillAddr": {"City": "Springfield", "PostalCode": f"{n % 100_000:05d}"},
            }
            for n in range(start, min(customers, start + SEED_CHUNK))
        ]
        stack.qbo(
            "POST",
            f"/companies/{stack.realm_id}/Customer/bulk",
            json={"records": records, "notify": False},
        )


def _seed_accounts(stack: Stack, matches: int, ambiguous: int, customers: int) -> None:
    """Accounts typed in before the sync: one per matched Customer, two per ambiguous one
    (spread over the whole range, so that every page meets some)."""
    step = max(1, customers // max(1, matches + ambiguous))
    numbers = list(range(0, customers, step))[: matches + ambiguous]
    accounts = [{"Name": customer_name(n)} for n in numbers[:matches]]
    for n in numbers[matches:]:
        accounts += [{"Name": customer_name(n)}, {"Name": customer_name(n).upper()}]
    sf = stack.salesforce(SYSADMIN)
    for start in range(0, len(accounts), ACCOUNTS_PER_CALL):
        chunk = [
            {**account, "attributes": {"type": "Account"}}
            for account in accounts[start : start + ACCOUNTS_PER_CALL]
        ]
        results = sf.restful(
            "composite/sobjects", method="POST", json={"allOrNone": True, "records": chunk}
        )
        if not all(result.get("success") for result in results):
            raise RuntimeError(f"seeding Accounts failed: {results}")


def _match_by_name(stack: Stack, mapping_id: str) -> None:
    """The admin's choice in QB Setup: Customers match Accounts by Name; the package then tells
    the middleware that the configuration changed."""
    sf = stack.salesforce("admin@qbsync.sandbox")
    sf.QB_Object_Mapping__c.update(mapping_id, {"Match_Rules__c": "Name"})
    stack.api("POST", "/api/config-changed", json={"realmId": stack.realm_id}).raise_for_status()


def _peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set (VmHWM), Linux only."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def backfill_run(
    workdir: Path,
    customers: int,
    matches: int,
    ambiguous: int,
    latency_ms: tuple[int, int],
    *,
    collections_only: bool = False,
    timeout: float = 3600,
) -> dict:
    """One stack, one job; its figures."""
    token = secrets.token_urlsafe(32)
    bind = f"127.0.0.1:{free_port()}"
    extra = {"QBSYNC_METRICS_TOKEN": token, "QBSYNC_WORKER_HEALTH_BIND": bind}
    if collections_only:
        extra[BULK_THRESHOLD_VARIABLE] = OUT_OF_REACH
    metrics = (f"http://{bind}/metrics", token)
    with Stack(workdir, extra_env=extra) as stack:
        stack.connect()
        # Mapped, not real-time: only the backfill writes Accounts.
        mappings = stack.apply_recommended_mappings()
        _match_by_name(stack, mappings["Customer"])
        seeding = time.perf_counter()
        _seed_quickbooks(stack, customers)
        _seed_accounts(stack, matches, ambiguous, customers)
        seeded_s = time.perf_counter() - seeding
        stack.qbo("PUT", "/network", json={"latency_ms": latency_ms[0]})
        stack.sf_admin("PUT", "/network", json={"latency_ms": latency_ms[1]})
        wait_until(lambda: _metrics_up(metrics), timeout=30, what="the worker's /metrics")
        before = worker_calls(*metrics)
        requests.delete(f"{stack.qbo_url}/_admin/network/meter", timeout=10).raise_for_status()
        stack.sf_admin("DELETE", "/network/meter")
        jobs = Store.open(stack.middleware_env["QBSYNC_DATABASE_URL"]).backfills
        started = time.perf_counter()
        (job,) = jobs.create(stack.realm_id, [("Customer", "Account")], None, datetime.now(UTC))

        def finished() -> bool:
            current = jobs.get(job.job_key)
            return current is not None and current.finished

        wait_until(finished, timeout=timeout, interval=0.1, what="the backfill job to finish")
        elapsed = time.perf_counter() - started
        after = worker_calls(*metrics)
        emulators = stack.emulator_figures()
        done = jobs.get(job.job_key)
        assert done is not None
        reads = sum(after["quickbooks"].values()) - sum(before["quickbooks"].values())
        calls = {
            kind: after["salesforce"][kind] - before["salesforce"].get(kind, 0)
            for kind in after["salesforce"]
            if after["salesforce"][kind] - before["salesforce"].get(kind, 0)
        }
        return {
            "customers": customers,
            "preexisting_accounts": {"unique": matches, "ambiguous_pairs": ambiguous},
            "collections_only": collections_only,
            "state": done.state,
            "message": done.message,
            "write_mode": done.write_mode,
            "duration_s": round(elapsed, 2),
            "quickbooks_reads": int(reads),
            "salesforce_calls": int(sum(calls.values())),
            "salesforce_calls_by_kind": {kind: int(n) for kind, n in sorted(calls.items())},
            "peak_worker_rss_mb": _peak_rss_mb(stack.processes["worker"].pid),
            "counts": done.counts.as_dict(),
            "pages": done.pages,
            "seeding_s": round(seeded_s, 1),
            # The emulators' own handling time (latency excluded): they must not be the bottleneck.
            "emulators_busy_s": {
                system: round(emulators[system]["busy_seconds"], 2)
                for system in ("quickbooks", "salesforce")
            },
        }


def _metrics_up(metrics: tuple[str, str]) -> bool:
    try:
        worker_calls(*metrics)
    except OSError:
        return False
    return True


def backfill_bench(
    workdir: Path, customers: int, latency_ms: tuple[int, int], *, side_by_side: bool = True
) -> dict:
    """The run with the default write mode and, side by side, the Collections-only run."""
    matches = max(1, customers // 100)  # 1 % typed in before the sync
    ambiguous = max(1, customers // 500)  # 0.2 % typed in twice
    figures = {
        "latency_ms": {"quickbooks": latency_ms[0], "salesforce": latency_ms[1]},
        "default": backfill_run(workdir / "default", customers, matches, ambiguous, latency_ms),
    }
    if side_by_side:
        figures["collections_only"] = backfill_run(
            workdir / "collections",
            customers,
            matches,
            ambiguous,
            latency_ms,
            collections_only=True,
        )
    return figures


def print_backfill(figures: dict) -> None:
    print(f"injected latency {figures['latency_ms']}")
    runs = [("default", figures["default"])]
    if "collections_only" in figures:
        runs.append(("collections only", figures["collections_only"]))
    for label, run in runs:
        counts = run["counts"]
        print(
            f"backfill, {label:16} {run['customers']} Customers: {run['state']} in "
            f"{run['duration_s']} s, QuickBooks reads {run['quickbooks_reads']}, Salesforce calls "
            f"{run['salesforce_calls']} {run['salesforce_calls_by_kind']}, peak worker RSS "
            f"{run['peak_worker_rss_mb']} MB, write mode {run['write_mode']}; created "
            f"{counts['created']}, matched {counts['matched']}, ambiguous {counts['ambiguous']}, "
            f"updated {counts['updated']}, failed {counts['failed']}; emulators busy "
            f"{run['emulators_busy_s']} s"
        )
        if run["message"]:
            print(f"  message: {run['message']}")
