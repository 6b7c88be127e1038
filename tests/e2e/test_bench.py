"""`./scripts/bench --quick` runs end to end; its JSON holds every figure, and the plots are written
(issue 19).

Keys present and numeric only: timings are figures of a shared machine, not pass/fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from numbers import Real

import pytest

pytestmark = pytest.mark.e2e

SUMMARY = ("n", "p50_ms", "p95_ms", "max_ms", "mean_ms")
EMULATORS = {
    system: ("requests", "busy_s", "cpu_s", "busy_share") for system in ("quickbooks", "salesforce")
}
DRAIN = (
    "records",
    "drained_s",
    "records_per_s",
    "quickbooks_reads",
    "salesforce_calls",
    "quickbooks_reads_per_event",
    "salesforce_calls_per_event",
)
FIGURES = {
    "latency_ms": ("quickbooks", "salesforce"),
    "ingest": (*SUMMARY, "p99_ms", "batches_per_s", "events_per_s"),
    "ingest_stalled": (*SUMMARY, "batches_per_s", "stalled_held"),
    "single_change_no_latency": (*SUMMARY, "p99_ms", "every_ms"),
    "single_change": (*SUMMARY, "p99_ms", "every_ms"),
    "drain": (*DRAIN, "webhook_batches"),
    "baseline": (*DRAIN, "throttled", "projected_minutes_for_10000"),
    "burst": (*DRAIN, "realms", "busy_realm_records"),
}
MEASURED_BY_EMULATORS = ("single_change_no_latency", "single_change", "drain", "baseline")


def _numeric(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)


def test_quick_bench_writes_every_figure(tmp_path):
    path = tmp_path / "bench.json"
    command = [sys.executable, "-m", "qbsync_sandbox.scenarios.bench", "--quick", "--json", path]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    figures = json.loads(path.read_text())
    for section, keys in FIGURES.items():
        for key in keys:
            assert _numeric(figures[section][key]), (section, key, figures[section].get(key))
    for section in MEASURED_BY_EMULATORS:
        for system, keys in EMULATORS.items():
            for key in keys:
                assert _numeric(figures[section]["emulators"][system][key]), (section, system, key)
    assert figures["latency_ms"] == {"quickbooks": 120, "salesforce": 180}
    assert figures["baseline"]["records"] == figures["baseline"]["salesforce_calls"]
    assert "side by side" in run.stdout and "projection" in run.stdout
    assert figures["burst"]["realms"] == 6
    assert set(figures["burst"]["peak_rss_mb"]) == {"web", "worker"}
    for memory in figures["burst"]["peak_rss_mb"].values():
        assert _numeric(memory) and memory > 0
    for figure in ("probe_latency", "probe_latency_after_webhook"):
        probes = figures["burst"][figure]
        for key in (*SUMMARY, "p99_ms"):
            assert _numeric(probes[key]), (figure, key)
    # Stored → readable is part of created → readable.
    assert (
        figures["burst"]["probe_latency_after_webhook"]["p50_ms"]
        <= figures["burst"]["probe_latency"]["p50_ms"]
    )
    for plot in ("latency.png", "drain.png", "burst.png"):
        assert (tmp_path / plot).read_bytes().startswith(b"\x89PNG"), plot
    assert len(figures["series"]["single_change_ms"]) == figures["single_change"]["n"]
    assert figures["series"]["baseline"][-1][1] == figures["baseline"]["records"]
    # The scale-out runs on the PostgreSQL server `.ci/run` provides, and is left out without one.
    if not os.environ.get("QBSYNC_TEST_POSTGRES_URL"):
        assert "scale_out" not in figures
        return
    assert _numeric(figures["scale_out"]["speedup"])
    runs = figures["scale_out"]["runs"]
    assert sorted(run["workers"] for run in runs.values()) == [1, 2, 4]
    for run in runs.values():
        assert _numeric(run["records_per_s"]) and _numeric(run["drained_s"])
        assert run["records"] == figures["scale_out"]["runs"]["1"]["records"]
        # The workers did the drain's work: they took CPU, and the cores were busy meanwhile.
        assert run["cpu_s"]["workers"] > 0 and 0 < run["machine_busy_pct"] <= 100
        assert set(run["cpu_s"]) == {
            "workers",
            "web",
            "quickbooks_emulator",
            "salesforce_emulator",
            "other",
        }
    assert (tmp_path / "scale_out.png").read_bytes().startswith(b"\x89PNG")


def test_backfill_bench_clocks_live_changes_during_the_job(tmp_path):
    """`--backfill N`: the job's figures, and the live changes made while it ran, each readable
    in Salesforce with its new value (issue 17: live changes go before the remaining pages)."""
    path = tmp_path / "bench.json"
    command = [
        sys.executable,
        "-m",
        "qbsync_sandbox.scenarios.bench",
        "--backfill",
        "3000",
        "--no-side-by-side",
        "--json",
        path,
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    backfill = json.loads(path.read_text())["backfill"]["default"]
    assert backfill["state"] == "Done"
    for key in ("duration_s", "salesforce_http_requests"):
        assert _numeric(backfill[key]), key
    # The job's own reads and calls, apart from the live changes' (issue 17's targets are read
    # against the job's): the job reads pages and upserts; each live change is read and upserted.
    job, live, total = backfill["job"], backfill["live_changes"], backfill["total"]
    assert job["quickbooks_reads"] >= 3 and job["salesforce_calls_by_kind"]["upsert"] >= 1
    assert live["quickbooks_reads"] >= 1
    assert live["salesforce_calls_by_kind"]["upsert"] >= 1
    for figure in ("quickbooks_reads", "salesforce_calls"):
        assert total[figure] == job[figure] + live[figure], figure
    live = backfill["live_change_latency"]
    assert live["changes"] >= 1 and live["not_readable"] == 0
    assert live["n"] == live["changes"]
    for key in SUMMARY:
        assert _numeric(live[key]), key
    assert "live changes during it" in run.stdout
    assert "the job's own: QuickBooks reads" in run.stdout
