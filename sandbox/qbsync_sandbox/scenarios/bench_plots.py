"""PNG plots of a `./scripts/bench` run, from the series its JSON holds (issue 19).

`latency.png`: the single-change latency distribution (cumulative share of changes within a time),
without and with the injected latency. `drain.png`: events applied over time for the burst, the
product's worker and the per-event connector on the same axes.
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
    return written


def _save(figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path
