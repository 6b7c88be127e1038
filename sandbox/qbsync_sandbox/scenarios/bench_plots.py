"""PNG plots of a `./scripts/bench` run, from the series its JSON holds (issue 19).

`latency.png`: the single-change latency distribution (cumulative share of changes within a time),
without and with the injected latency. `drain.png`: events applied over time for the burst, the
product's worker and the per-event connector on the same axes. `burst.png`: the six-realm burst
applied over time, on SQLite with one worker and on PostgreSQL with 1, 2 and 4; `scale_out.png`:
events per second by number of workers.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

from matplotlib import pyplot  # noqa: E402  (the backend must be chosen first)


def _cumulative(values: list[float]) -> tuple[list[float], list[float]]:
    ordered = sorted(values)
    return ordered, [(n + 1) / len(ordered) for n in range(len(ordered))]


def write_plots(figures: dict, directory: Path) -> list[Path]:
    """Write the plots the series of `figures` allow; returns their paths."""
    series = figures["series"]
    written = []
    figure, axes = pyplot.subplots(figsize=(7, 4))
    for key, label in (
        ("single_change_no_latency_ms", "no injected latency"),
        ("single_change_ms", "QuickBooks {quickbooks} ms, Salesforce {salesforce} ms"),
    ):
        if series.get(key):
            axes.step(
                *_cumulative(series[key]), where="post", label=label.format(**figures["latency_ms"])
            )
    axes.set_xlabel("QuickBooks change → record readable through Salesforce's REST API (ms)")
    axes.set_ylabel("share of changes")
    axes.set_title("Single change, one every 200 ms")
    axes.grid(alpha=0.3)
    axes.legend()
    written.append(_save(figure, directory / "latency.png"))

    figure, axes = pyplot.subplots(figsize=(7, 4))
    for key, label in (("drain", "product (batched)"), ("baseline", "per-event connector")):
        if series.get(key):
            times, applied = zip(*series[key], strict=True)
            axes.plot(times, applied, label=label)
    axes.set_xlabel("seconds since the first delivery")
    axes.set_ylabel("events applied")
    axes.set_title("Burst drain")
    axes.grid(alpha=0.3)
    axes.legend()
    written.append(_save(figure, directory / "drain.png"))
    if series.get("burst"):
        written.append(_burst(figures, series, directory / "burst.png"))
    if series.get("scale_out"):
        written.append(_scale_out(figures["scale_out"], directory / "scale_out.png"))
    return written


def _burst(figures: dict, series: dict, path: Path) -> Path:
    """Events applied over time: the six-realm burst on SQLite with one worker, and on
    PostgreSQL with each number of workers."""
    figure, axes = pyplot.subplots(figsize=(7, 4))
    times, applied = zip(*series["burst"], strict=True)
    axes.plot(times, applied, label="SQLite, 1 worker")
    for count, samples in (series.get("scale_out") or {}).items():
        if samples:
            times, applied = zip(*samples, strict=True)
            axes.plot(times, applied, label=f"PostgreSQL, {count} worker(s)")
    axes.set_xlabel("seconds since the first delivery")
    axes.set_ylabel("events applied")
    title = f"Six-realm burst: {figures['burst']['records']} events on SQLite"
    if "scale_out" in figures:
        title += f", {figures['scale_out']['runs']['1']['records']} on PostgreSQL"
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    return _save(figure, path)


def _scale_out(scale_out: dict, path: Path) -> Path:
    """Throughput by number of worker processes on one PostgreSQL ledger."""
    runs = sorted(scale_out["runs"].values(), key=lambda run: run["workers"])
    figure, axes = pyplot.subplots(figsize=(6, 4))
    axes.bar([str(run["workers"]) for run in runs], [run["records_per_s"] for run in runs])
    axes.set_xlabel("worker processes")
    axes.set_ylabel("events applied per second")
    latency = scale_out["latency_ms"]
    axes.set_title(
        f"Scale-out on PostgreSQL (QuickBooks {latency['quickbooks']} ms, "
        f"Salesforce {latency['salesforce']} ms)"
    )
    axes.grid(alpha=0.3, axis="y")
    return _save(figure, path)


def _save(figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path
