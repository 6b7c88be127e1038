"""`./scripts/bench`'s burst and scale-out figures (issue 19).

Burst: 10,000 Customer changes in one realm and 1,000 in each of five more, created while the
emulator's webhooks are paused and delivered at once; drain time (first delivery → the ledger
settled and the last Account readable), QuickBooks reads and Salesforce calls per event (the
worker's `/metrics`), the latency of single changes made in a seventh realm during the drain
(created every 0.5 s, each clocked until its Account is readable: fairness), and the peak
resident memory (VmHWM) of the web processes and the worker.

Scale-out: the same six-realm burst on one PostgreSQL ledger (a scratch database) drained by 1, 2
and 4 worker processes in turn; events per second for each count, how busy the machine's cores
were during the drain and the CPU seconds each role took (`cpu_use.py`). Workers not in the run
are stopped; the run's workers are started and idle before the webhooks resume.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from simple_salesforce import format_soql
from sqlalchemy import select

from qbsync.salesforce.schema import external_id
from qbsync.store import Store, schema
from qbsync_sandbox.postgres import scratch_database
from qbsync_sandbox.scenarios.bench_backfill import _peak_rss_mb
from qbsync_sandbox.scenarios.bench_invoices import worker_calls
from qbsync_sandbox.scenarios.cpu_use import CpuUse
from qbsync_sandbox.stack import Stack, wait_until

# Realms beside the sandbox's own: five more for the burst, a seventh for the latency probes.
BURST_REALMS = tuple(f"46208163650000{n:02d}" for n in range(1, 6))
PROBE_REALM = "4620816365000099"
PROBE_EVERY = 0.5
# The emulated org's daily API allocation for the burst: the benchmark's own look-ups (each probe
# queries until its Account is readable) would use up a real org's, and the product's calls are
# counted from the worker's metrics, not from it.
BENCH_API_LIMIT = 100_000_000
# Customers per bulk create of the emulator's admin API.
SEED_CHUNK = 1_000


def add_realms(stack: Stack, realms: tuple[str, ...]) -> None:
    """Connect each realm as a company of its own, with Customer syncing in real time."""
    for realm in realms:
        stack.add_company(realm, f"Burst Company {realm[-2:]}")
        stack.apply_recommended_mappings(enable=("Customer",), realm=realm, only=("Customer",))


def _create(stack: Stack, plan: list[tuple[str, int]], label: str) -> dict[str, list[str]]:
    """Create the Customers of `plan` ((realm, count), …) with the webhooks paused; their ids by
    realm. Through the emulator's bulk endpoint with `notify`, which queues one change per record
    as single creates do: 15,000 admin calls took 7.5 minutes on a loaded machine, a few dozen
    bulk calls take seconds."""
    stack.qbo("PATCH", "/webhooks", json={"paused": True})
    created: dict[str, list[str]] = {}
    for realm, count in plan:
        ids = created.setdefault(realm, [])
        for start in range(0, count, SEED_CHUNK):
            records = [
                {"DisplayName": f"{label} {n} {uuid.uuid4().hex[:6]}"}
                for n in range(start, min(count, start + SEED_CHUNK))
            ]
            path = f"/companies/{realm}/Customer/bulk"
            ids += stack.qbo("POST", path, json={"records": records, "notify": True})["ids"]
    return created


def _drained(ledger, settled_before: int, events: int) -> Callable[[], bool]:
    def check() -> bool:
        counts = ledger.counts()
        settled = sum(counts.values()) - counts["pending"] - counts["claimed"]
        return settled - settled_before >= events and counts["pending"] == counts["claimed"] == 0

    return check


def _settled(ledger) -> int:
    counts = ledger.counts()
    return sum(counts.values()) - counts["pending"] - counts["claimed"]


def _last_readable(stack: Stack, sf, created: dict[str, list[str]]) -> None:
    for realm, ids in created.items():
        last = max(ids, key=int)
        stack.wait_for_record(sf, "Account", "Customer", last, realm=realm, timeout=900)


class _Probes:
    """Single changes in the probe realm every `PROBE_EVERY` s while a drain runs; each clocked
    end to end (created → Account readable) and after the webhook (stored in the ledger →
    readable). The second is the product's share: it leaves out the emulator's webhook
    delivery, which queues each realm's changes apart and posts the realms' notifications side
    by side (`emulators/quickbooks/delivery.py`), so a probe does not wait behind the burst's
    changes there, only for its own realm's notification."""

    def __init__(self, stack: Stack, sf, readable_at: Callable[..., float], ledger) -> None:
        self._stack, self._sf, self._readable_at = stack, sf, readable_at
        self._engine = ledger.engine
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(4)
        self._futures: list = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _one(self, n: int) -> tuple[float, float]:
        """(created → readable, stored → readable) in seconds."""
        started = time.perf_counter()
        customer = self._stack.create_entity(
            "Customer", {"DisplayName": f"Probe {n} {uuid.uuid4().hex[:6]}"}, realm=PROBE_REALM
        )
        key = external_id(PROBE_REALM, "Customer", customer["Id"])
        soql = format_soql("SELECT Id FROM Account WHERE QB_External_Id__c = {}", key)
        readable = self._readable_at(self._sf, soql, timeout=600, every=0.1)
        readable_wall = datetime.now(UTC) - timedelta(seconds=time.perf_counter() - readable)
        return readable - started, (readable_wall - self._stored_at(customer["Id"])).total_seconds()

    def _stored_at(self, customer_id: str) -> datetime:
        """When the web process stored the probe's change (its clock is this machine's)."""
        c = schema.events.c
        statement = (
            select(c.received_at)
            .where(c.realm_id == PROBE_REALM, c.entity == "Customer", c.entity_id == customer_id)
            .order_by(c.id)
            .limit(1)
        )
        with self._engine.connect() as connection:
            stored = connection.execute(statement).scalar_one()
        return stored if stored.tzinfo else stored.replace(tzinfo=UTC)

    def _run(self) -> None:
        n = 0
        while True:  # the first at once: even a short drain has one
            self._futures.append(self._pool.submit(self._one, n))
            n += 1
            if self._stop.wait(PROBE_EVERY):
                return

    def start(self) -> _Probes:
        self._thread.start()
        return self

    def stop(self) -> tuple[list[float], list[float]]:
        """The probes' latencies: end to end, and after the webhook."""
        self._stop.set()
        self._thread.join()
        latencies = [future.result() for future in self._futures]
        self._pool.shutdown()
        return [end for end, _ in latencies], [after for _, after in latencies]


