"""`./scripts/bench`: the performance figures, measured on the sandbox (real processes, real HTTP).

1. Webhook ingest: signed CloudEvents batches POSTed to gunicorn, each stored in the ledger
   before the 200 (Intuit wants the answer within 3 s); then the same while stalled connections
   (half-sent headers, `qbsync_sandbox.stalls`) are held open against the web process.
Both emulators wait an injected network latency per API request (default QuickBooks 120 ms,
Salesforce 180 ms; `--no-latency` for none), changed between phases through their admin API.
2. Single change: one Customer created every 200 ms, each clocked from its creation in QuickBooks
   to its Account committed in the Salesforce emulator and found through its REST API (the
   emulator's commit time, not the poll's); p50/p95/p99 without and with latency,
   and the emulators' own share of the time (`Stack.emulator_figures()`).
3. Drain: a burst delivered at once (webhooks paused while it is created) → all applied; the
   QuickBooks reads and Salesforce calls it cost, from the worker's `/metrics`.
   With `--baseline`, the same burst through a per-event connector
   (`qbsync_sandbox.scenarios.bench_baseline`), side by side, and its projection for 10,000.
4. Six-realm burst: 10,000 changes in one realm and 1,000 in each of five more, with a seventh
   realm's single changes clocked during the drain, and the processes' peak memory; then, given
   a PostgreSQL server, the same burst drained by 1, 2 and 4 workers
   (`qbsync_sandbox.scenarios.bench_burst`).
5. With `--invoices N`, only this: N invoices with `--lines` lines each drained by a fresh worker,
   its QuickBooks reads per invoice and Salesforce calls per record written
   (`qbsync_sandbox.scenarios.bench_invoices`).
5. With `--backfill N`, only this: a historical sync of N Customers, some of them matching
   Accounts already in Salesforce, with a live change clocked every 2 s while it runs, side by
   side with a Collections-only run (`qbsync_sandbox.scenarios.bench_backfill`).

Figures, not pass/fail: this machine is shared and noisy. Loads are bounded and loopback only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path

import requests
from sqlalchemy import func, select

from qbsync.config import Settings
from qbsync.salesforce.schema import external_id
from qbsync.store import Store
from qbsync.store.schema import events
from qbsync.webhooks.signature import sign
from qbsync_sandbox.emulators.network import check_latency
from qbsync_sandbox.postgres import scratch_database
from qbsync_sandbox.scenarios.bench_backfill import backfill_bench, print_backfill
from qbsync_sandbox.scenarios.bench_baseline import READS_PER_MINUTE, PerEventConnector
from qbsync_sandbox.scenarios.bench_burst import (
    BURST_REALMS,
    PROBE_REALM,
    add_realms,
    burst,
    scale_out,
)
from qbsync_sandbox.scenarios.bench_invoices import invoice_burst, worker_calls
from qbsync_sandbox.scenarios.bench_plots import write_plots
from qbsync_sandbox.scenarios.readable import ReadableWatch, percentile, summary
from qbsync_sandbox.stack import Stack, exit_on_sigterm, free_port, wait_until
from qbsync_sandbox.stalls import StalledPool


def ingest(stack: Stack, batches: int, events_per_batch: int, concurrency: int) -> dict:
    """POST signed batches for a realm with no mappings: the worker skips them, web is measured.

    `concurrency` senders, each with its own session, so its connection is kept alive from one
    POST to the next, as Intuit's deliverer and issue 19's target ("concurrent senders posting
    10-event batches over kept-alive connections") have it.
    """
    local = threading.local()
    sessions: list[requests.Session] = []

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            sessions.append(local.session)
        return local.session

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
        response = session().post(
            f"{stack.web_url}/webhooks/quickbooks", data=body, headers=headers, timeout=10
        )
        response.raise_for_status()
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        durations = list(pool.map(one, range(batches)))
    elapsed = time.perf_counter() - started
    for opened in sessions:
        opened.close()
    return {
        **summary(durations),
        "p99_ms": round(percentile(durations, 0.99) * 1000, 1),
        "batches_per_s": round(batches / elapsed, 1),
        "events_per_s": round(batches * events_per_batch / elapsed, 1),
        "events_per_batch": events_per_batch,
        "concurrency": concurrency,
    }


def ingest_on(postgres_url: str | None, args: argparse.Namespace, extra: dict[str, str]) -> dict:
    """`ingest` on a sandbox of its own: the SQLite ledger, or a scratch database of the
    PostgreSQL server at `postgres_url` (the deployment that shares the work between machines,
    and the one that has to take the most webhooks)."""
    with contextlib.ExitStack() as scope:
        workdir = Path(scope.enter_context(tempfile.TemporaryDirectory(prefix="qbsync-bench-")))
        env = dict(extra)
        if postgres_url:
            env["QBSYNC_DATABASE_URL"] = scope.enter_context(
                scratch_database(postgres_url, "qbsync_bench")
            )
        stack = scope.enter_context(Stack(workdir, extra_env=env))
        stack.connect()
        stack.apply_recommended_mappings(enable=("Customer",))
        return ingest(stack, args.batches, args.events_per_batch, args.concurrency)


def ingest_stalled(stack: Stack, stalled: int, batches: int, events_per_batch: int) -> dict:
    """`ingest` one batch at a time while `stalled` half-sent requests are held open."""
    with StalledPool("127.0.0.1", stack.web_port, stalled) as pool:
        figures = ingest(stack, batches, events_per_batch, concurrency=1)
        held = pool.held
    return {**figures, "stalled_held": held, "stalled_opened": pool.opened}


def set_latency(stack: Stack, qbo_ms: int, sf_ms: int) -> None:
    """Change both emulators' injected latency while they run (emulators/network.py)."""
    response = requests.put(
        f"{stack.qbo_url}/_admin/network", json={"latency_ms": qbo_ms}, timeout=10
    )
    response.raise_for_status()
    stack.sf_admin("PUT", "/network", json={"latency_ms": sf_ms})


def _reset_meters(stack: Stack) -> None:
    requests.delete(f"{stack.qbo_url}/_admin/network/meter", timeout=10).raise_for_status()
    stack.sf_admin("DELETE", "/network/meter")


def _emulator_share(stack: Stack, wall_s: float) -> dict:
    """The emulators' own handling time (latency excluded) since `_reset_meters`."""
    figures = stack.emulator_figures()
    return {
        system: {
            "requests": figures[system]["requests"],
            "busy_s": round(figures[system]["busy_seconds"], 3),
            "cpu_s": round(figures[system]["cpu_seconds"], 3),
            "busy_share": round(figures[system]["busy_seconds"] / wall_s, 4) if wall_s else 0.0,
        }
        for system in ("quickbooks", "salesforce")
    }


def _readable_at(sf, soql: str, timeout: float, every: float = 0.05) -> float:
    """When a SOQL query through Salesforce's REST API first returns a record (perf_counter).

    Queries start every `every` seconds and overlap, so an injected latency does not coarsen
    the clock to one round trip per look.
    """
    deadline = time.perf_counter() + timeout

    def look() -> float | None:
        found = sf.query(soql)["totalSize"] > 0
        return time.perf_counter() if found else None

    with ThreadPoolExecutor(8) as pool:
        looks = []
        while time.perf_counter() < deadline:
            looks.append(pool.submit(look))
            seen = [f.result() for f in looks if f.done() and f.result() is not None]
            if seen:
                return min(seen)
            time.sleep(every)
    raise TimeoutError(f"no record for {soql!r} within {timeout} s")


def single_change(stack: Stack, sf, samples: int, every: float = 0.2) -> dict:
    """One Customer created every `every` s; each clocked until its Account is readable.

    The clock stops when the Salesforce emulator committed the Account, once a query through
    its REST API has found it (`ReadableWatch` with commit times). Also from the webhook's
    arrival (the event's `received_at` in the ledger) to then: the product's part, without the
    emulator's webhook delivery.
    """
    ledger = Store.open(stack.middleware_env["QBSYNC_DATABASE_URL"])

    def one(n: int) -> tuple[float, float]:
        time.sleep(max(0.0, begun + n * every - time.perf_counter()))
        started, wall_started = time.perf_counter(), time.time()
        customer = stack.create_entity(
            "Customer", {"DisplayName": f"Latency {n} {uuid.uuid4().hex[:6]}"}
        )
        key = external_id(stack.realm_id, "Customer", customer["Id"])
        took = watch.readable_at(key, timeout=60) - started
        received = _received_at(ledger.engine, stack.realm_id, customer["Id"])
        return took, wall_started + took - received

    _reset_meters(stack)
    begun = time.perf_counter()
    watch = ReadableWatch(sf, commit_times=stack.sf_commit_times)
    with watch, ThreadPoolExecutor(16) as pool:
        samples_ = list(pool.map(one, range(samples)))
    wall = time.perf_counter() - begun
    ledger.close()
    durations = [took for took, _ in samples_]
    return {
        **summary(durations),
        "p99_ms": round(percentile(durations, 0.99) * 1000, 1),
        "after_webhook": _latency_summary([after for _, after in samples_]),
        "every_ms": round(every * 1000),
        "emulators": _emulator_share(stack, wall),
    }, [round(d * 1000, 1) for d in durations]


def _received_at(engine, realm_id: str, entity_id: str) -> float:
    """When the first event about the Customer reached the ledger (epoch seconds)."""
    c = events.c
    statement = select(func.min(c.received_at)).where(
        c.realm_id == realm_id, c.entity == "Customer", c.entity_id == entity_id
    )
    with engine.connect() as connection:
        received = connection.execute(statement).scalar_one()
    if received.tzinfo is None:  # SQLite keeps UTC without a zone
        received = received.replace(tzinfo=UTC)
    return received.timestamp()


class _Progress:
    """Samples the events of a burst applied so far (done or skipped) every 0.1 s, for a plot."""

    def __init__(self, ledger, settled_before: int) -> None:
        self._ledger, self._settled_before = ledger, settled_before
        self._stop = threading.Event()
        self.samples: list[list[float]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> _Progress:
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def _sample(self) -> None:
        counts = self._ledger.counts()
        applied = sum(counts.values()) - counts["pending"] - counts["claimed"]
        elapsed = round(time.perf_counter() - self._started, 2)
        self.samples.append([elapsed, applied - self._settled_before])

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def stop(self) -> list[list[float]]:
        """Stop sampling; the last sample is the drained state."""
        self._stop.set()
        self._thread.join()
        self._sample()
        return self.samples


def _wait_drained(ledger, settled_before: int, events: int, timeout: float) -> None:
    def drained() -> bool:
        counts = ledger.counts()
        return (
            sum(counts.values()) - settled_before >= events
            and counts["pending"] == 0
            and counts["claimed"] == 0
        )

    wait_until(drained, timeout=timeout, interval=0.1, what="the ledger to drain")


def _queue_burst(stack: Stack, records: int, label: str) -> list[dict]:
    """Create `records` Customers with the emulator's webhooks paused (delivered on resume)."""
    stack.qbo("PATCH", "/webhooks", json={"paused": True})
    with ThreadPoolExecutor(4) as pool:
        return list(
            pool.map(
                lambda n: stack.create_entity(
                    "Customer", {"DisplayName": f"{label} {n} {uuid.uuid4().hex[:6]}"}
                ),
                range(records),
            )
        )


def drain(stack: Stack, sf, records: int, metrics: tuple[str, str]) -> dict:
    """A burst delivered at once; from the first delivery to the last Account readable."""
    ledger = Store.open(stack.middleware_env["QBSYNC_DATABASE_URL"]).events
    settled_before = sum(ledger.counts().values())
    created = _queue_burst(stack, records, "Burst")
    last = max(created, key=lambda c: int(c["Id"]))
    before = worker_calls(*metrics)
    deliveries = stack.qbo("GET", "/deliveries")
    _reset_meters(stack)
    progress = _Progress(ledger, settled_before).start()
    started = time.perf_counter()
    stack.qbo("PATCH", "/webhooks", json={"paused": False})
    stack.wait_for_record(sf, "Account", "Customer", last["Id"], timeout=600)
    _wait_drained(ledger, settled_before, records, timeout=600)
    elapsed = time.perf_counter() - started
    samples = progress.stop()
    after = worker_calls(*metrics)
    reads = sum(after["quickbooks"].values()) - sum(before["quickbooks"].values())
    calls = sum(after["salesforce"].values()) - sum(before["salesforce"].values())
    return {
        "records": records,
        "drained_s": round(elapsed, 2),
        "records_per_s": round(records / elapsed, 1),
        "webhook_batches": stack.qbo("GET", "/deliveries")["batches"] - deliveries["batches"],
        "quickbooks_reads": reads,
        "salesforce_calls": calls,
        "quickbooks_reads_per_event": round(reads / records, 4),
        "salesforce_calls_per_event": round(calls / records, 4),
        "emulators": _emulator_share(stack, elapsed),
    }, samples


def baseline_drain(stack: Stack, sf, records: int) -> dict:
    """The same burst through `PerEventConnector`, with the product's worker stopped."""
    stack.kill("worker")
    ledger = Store.open(stack.middleware_env["QBSYNC_DATABASE_URL"]).events
    settled_before = sum(ledger.counts().values())
    connector = PerEventConnector(stack, sf)
    _queue_burst(stack, records, "Baseline")
    _reset_meters(stack)
    progress = _Progress(ledger, settled_before).start()
    started = time.perf_counter()
    stack.qbo("PATCH", "/webhooks", json={"paused": False})
    connector.drain(records, timeout=3600)
    _wait_drained(ledger, settled_before, records, timeout=60)
    elapsed = time.perf_counter() - started
    samples = progress.stop()
    reads_per_event = connector.quickbooks_reads / records
    return {
        "records": records,
        "drained_s": round(elapsed, 2),
        "records_per_s": round(records / elapsed, 1),
        "quickbooks_reads": connector.quickbooks_reads,
        "salesforce_calls": connector.salesforce_calls,
        "quickbooks_reads_per_event": round(reads_per_event, 4),
        "salesforce_calls_per_event": round(connector.salesforce_calls / records, 4),
        "throttled": connector.throttled,
        # Intuit's 500 reads a minute bound a per-event connector, whatever its speed.
        "projected_minutes_for_10000": round(10_000 * reads_per_event / READS_PER_MINUTE, 1),
        "emulators": _emulator_share(stack, elapsed),
    }, samples


QUICK = {
    "batches": 40,
    "stalled": 20,
    "single_changes": 10,
    "burst": 100,
    "baseline_burst": 50,
    "six_realm_burst": (150, 30),
    "scale_out_burst": (100, 20),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--batches", type=int, default=300, help="webhook batches to POST")
    parser.add_argument("--events-per-batch", type=int, default=10)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="concurrent webhook senders for the ingest (issue 19's target is stated at 4)",
    )
    parser.add_argument(
        "--stalled", type=int, default=300, help="stalled connections held during the second ingest"
    )
    parser.add_argument(
        "--single-changes", type=int, default=50, help="changes, one every 200 ms, for latency"
    )
    parser.add_argument("--burst", type=int, default=1000, help="Customers delivered at once")
    parser.add_argument("--qbo-latency-ms", type=int, default=120)
    parser.add_argument("--sf-latency-ms", type=int, default=180)
    parser.add_argument(
        "--no-latency",
        action="store_true",
        help="no injected latency (single change measured once)",
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also drain a burst through the per-event connector (bench_baseline.py)",
    )
    parser.add_argument("--baseline-burst", type=int, default=1000)
    parser.add_argument(
        "--quick", action="store_true", help="small loads, the baseline included (well under 2 min)"
    )
    parser.add_argument(
        "--json", type=Path, help="where to write the figures (default: .bench/<time>/bench.json)"
    )
    parser.add_argument(
        "--invoices", type=int, help="only the invoice burst: this many invoices (e.g. 1000)"
    )
    parser.add_argument("--lines", type=int, default=10, help="lines per invoice of the burst")
    parser.add_argument(
        "--six-realm-burst",
        type=_sizes,
        default=(10_000, 1_000),
        metavar="BUSY,EACH",
        help="Customers in the busy realm and in each of five more (default 10000,1000)",
    )
    parser.add_argument(
        "--scale-out-burst",
        type=_sizes,
        default=(10_000, 1_000),
        metavar="BUSY,EACH",
        help="the six-realm burst drained by 1, 2 and 4 workers on PostgreSQL",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("QBSYNC_TEST_POSTGRES_URL"),
        help="a PostgreSQL server for the scale-out and --ingest-only (a scratch database is "
        "made and dropped; default: $QBSYNC_TEST_POSTGRES_URL); without one both leave it out",
    )
    parser.add_argument(
        "--backfill", type=int, help="only the historical sync: this many Customers (e.g. 50000)"
    )
    parser.add_argument(
        "--ingest-only",
        action="store_true",
        help="only the webhook ingest (no stalled connections, no emulator latency involved); "
        "on SQLite, then on PostgreSQL given --postgres-url",
    )
    parser.add_argument(
        "--single-only",
        action="store_true",
        help="only the single-change latency (without, then with the injected latency)",
    )
    parser.add_argument(
        "--no-side-by-side",
        action="store_true",
        help="with --backfill: skip the Collections-only run",
    )
    args = parser.parse_args(argv)
    if args.quick:
        vars(args).update(QUICK, baseline=True)
    for name in ("qbo_latency_ms", "sf_latency_ms"):
        try:
            check_latency(getattr(args, name))
        except ValueError as error:
            parser.error(f"--{name.replace('_', '-')}: {error}")
    json_path = args.json or Path(".bench") / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    if args.json is None:
        json_path = json_path / "bench.json"
    if args.invoices:
        with tempfile.TemporaryDirectory(prefix="qbsync-bench-") as workdir:
            figures = {"invoices": invoice_burst(Path(workdir), args.invoices, args.lines)}
        print(f"invoice burst   {figures['invoices']}")
        _write(json_path, figures)
        return 0
    latency_ms = (0, 0) if args.no_latency else (args.qbo_latency_ms, args.sf_latency_ms)
    if args.backfill:
        with tempfile.TemporaryDirectory(prefix="qbsync-bench-") as workdir:
            figures = {
                "backfill": backfill_bench(
                    Path(workdir), args.backfill, latency_ms, side_by_side=not args.no_side_by_side
                )
            }
        print_backfill(figures["backfill"])
        _write(json_path, figures)
        return 0
    token = secrets.token_urlsafe(32)
    bind = f"127.0.0.1:{free_port()}"
    extra = {
        "QBSYNC_METRICS_TOKEN": token,
        "QBSYNC_WORKER_HEALTH_BIND": bind,
        # The product's safety poll, not the sandbox's 0.05 s: a stored event wakes the worker,
        # so the latency figures show the wake-up, not a fast poll.
        "QBSYNC_WORKER_POLL_SECONDS": str(Settings.worker_poll_seconds),
    }
    metrics = (f"http://{bind}/metrics", token)
    if args.ingest_only:
        figures = {"ingest": ingest_on(None, args, extra)}
        print(f"webhook ingest   {figures['ingest']}")
        if args.postgres_url:
            figures["ingest_postgres"] = ingest_on(args.postgres_url, args, extra)
            print(f"webhook ingest, PostgreSQL {figures['ingest_postgres']}")
        _write(json_path, figures)
        return 0
    with (
        tempfile.TemporaryDirectory(prefix="qbsync-bench-") as workdir,
        Stack(Path(workdir), extra_env=extra) as stack,
    ):
        stack.connect()
        sf = stack.salesforce()
        stack.apply_recommended_mappings(enable=("Customer",))
        figures: dict = {"latency_ms": {"quickbooks": latency_ms[0], "salesforce": latency_ms[1]}}
        # Raw samples for the plots: latencies in ms, [seconds, events applied] for the drains.
        series = figures["series"] = {}
        if args.single_only:
            _single_changes(stack, sf, args, latency_ms, figures)
            _print_single(figures)
            _write(json_path, figures)
            return 0
        add_realms(stack, (*BURST_REALMS, PROBE_REALM))
        figures["ingest"] = ingest(stack, args.batches, args.events_per_batch, args.concurrency)
        figures["ingest_stalled"] = ingest_stalled(stack, args.stalled, 50, args.events_per_batch)
        _single_changes(stack, sf, args, latency_ms, figures)
        figures["drain"], series["drain"] = drain(stack, sf, args.burst, metrics)
        figures["burst"], series["burst"] = burst(
            stack, sf, args.six_realm_burst, metrics, _readable_at, _latency_summary
        )
        if args.baseline:
            figures["baseline"], series["baseline"] = baseline_drain(stack, sf, args.baseline_burst)
    if args.postgres_url:
        with tempfile.TemporaryDirectory(prefix="qbsync-bench-") as workdir:
            figures["scale_out"], series["scale_out"] = scale_out(
                Path(workdir), args.postgres_url, args.scale_out_burst, latency_ms
            )
    _print(figures)
    _write(json_path, figures)
    for plot in write_plots(figures, json_path.parent):
        print(f"plot written to {plot}")
    return 0


def _single_changes(stack: Stack, sf, args: argparse.Namespace, latency_ms, figures) -> None:
    """The single-change figures without latency, then (unless --no-latency) with it."""
    series = figures["series"]
    figures["single_change_no_latency"], series["single_change_no_latency_ms"] = single_change(
        stack, sf, args.single_changes
    )
    set_latency(stack, *latency_ms)
    if not args.no_latency:
        figures["single_change"], series["single_change_ms"] = single_change(
            stack, sf, args.single_changes
        )


def _print_single(figures: dict) -> None:
    print(f"single change, no latency {figures['single_change_no_latency']}")
    if "single_change" in figures:
        print(f"single change, injected latency {figures['single_change']}")


def _print(figures: dict) -> None:
    print(f"injected latency {figures['latency_ms']}")
    print(f"webhook ingest   {figures['ingest']}")
    print(f"ingest, stalled  {figures['ingest_stalled']}")
    _print_single(figures)
    print(f"burst drain      {figures['drain']}")
    print(f"six-realm burst  {figures['burst']}")
    if "scale_out" in figures:
        print(f"scale-out (PostgreSQL) {figures['scale_out']}")
    if "baseline" in figures:
        base, ours = figures["baseline"], figures["drain"]
        print(f"per-event drain  {base}")
        print(
            f"side by side: drain {ours['drained_s']} s ({ours['records']} events) vs "
            f"{base['drained_s']} s ({base['records']} events, per event); QuickBooks reads per "
            f"event {ours['quickbooks_reads_per_event']} vs {base['quickbooks_reads_per_event']}; "
            f"Salesforce calls per event {ours['salesforce_calls_per_event']} vs "
            f"{base['salesforce_calls_per_event']}"
        )
        print(
            f"projection: 10,000 events per event need {base['projected_minutes_for_10000']} min "
            f"at Intuit's {READS_PER_MINUTE} reads a minute"
        )


def _sizes(text: str) -> tuple[int, int]:
    """`BUSY,EACH` → two positive counts."""
    try:
        busy, each = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("give two counts: BUSY,EACH") from None
    if busy < 1 or each < 1:
        raise argparse.ArgumentTypeError("both counts must be at least 1")
    return busy, each


def _latency_summary(values: list[float]) -> dict:
    return {**summary(values), "p99_ms": round(percentile(values, 0.99) * 1000, 1)}


def _write(path: Path, figures: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2))
    print(f"figures written to {path}")


if __name__ == "__main__":
    exit_on_sigterm()
    raise SystemExit(main())
