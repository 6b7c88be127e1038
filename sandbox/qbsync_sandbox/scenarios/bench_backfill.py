"""`./scripts/bench --backfill N`: a historical sync of N Customers (issue 17's targets).

The Customers are created in the QuickBooks emulator as history (no webhook: they existed before
the company was connected); Salesforce already holds Accounts without an external id for some of
them: one Account of the same name for `matches` Customers (linked, not duplicated) and two for
`ambiguous` ones (listed for review, not written). The Customer mapping matches by Name. Then one
backfill job runs on the worker with both emulators' injected latency (default QuickBooks 120 ms,
Salesforce 180 ms), from the job's creation until it is Done. Meanwhile, every 2 s, a live change:
one existing Customer (never one typed in before the sync) gets a new phone in the QuickBooks
emulator, which sends the webhook; each is clocked until its Account holds that phone, read through
Salesforce's REST API (issue 17: live changes go before the backfill's remaining pages).

Printed: the duration; the QuickBooks reads and Salesforce calls (the worker's own counters on its
`/metrics`, which tell the job's own calls from real-time work's by their `work` label,
`qbsync.metrics`): the job's, the live changes' (all real-time work while the job ran) and the
total; the HTTP requests the Salesforce emulator received from the worker (both kinds of work: a
Bulk API 2.0 job is one call of the worker's but several requests); the worker's peak resident
memory (VmHWM, Linux); the live changes' latency (p50/p95/max, count); the job's created,
matched, ambiguous and failed counts; and issue 17's targets for 50,000 Customers read against
the job's own figures: ≤ 2 minutes, ≤ 60 QuickBooks reads, ≤ 100 Salesforce calls, peak worker
RSS ≤ 250 MB. Then the same with the Bulk API threshold set out of reach (sObject Collections
only), side by side.
"""

from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import requests

from qbsync.salesforce.schema import external_id
from qbsync.store import Store
from qbsync_sandbox.scenarios.bench_invoices import (
    Calls,
    all_work,
    worker_calls,
    worker_calls_by_work,
)
from qbsync_sandbox.scenarios.readable import ReadableWatch, summary
from qbsync_sandbox.stack import Stack, free_port, wait_until

SYSADMIN = "sysadmin@qbsync.sandbox"
SEED_CHUNK = 5_000  # Customers per admin call to the QuickBooks emulator
ACCOUNTS_PER_CALL = 200  # sObject Collections
# The setting that sends a job's writes through Bulk API 2.0 above this many records; set out of
# reach for the Collections-only run.
BULK_THRESHOLD_VARIABLE = "QBSYNC_BACKFILL_BULK_THRESHOLD"
OUT_OF_REACH = str(10**9)
LIVE_EVERY_S = 2.0  # one live change this often while the job runs
LIVE_TIMEOUT_S = 600.0  # a live change not readable by then is counted as not applied
# The seeded history is stamped with today's time by the emulator, so reconciliation's first pass
# (a day back, `qbsync.reconcile.FIRST_LOOKBACK`) would take all of it for missed webhooks; a real
# company's history is older. The pass that follows enabling real time runs before the seeding,
# and this keeps the next one out of the run.
RECONCILE_OUT_OF_REACH = str(86_400)
# Issue 17's targets for 50,000 Customers, read against the job's own figures.
TARGETS = {
    "duration_s": 120,
    "quickbooks_reads": 60,
    "salesforce_calls": 100,
    "peak_worker_rss_mb": 250,
}


def customer_name(number: int) -> str:
    return f"Backfill Customer {number:06d}"


def _seed_quickbooks(stack: Stack, customers: int) -> list[str]:
    """The Customers' ids, in number order."""
    ids: list[str] = []
    for start in range(0, customers, SEED_CHUNK):
        records = [
            {
                "DisplayName": customer_name(n),
                "PrimaryPhone": {"FreeFormNumber": f"555-{n % 10_000:04d}"},
                "BillAddr": {"City": "Springfield", "PostalCode": f"{n % 100_000:05d}"},
            }
            for n in range(start, min(customers, start + SEED_CHUNK))
        ]
        created = stack.qbo(
            "POST",
            f"/companies/{stack.realm_id}/Customer/bulk",
            json={"records": records, "notify": False},
        )
        ids += created["ids"]
    return ids


def _seed_accounts(stack: Stack, matches: int, ambiguous: int, customers: int) -> set[int]:
    """Accounts typed in before the sync: one per matched Customer, two per ambiguous one
    (spread over the whole range, so that every page meets some); those Customers' numbers."""
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
    return set(numbers)