def burst(
    stack: Stack,
    sf,
    sizes: tuple[int, int],
    metrics: tuple[str, str],
    readable_at: Callable[..., float],
    summary: Callable[[list[float]], dict],
) -> tuple[dict, list[list[float]]]:
    """The six-realm burst on the bench's stack (its realms added by `add_realms`)."""
    busy, each = sizes
    plan = [(stack.realm_id, busy), *((realm, each) for realm in BURST_REALMS)]
    events = busy + each * len(BURST_REALMS)
    ledger = Store.open(stack.middleware_env["QBSYNC_DATABASE_URL"]).events
    stack.sf_admin("PUT", "/usage", json={"used": 0, "max": BENCH_API_LIMIT})
    created = _create(stack, plan, "Burst6")
    settled_before = _settled(ledger)
    before = worker_calls(*metrics)
    samples: list[list[float]] = []
    probes = _Probes(stack, sf, readable_at, ledger)
    started = time.perf_counter()
    stack.qbo("PATCH", "/webhooks", json={"paused": False})
    probes.start()

    def progress() -> bool:
        settled = _settled(ledger) - settled_before
        samples.append([round(time.perf_counter() - started, 2), settled])
        # The probes add events until the end: only the six realms' backlog must be gone.
        waiting = [realm for realm, *_ in ledger.backlog() if realm != PROBE_REALM]
        return settled >= events and not waiting

    wait_until(progress, timeout=1800, interval=0.25, what="the six-realm burst to drain")
    _last_readable(stack, sf, created)
    elapsed = time.perf_counter() - started
    latencies, after_webhook = probes.stop()
    after = worker_calls(*metrics)
    reads = sum(after["quickbooks"].values()) - sum(before["quickbooks"].values())
    calls = sum(after["salesforce"].values()) - sum(before["salesforce"].values())
    # The probes' own events are in these counts too: per event is over every event applied.
    applied = events + len(latencies)
    web = [stack.processes["web"].pid, *stack.child_pids("web")]
    return {
        "records": events,
        "realms": len(plan),
        "busy_realm_records": busy,
        "drained_s": round(elapsed, 2),
        "records_per_s": round(events / elapsed, 1),
        "quickbooks_reads": reads,
        "salesforce_calls": calls,
        "quickbooks_reads_per_event": round(reads / applied, 4),
        "salesforce_calls_per_event": round(calls / applied, 4),
        "probe_latency": summary(latencies),
        "probe_latency_after_webhook": summary(after_webhook),
        "peak_rss_mb": {
            "web": max(_peak_rss_mb(pid) or 0.0 for pid in web),
            "worker": _peak_rss_mb(stack.processes["worker"].pid),
        },
    }, samples


