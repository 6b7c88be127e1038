"""Soak run of the sandbox: steady load, random faults and kills, then drain and verify.

`scripts/soak --minutes N [--json out.json]` (and `tests/e2e/test_soak.py`) run `Soak` on a
`Stack`: two QuickBooks companies are connected through the real OAuth flow and configured with
the recommended mappings (Customer, Vendor, Item enabled). For N minutes a load generator makes
creates, updates, deletes and merges in both companies at a steady rate, while a chaos loop
injects faults into both emulators (5xx, 429, timeouts, UNABLE_TO_LOCK_ROW,
REQUEST_LIMIT_EXCEEDED, INVALID_SESSION_ID, expired sessions and access tokens, a locked ledger)
and SIGKILLs the web process group or the worker. Webhooks are duplicated, reordered and dropped
throughout (dropped ones can only come back through CDC reconciliation).

Then the faults stop and the run drains: it waits until the emulator has delivered everything,
the ledger holds no unsettled event and `qbsync verify` reports no drift in either company.
"lost" counts what did not arrive: records still drifting plus events never settled. "duplicate
records" counts Salesforce records beyond the first per external id (and synced records without
one). Both must be 0.

Everything stays on 127.0.0.1; the load is bounded by the duration and `rate`.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qbsync.config import load_settings
from qbsync.store import StoreUnavailable
from qbsync_sandbox.probes import (
    LedgerLock,
    backlog,
    duplicate_records,
    ledger_counts,
    verify,
    wait_drained,
)
from qbsync_sandbox.stack import Stack, StackError, exit_on_sigterm

SECOND_REALM = "4620816365280002"
ENABLED = ("Customer", "Vendor", "Item")
UNSETTLED_STATES = ("pending", "claimed")


# --- the soak run ----------------------------------------------------------------------------


@dataclass
class SoakConfig:
    minutes: float = 1.0
    rate: float = 4.0  # QuickBooks changes per second, over both companies
    fault_every: float = 6.0  # seconds between injected faults (mean)
    kill_every: float = 20.0  # seconds between kills (mean)
    # 429 (a realm wait, 60 s by default) and read timeouts (30 s / 60 s client waits by default)
    slow_faults: bool = True
    drain_timeout: float = 300.0
    seed: int | None = None
    webhook_chaos: dict[str, float] = field(
        default_factory=lambda: {"duplicate_rate": 0.1, "reorder_rate": 0.2, "drop_rate": 0.05}
    )


@dataclass
class SoakReport:
    minutes: float
    realms: int
    changes: dict[str, int]
    events_sent: int
    webhooks_duplicated: int
    webhooks_dropped: int
    events_accepted: int
    events_from_cdc: int
    applied: int
    skipped: int
    failed: int
    lost: int
    unsettled: int
    drift: int
    duplicate_records: int
    faults_injected: dict[str, int]
    kills: dict[str, int]
    max_backlog: int
    drain_seconds: float | None
    seed: int
    verify: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def table(self) -> str:
        rows = [
            ("duration (minutes)", f"{self.minutes:g}"),
            ("companies (realms)", self.realms),
            ("QuickBooks changes made", _breakdown(self.changes)),
            ("events sent (webhook events delivered)", self.events_sent),
            ("  of which duplicated deliveries", self.webhooks_duplicated),
            ("webhook events dropped (CDC's job)", self.webhooks_dropped),
            ("events accepted in the ledger", self.events_accepted),
            ("  of which from CDC reconciliation", self.events_from_cdc),
            ("applied (done)", self.applied),
            ("skipped", self.skipped),
            ("failed (failed + dead)", self.failed),
            ("lost (drifting records + unsettled events)", self.lost),
            ("duplicate records in Salesforce", self.duplicate_records),
            ("faults injected", f"{sum(self.faults_injected.values())}"),
            ("  by kind", _breakdown(self.faults_injected)),
            ("kills (SIGKILL)", _breakdown(self.kills)),
            ("maximum backlog (events)", self.max_backlog),
            (
                "time to drain after the last fault (s)",
                "never" if self.drain_seconds is None else f"{self.drain_seconds:.1f}",
            ),
            ("seed", self.seed),
        ]
        width = max(len(label) for label, _ in rows)
        lines = [f"| {'measure'.ljust(width)} | value |", f"|{'-' * (width + 2)}|-------|"]
        lines += [f"| {label.ljust(width)} | {value} |" for label, value in rows]
        return "\n".join(lines)


def _breakdown(counts: dict[str, int]) -> str:
    if not counts:
        return "0"
    parts = ", ".join(f"{key} {value}" for key, value in sorted(counts.items()))
    return f"{sum(counts.values())} ({parts})"


class Soak:
    """One soak run on a started `Stack` (see the module docstring)."""

    def __init__(
        self, stack: Stack, config: SoakConfig, log: Callable[[str], None] = print
    ) -> None:
        self.stack = stack
        self.config = config
        self.seed = config.seed if config.seed is not None else random.randrange(1 << 30)  # noqa: S311
        self._rng = random.Random(self.seed)  # noqa: S311 - load shape, not security
        self._log = log
        self.realms = (stack.realm_id, SECOND_REALM)
        # Live (not deleted, not merged away) QuickBooks ids per (realm, entity).
        self._live: dict[tuple[str, str], list[str]] = {
            (realm, entity): [] for realm in self.realms for entity in ENABLED
        }
        self.changes: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.kills: Counter[str] = Counter()
        self.max_backlog = 0
        self._stop = threading.Event()
        self._errors: list[str] = []

    # --- setup ----------------------------------------------------------------------------

    def setup(self) -> None:
        """Connect both companies and map + enable Customer, Vendor and Item in each."""
        stack = self.stack
        stack.connect()
        stack.add_company(SECOND_REALM, "Soak Second Company")
        for realm in self.realms:
            stack.apply_recommended_mappings(enable=ENABLED, realm=realm)
        stack.qbo("PATCH", "/webhooks", json={**self.config.webhook_chaos, "seed": self.seed})

    # --- load -----------------------------------------------------------------------------

    def _change(self) -> None:
        realm = self._rng.choice(self.realms)
        entity = self._rng.choice(ENABLED)
        live = self._live[(realm, entity)]
        roll = self._rng.random()
        tag = uuid.uuid4().hex[:10]
        if len(live) < 3 or roll < 0.4:
            record = self.stack.create_entity(entity, _new_record(entity, tag), realm=realm)
            live.append(record["Id"])
            self.changes["create"] += 1
        elif roll < 0.75:
            self.stack.update_entity(
                entity, self._rng.choice(live), _changed_fields(entity, tag), realm=realm
            )
            self.changes["update"] += 1
        elif roll < 0.87 or entity == "Item":
            victim = live.pop(self._rng.randrange(len(live)))
            self.stack.delete_entity(entity, victim, realm=realm)
            self.changes["delete"] += 1
        else:
            source, target = self._rng.sample(live, 2)
            self.stack.merge_entities(entity, source, target, realm=realm)
            live.remove(source)
            self.changes["merge"] += 1

    def _load(self, until: float) -> None:
        interval = 1.0 / self.config.rate
        next_at = time.monotonic()
        while time.monotonic() < until and not self._stop.is_set():
            try:
                self._change()
            except Exception as error:  # noqa: BLE001 - reported, the run goes on
                self._errors.append(f"load: {type(error).__name__}: {error}")
            next_at += interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    # --- chaos ----------------------------------------------------------------------------

    def _fault_menu(self) -> list[tuple[str, Callable[[], None]]]:
        stack, rng = self.stack, self._rng

        def sf_path() -> str:
            return "/composite/sobjects/" + rng.choice(("Account", "Product2"))

        menu: list[tuple[str, Callable[[], None]]] = [
            (
                "qbo_5xx",
                lambda: stack.qbo_fault(
                    rng.choice(("query", "cdc")),
                    "error",
                    status=rng.choice((500, 502, 503)),
                    count=rng.randint(1, 3),
                ),
            ),
            ("qbo_latency", lambda: stack.qbo_fault("query", "latency", latency_ms=800, count=3)),
            ("qbo_oauth_5xx", lambda: stack.qbo_fault("oauth", "error", count=1)),
            (
                "qbo_access_token_expired",
                lambda: stack.qbo(
                    "POST", "/oauth/expire", json={"realmId": rng.choice(self.realms)}
                ),
            ),
            (
                "sf_unable_to_lock_row",
                lambda: stack.sf_fault("lock_row", count=rng.randint(1, 5), path=sf_path()),
            ),
            ("sf_request_limit", lambda: stack.sf_fault("request_limit", count=1, path=sf_path())),
            ("sf_invalid_session", lambda: stack.sf_fault("invalid_session", count=1)),
            ("sf_sessions_expired", lambda: stack.sf_fault("expire_sessions")),
            ("sf_latency", lambda: stack.sf_fault("latency", seconds=1.0, count=3)),
            ("ledger_locked_2s", self._lock_ledger),
        ]
        if self.config.slow_faults:
            # A stall one second longer than the middleware's read timeout (its settings).
            settings = load_settings(stack.middleware_env)
            qb_stall = settings.quickbooks_timeout_seconds + 1
            sf_stall = settings.salesforce_timeout_seconds + 1
            menu += [
                ("qbo_429", lambda: stack.qbo_fault("query", "throttle", count=1)),
                (
                    "qbo_timeout",
                    lambda: stack.qbo_fault("query", "timeout", seconds=qb_stall, count=1),
                ),
                (
                    "sf_timeout",
                    lambda: stack.sf_fault("timeout", seconds=sf_stall, count=1, path=sf_path()),
                ),
            ]
        return menu

    def _lock_ledger(self) -> None:
        def hold() -> None:
            with LedgerLock(self.stack):
                time.sleep(2.0)

        threading.Thread(target=hold, name="ledger-lock", daemon=True).start()

    def _kill(self) -> None:
        name = self._rng.choice(("web", "worker"))
        self.stack.kill(name)
        self.kills[name] += 1
        self.stack.respawn(name)

    def _chaos(self, until: float) -> None:
        menu = self._fault_menu()
        # The first fault and the first kill come within the first third of the run, so even a
        # short run has both; after that the gaps are exponential (a Poisson process).
        third = (until - time.monotonic()) / 3
        next_fault = time.monotonic() + self._rng.uniform(0, min(self.config.fault_every, third))
        next_kill = time.monotonic() + self._rng.uniform(0, min(self.config.kill_every, third))
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= until:
                return
            try:
                if now >= next_fault:
                    name, inject = self._rng.choice(menu)
                    inject()
                    self.faults[name] += 1
                    next_fault = now + self._rng.expovariate(1 / self.config.fault_every)
                if now >= next_kill:
                    self._kill()
                    next_kill = now + self._rng.expovariate(1 / self.config.kill_every)
            except Exception as error:  # noqa: BLE001 - reported, the run goes on
                self._errors.append(f"chaos: {type(error).__name__}: {error}")
            self._stop.wait(0.2)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.max_backlog = max(self.max_backlog, backlog(ledger_counts(self.stack)))
            except StoreUnavailable:
                pass  # the chaos loop locks the ledger now and then
            self._stop.wait(0.5)

    # --- the run --------------------------------------------------------------------------

    def run(self) -> SoakReport:
        duration = self.config.minutes * 60
        until = time.monotonic() + duration
        self._log(
            f"soak: {self.config.minutes:g} min, {self.config.rate:g} changes/s, seed {self.seed}"
        )
        sampler = threading.Thread(target=self._sample, name="soak-sampler", daemon=True)
        chaos = threading.Thread(target=self._chaos, args=(until,), name="soak-chaos", daemon=True)
        sampler.start()
        chaos.start()
        try:
            self._load(until)
            chaos.join()
        finally:
            self._stop.set()
            sampler.join()
        # Make sure both processes are up (a kill may have been the last thing that happened).
        for name in ("web", "worker"):
            if self.stack.processes[name].poll() is not None:
                self.stack.respawn(name)
        # No new faults from here; the ones already injected may still be waiting to fire.
        last_fault_at = time.monotonic()
        self._log(f"soak: load done ({sum(self.changes.values())} changes); draining")
        drain: float | None
        try:
            wait_drained(self.stack, self.config.drain_timeout, realms=self.realms)
            drain = time.monotonic() - last_fault_at
        except StackError as error:
            self._errors.append(f"drain: {error}")
            drain = None
        return self._report(drain)

    def _report(self, drain: float | None) -> SoakReport:
        checks = [verify(self.stack, realm) for realm in self.realms]
        counts = ledger_counts(self.stack)
        stats = self.stack.qbo("GET", "/deliveries")
        drift = sum(v.drift for v in checks)
        unsettled = sum(counts[state] for state in UNSETTLED_STATES) + counts["retrying"]
        duplicates = duplicate_records(self.stack)
        faults = dict(self.faults)
        for note in self._errors:
            self._log(f"soak: {note}")
        return SoakReport(
            minutes=self.config.minutes,
            realms=len(self.realms),
            changes=dict(self.changes),
            events_sent=stats["deliveredEvents"],
            webhooks_duplicated=stats["duplicated"],
            webhooks_dropped=stats["dropped"],
            events_accepted=counts["total"],
            events_from_cdc=counts.get("source_cdc", 0),
            applied=counts["done"],
            skipped=counts["skipped"],
            failed=counts["failed"] + counts["dead"],
            lost=drift + unsettled,
            unsettled=unsettled,
            drift=drift,
            duplicate_records=sum(duplicates.values()),
            faults_injected=faults,
            kills=dict(self.kills),
            max_backlog=self.max_backlog,
            drain_seconds=None if drain is None else round(drain, 1),
            seed=self.seed,
            verify=[v.output.strip() for v in checks],
        )


def _new_record(entity: str, tag: str) -> dict:
    if entity == "Item":
        return {
            "Name": f"Soak item {tag}",
            "Sku": tag[:6].upper(),
            "Type": "NonInventory",
            "IncomeAccountRef": {"value": "1"},
        }
    return {
        "DisplayName": f"Soak {entity.lower()} {tag}",
        "BillAddr": {"City": "Soakville", "PostalCode": "94000"},
    }


def _changed_fields(entity: str, tag: str) -> dict:
    if entity == "Item":
        return {"Description": f"revision {tag}"}
    return {"DisplayName": f"Soak {entity.lower()} {tag}", "BillAddr": {"City": f"City {tag[:4]}"}}


def write_json(report: SoakReport, path: Path) -> None:
    path.write_text(json.dumps(report.as_json(), indent=2) + "\n")


SOAK_ENV = {
    # CDC reconciliation every 5 s instead of 15 min, so dropped webhooks come back in the run.
    "QBSYNC_RECONCILE_SECONDS": "5",
    # A killed worker's claimed events are claimable again after 20 s instead of 120 s.
    "QBSYNC_LEASE_SECONDS": "20",
    "QBSYNC_LOG_LEVEL": "WARNING",
}


def main(argv: list[str] | None = None) -> int:
    """`scripts/soak`: exit 0 when nothing was lost or duplicated, 1 otherwise."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(prog="scripts/soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="load duration (default 1)")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    parser.add_argument("--rate", type=float, default=4.0, help="QuickBooks changes per second")
    parser.add_argument(
        "--fault-every", type=float, default=6.0, help="mean seconds between faults"
    )
    parser.add_argument("--kill-every", type=float, default=20.0, help="mean seconds between kills")
    parser.add_argument(
        "--no-slow-faults",
        action="store_true",
        help="leave out 429 (60 s realm wait) and timeouts (30 s / 60 s client waits)",
    )
    parser.add_argument("--seed", type=int, help="random seed (printed, so a run can be repeated)")
    parser.add_argument("--workdir", type=Path, help="keep ledger and logs here (default: temp)")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.rate <= 0 or args.fault_every <= 0 or args.kill_every <= 0:
        parser.error("--minutes, --rate, --fault-every and --kill-every must be greater than 0")

    config = SoakConfig(
        minutes=args.minutes,
        rate=args.rate,
        fault_every=args.fault_every,
        kill_every=args.kill_every,
        slow_faults=not args.no_slow_faults,
        seed=args.seed,
    )
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="qbsync-soak-"))
    print(f"soak: sandbox in {workdir} (logs in {workdir / 'logs'})", flush=True)
    with Stack(workdir, extra_env=SOAK_ENV) as stack:
        soak = Soak(stack, config, log=lambda line: print(line, flush=True))
        soak.setup()
        report = soak.run()
    print(report.table())
    for output in report.verify:
        print(output)
    if args.json:
        write_json(report, args.json)
        print(f"soak: figures written to {args.json}")
    ok = report.lost == 0 and report.duplicate_records == 0 and report.drain_seconds is not None
    print("soak: PASS" if ok else "soak: FAIL (lost, duplicated or not drained)")
    return 0 if ok else 1


if __name__ == "__main__":
    exit_on_sigterm()
    raise SystemExit(main())
