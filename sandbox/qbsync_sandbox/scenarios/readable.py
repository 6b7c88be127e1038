"""The benchmarks' clock: when a change is readable through Salesforce's REST API, and the
percentiles of the times taken."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from simple_salesforce import format_soql


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 0.50) * 1000, 1),
        "p95_ms": round(percentile(values, 0.95) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1),
        "mean_ms": round(statistics.fmean(values) * 1000, 1),
    }


class ReadableWatch:
    """When Accounts first become readable through Salesforce's REST API, for many at once.

    Every `every` seconds ONE SOQL query asks for every external id still awaited; the queries
    overlap (a pool), so an injected latency does not coarsen the clock to one round trip. One
    look per sample instead made 16 samples in flight send over a hundred queries at a time: the
    benchmark loaded the Salesforce emulator more than the worker did, and its own load slowed
    the writes it was timing.

    An Account that already exists (an update) is awaited with the values the change gives it:
    `fields` are the Account fields the queries read, `readable_at(key, values=…)` waits until
    the Account holds those values. `queries` counts the queries sent (the benchmark's own
    requests to the Salesforce emulator).

    The poll alone makes a coarse clock: a record is seen up to `every` seconds (plus a round
    trip) after it became readable. Given `commit_times` (record Ids → epoch seconds of their
    last commit, the Salesforce emulator's `POST /_admin/commit-times`), the time of a record
    found through REST is its commit instead: exact, and still confirmed readable through REST.
    For an update it is the commit of the last write before the query found the new values
    (a later write to the same record in between would move it; the benchmarks write each
    awaited record once per value).
    """

    def __init__(
        self,
        sf,
        every: float = 0.05,
        fields: tuple[str, ...] = (),
        commit_times: Callable[[list[str]], dict[str, float | None]] | None = None,
    ) -> None:
        self._sf, self._every, self._fields = sf, every, fields
        self._commit_times = commit_times
        self._lock = threading.Lock()
        self._awaited: dict[str, threading.Event] = {}
        self._expected: dict[str, dict[str, object]] = {}
        self._seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(8)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.queries = 0

    def __enter__(self) -> ReadableWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._pool.shutdown()

    def readable_at(
        self, key: str, timeout: float, values: dict[str, object] | None = None
    ) -> float:
        """perf_counter when the first query that found `key` (holding `values`) answered."""
        with self._lock:
            if values:
                self._expected[key] = values
            seen = self._awaited.setdefault(key, threading.Event())
        if not seen.wait(timeout):
            raise TimeoutError(f"no Account {key} {values or ''} within {timeout} s")
        with self._lock:
            return self._seen[key]

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            with self._lock:
                keys = [key for key, seen in self._awaited.items() if not seen.is_set()]
            if keys:
                self._pool.submit(self._look, keys)

    def _look(self, keys: list[str]) -> None:
        extra = ("Id",) if self._commit_times else ()
        columns = ", ".join(("QB_External_Id__c", *extra, *self._fields))
        soql = format_soql(
            "SELECT {:literal} FROM Account WHERE QB_External_Id__c IN {}", columns, keys
        )
        rows = self._sf.query(soql)["records"]
        answered = time.perf_counter()
        with self._lock:
            self.queries += 1
            found = [
                row
                for row in rows
                if all(
                    row.get(field) == value
                    for field, value in self._expected.get(row["QB_External_Id__c"], {}).items()
                )
            ]
        times = self._when(found, answered)
        with self._lock:
            for row in found:
                key = row["QB_External_Id__c"]
                at = times[key]
                if key not in self._seen or at < self._seen[key]:
                    self._seen[key] = at
                self._awaited[key].set()

    def _when(self, rows: list[dict], answered: float) -> dict[str, float]:
        """perf_counter of each found row: its commit if known, else the query's answer."""
        committed: dict[str, float | None] = {}
        if self._commit_times and rows:
            committed = self._commit_times([row["Id"] for row in rows])
        # An epoch → perf_counter offset taken now: both clocks run at the same rate.
        offset = time.perf_counter() - time.time()
        times = {}
        for row in rows:
            epoch = committed.get(row.get("Id", ""))
            at = answered if epoch is None else min(answered, epoch + offset)
            times[row["QB_External_Id__c"]] = at
        return times