def _starts(stack: Stack, name: str) -> int:
    """How many times the worker's log says it started (the log is appended to)."""
    path = stack.log_path(name)
    return path.read_text(errors="replace").count(" started") if path.exists() else 0


def _process_groups(stack: Stack, workers: list[str]) -> dict[str, list[int]]:
    """The sandbox's processes by role, for the CPU each role takes during a drain."""
    return {
        "workers": [stack.processes[name].pid for name in workers],
        "web": [stack.processes["web"].pid, *stack.child_pids("web")],
        "quickbooks_emulator": [stack.processes["quickbooks"].pid],
        "salesforce_emulator": [stack.processes["salesforce"].pid],
    }


def scale_out(
    workdir: Path,
    postgres_url: str,
    sizes: tuple[int, int],
    latency_ms: tuple[int, int],
    worker_counts: tuple[int, ...] = (1, 2, 4),
) -> tuple[dict, dict]:
    """The six-realm burst drained by each number of workers on one PostgreSQL ledger."""
    busy, each = sizes
    events = busy + each * len(BURST_REALMS)
    runs: dict[str, dict] = {}
    series: dict[str, list[list[float]]] = {}
    with scratch_database(postgres_url, "qbsync_bench") as url:
        stack = Stack(
            workdir,
            workers=max(worker_counts),
            extra_env={"QBSYNC_DATABASE_URL": url},
            qbo_latency_ms=latency_ms[0],
            sf_latency_ms=latency_ms[1],
        )
        with stack:
            stack.connect()
            stack.apply_recommended_mappings(enable=("Customer",))
            add_realms(stack, BURST_REALMS)
            sf = stack.salesforce()
            stack.sf_admin("PUT", "/usage", json={"used": 0, "max": BENCH_API_LIMIT})
            ledger = Store.open(url).events
            for name in stack.worker_names:
                stack.kill(name)
            plan = [(stack.realm_id, busy), *((realm, each) for realm in BURST_REALMS)]
            for count in worker_counts:
                created = _create(stack, plan, f"Scale{count}")
                names = stack.worker_names[:count]
                starts = {name: _starts(stack, name) for name in names}
                for name in names:
                    stack.respawn(name)
                for name in names:
                    wait_until(
                        lambda name=name, before=starts[name]: _starts(stack, name) > before,
                        timeout=60,
                        what=f"{name} to start",
                    )
                settled_before = _settled(ledger)
                samples: list[list[float]] = []
                cpu = CpuUse(_process_groups(stack, names)).start()
                started = time.perf_counter()
                stack.qbo("PATCH", "/webhooks", json={"paused": False})

                def progress(settled_before=settled_before, samples=samples, started=started):
                    applied = _settled(ledger) - settled_before
                    samples.append([round(time.perf_counter() - started, 2), applied])
                    return _drained(ledger, settled_before, events)()

                wait_until(progress, timeout=1800, interval=0.25, what=f"{count} workers' drain")
                _last_readable(stack, sf, created)
                elapsed = time.perf_counter() - started
                used = cpu.stop()
                runs[str(count)] = {
                    "workers": count,
                    "records": events,
                    "drained_s": round(elapsed, 2),
                    "records_per_s": round(events / elapsed, 1),
                    "machine_busy_pct": used["machine_busy_pct"],
                    "cpu_s": used["cpu_s"],
                    "worker_cpu_ms_per_event": round(1000 * used["cpu_s"]["workers"] / events, 3),
                }
                series[str(count)] = samples
                for name in names:
                    stack.kill(name)
    one, most = runs[str(worker_counts[0])], runs[str(worker_counts[-1])]
    return {
        "latency_ms": {"quickbooks": latency_ms[0], "salesforce": latency_ms[1]},
        "runs": runs,
        "speedup": round(one["drained_s"] / most["drained_s"], 2),
    }, series