def _match_by_name_in_real_time(stack: Stack, mapping_id: str) -> None:
    """The admin's choices in QB Setup: Customers match Accounts by Name, and their changes sync in
    real time; the package then tells the middleware that the configuration changed. Returns once
    the reconciliation pass that follows (CDC a day back) has run, before any history exists."""
    sf = stack.salesforce("admin@qbsync.sandbox")
    sf.QB_Object_Mapping__c.update(
        mapping_id, {"Match_Rules__c": "Name", "Realtime_Enabled__c": True}
    )
    changed = datetime.now(UTC)
    stack.api("POST", "/api/config-changed", json={"realmId": stack.realm_id}).raise_for_status()
    store = Store.open(stack.middleware_env["QBSYNC_DATABASE_URL"])

    def reconciled() -> bool:
        for mark in store.watermarks.all(stack.realm_id):
            scanned = mark.scanned_through
            if scanned.tzinfo is None:  # SQLite keeps UTC without a zone
                scanned = scanned.replace(tzinfo=UTC)
            if mark.entity == "Customer" and scanned >= changed:
                return True
        return False

    try:
        wait_until(reconciled, timeout=120, interval=0.2, what="the reconciliation pass")
    finally:
        store.close()


def _live_candidates(ids: list[str], typed_in: set[int]) -> list[str]:
    """Customers to change live, spread over the range (some the job has already written when
    they change, some not yet), none with an Account typed in before the sync (a match or a
    review would be measured, not the write)."""
    stride = 7_919  # a prime: consecutive changes land far apart in the job's order
    numbers = dict.fromkeys((k * stride) % len(ids) for k in range(len(ids)))
    return [ids[n] for n in numbers if n not in typed_in]


