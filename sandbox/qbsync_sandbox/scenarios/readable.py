"""The benchmarks' clock: when a change is readable through Salesforce's REST API, and the
percentiles of the times taken."""

from __future__ import annotations

import statistics
import threading
import time
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
    """

    def __init__(self, sf, every: float = 0.05, fields: tuple[str, ...] = ()) -> None:
        self._sf, self._every, self._fields = sf, every, fields
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
        columns = ", ".join(("QB_External_Id__c", *self._fields))
        soql = format_soql(
            "SELECT {:literal} FROM Account WHERE QB_External_Id__c IN {}", columns, keys
        )
        rows = self._sf.query(soql)["records"]
        answered = time.perf_counter()
        with self._lock:
            self.queries += 1
            for row in rows:
                key = row["QB_External_Id__c"]
                expected = self._expected.get(key, {})
                if any(row.get(field) != value for field, value in expected.items()):
                    continue
                if key not in self._seen or answered < self._seen[key]:
                    self._seen[key] = answered
                self._awaited[key].set()