class _LiveChanges:
    """One live change every `every` s until stopped, each clocked from the QuickBooks change to
    its Account holding the new phone (read through Salesforce's REST API)."""

    def __init__(self, stack: Stack, watch: ReadableWatch, candidates: list[str], every: float):
        self._stack, self._watch, self._candidates = stack, watch, candidates
        self._every = every
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(16)
        self._clocks: list[Future] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _LiveChanges:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._pool.shutdown(wait=False)

    def _run(self) -> None:
        for number, customer_id in enumerate(self._candidates):
            if number and self._stop.wait(self._every):
                return
            phone = f"+1 555 {number:07d}"
            started = time.perf_counter()
            self._stack.update_entity(
                "Customer", customer_id, {"PrimaryPhone": {"FreeFormNumber": phone}}
            )
            key = external_id(self._stack.realm_id, "Customer", customer_id)
            self._clocks.append(self._pool.submit(self._clock, key, phone, started))

    def _clock(self, key: str, phone: str, started: float) -> float | None:
        try:
            return self._watch.readable_at(key, LIVE_TIMEOUT_S, {"Phone": phone}) - started
        except TimeoutError:
            return None

    def figures(self) -> dict:
        """After the job: stops changing, waits for the changes made, and sums them up."""
        self._stop.set()
        self._thread.join()
        taken = [clock.result() for clock in list(self._clocks)]
        durations = [took for took in taken if took is not None]
        return {
            **(summary(durations) if durations else {"n": 0}),
            "changes": len(taken),
            "not_readable": len(taken) - len(durations),
            "every_s": self._every,
        }


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
    extra = {
        "QBSYNC_METRICS_TOKEN": token,
        "QBSYNC_WORKER_HEALTH_BIND": bind,
        "QBSYNC_RECONCILE_SECONDS": RECONCILE_OUT_OF_REACH,
    }
    if collections_only:
        extra[BULK_THRESHOLD_VARIABLE] = OUT_OF_REACH
    metrics = (f"http://{bind}/metrics", token)
    with Stack(workdir, extra_env=extra) as stack:
        stack.connect()
        mappings = stack.apply_recommended_mappings()
        _match_by_name_in_real_time(stack, mappings["Customer"])
        seeding = time.perf_counter()
        ids = _seed_quickbooks(stack, customers)
        typed_in = _seed_accounts(stack, matches, ambiguous, customers)
        seeded_s = time.perf_counter() - seeding
        stack.qbo("PUT", "/network", json={"latency_ms": latency_ms[0]})
        stack.sf_admin("PUT", "/network", json={"latency_ms": latency_ms[1]})
        wait_until(lambda: _metrics_up(metrics), timeout=30, what="the worker's /metrics")
        before = worker_calls_by_work(*metrics)
        requests.delete(f"{stack.qbo_url}/_admin/network/meter", timeout=10).raise_for_status()
        stack.sf_admin("DELETE", "/network/meter")
        jobs = Store.open(stack.middleware_env["QBSYNC_DATABASE_URL"]).backfills
        watch = ReadableWatch(stack.salesforce(), fields=("Phone",))
        live = _LiveChanges(stack, watch, _live_candidates(ids, typed_in), LIVE_EVERY_S)
        with watch, live:
            started = time.perf_counter()
            (job,) = jobs.create(stack.realm_id, [("Customer", "Account")], None, datetime.now(UTC))

            def finished() -> bool:
                current = jobs.get(job.job_key)
                return current is not None and current.finished

            wait_until(finished, timeout=timeout, interval=0.1, what="the backfill job to finish")
            elapsed = time.perf_counter() - started
            live_figures = live.figures()
        # After the watch has stopped: its queries are all answered and counted.
        after = worker_calls_by_work(*metrics)
        emulators = stack.emulator_figures()
        done = jobs.get(job.job_key)
        assert done is not None
        return {
            "customers": customers,
            "preexisting_accounts": {"unique": matches, "ambiguous_pairs": ambiguous},
            "collections_only": collections_only,
            "state": done.state,
            "message": done.message,
            "write_mode": done.write_mode,
            "duration_s": round(elapsed, 2),
            # The job's own (work="backfill"): what the targets are read against.
            "job": _calls_moved(before.get("backfill"), after.get("backfill")),
            # Real-time work while the job ran: the live changes' reads, upserts and sync logs.
            "live_changes": _calls_moved(before.get("realtime"), after.get("realtime")),
            "total": _calls_moved(all_work(before.values()), all_work(after.values())),
            # What the Salesforce emulator received, less the benchmark's own queries.
            "salesforce_http_requests": emulators["salesforce"]["requests"] - watch.queries,
            "live_change_latency": live_figures,
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


def _calls_moved(before: Calls | None, after: Calls | None) -> dict:
    """The reads and calls made between two scrapes, in all and by kind."""
    empty: Calls = {"quickbooks": {}, "salesforce": {}}
    before, after = before or empty, after or empty
    moved = {
        system: {
            kind: int(count - before[system].get(kind, 0))
            for kind, count in sorted(after[system].items())
            if count - before[system].get(kind, 0)
        }
        for system in ("quickbooks", "salesforce")
    }
    return {
        "quickbooks_reads": sum(moved["quickbooks"].values()),
        "quickbooks_reads_by_kind": moved["quickbooks"],
        "salesforce_calls": sum(moved["salesforce"].values()),
        "salesforce_calls_by_kind": moved["salesforce"],
    }


def targets_met(run: dict) -> dict[str, bool]:
    """Issue 17's targets (for 50,000 Customers), each met or not by the job's own figures."""
    figures = {
        "duration_s": run["duration_s"],
        "quickbooks_reads": run["job"]["quickbooks_reads"],
        "salesforce_calls": run["job"]["salesforce_calls"],
        "peak_worker_rss_mb": run["peak_worker_rss_mb"],
    }
    return {
        name: figures[name] is not None and figures[name] <= limit
        for name, limit in TARGETS.items()
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
        job, live, total = run["job"], run["live_changes"], run["total"]
        print(
            f"backfill, {label:16} {run['customers']} Customers: {run['state']} in "
            f"{run['duration_s']} s, write mode {run['write_mode']}; created "
            f"{counts['created']}, matched {counts['matched']}, ambiguous {counts['ambiguous']}, "
            f"updated {counts['updated']}, failed {counts['failed']}; peak worker RSS "
            f"{run['peak_worker_rss_mb']} MB; emulators busy {run['emulators_busy_s']} s"
        )
        print(
            f"  the job's own: QuickBooks reads {job['quickbooks_reads']} "
            f"{job['quickbooks_reads_by_kind']}, Salesforce calls {job['salesforce_calls']} "
            f"{job['salesforce_calls_by_kind']}"
        )
        print(
            f"  the live changes': QuickBooks reads {live['quickbooks_reads']}, Salesforce calls "
            f"{live['salesforce_calls']} {live['salesforce_calls_by_kind']}; total: reads "
            f"{total['quickbooks_reads']}, calls {total['salesforce_calls']} "
            f"({run['salesforce_http_requests']} HTTP requests received by the emulator)"
        )
        met = targets_met(run)
        print(
            "  issue 17's targets (for 50,000 Customers; the job's own figures): "
            + ", ".join(
                f"{name} ≤ {limit} {'met' if met[name] else 'MISSED'}"
                for name, limit in TARGETS.items()
            )
        )
        clocked_live = run["live_change_latency"]
        clocked = (
            f"p50 {clocked_live['p50_ms']} ms, p95 {clocked_live['p95_ms']} ms, "
            f"max {clocked_live['max_ms']} ms"
            if clocked_live["n"]
            else "none readable"
        )
        print(
            f"  live changes during it (one every {clocked_live['every_s']} s): "
            f"{clocked_live['changes']} made, {clocked_live['n']} readable: {clocked}; "
            f"{clocked_live['not_readable']} not readable within {LIVE_TIMEOUT_S:.0f} s"
        )
        if run["message"]:
            print(f"  message: {run['message']}")
