"""The benchmarks' clock (`qbsync_sandbox.scenarios.readable.ReadableWatch`): an Account counts as
readable when a query finds it, and, for an update, only once it holds the changed values."""

from __future__ import annotations

import threading
import time

from qbsync_sandbox.scenarios.readable import ReadableWatch, summary


class _Accounts:
    """Answers the watch's SOQL from a dict of rows by external id, and records the queries."""

    def __init__(self) -> None:
        self.rows: dict[str, dict] = {}
        self.soql: list[str] = []
        self.queried = threading.Event()
        self._lock = threading.Lock()

    def query(self, soql: str) -> dict:
        with self._lock:
            self.soql.append(soql)
            rows = [dict(row) for key, row in self.rows.items() if f"'{key}'" in soql]
        self.queried.set()
        return {"totalSize": len(rows), "records": rows}


def test_a_created_account_is_readable_once_found():
    accounts = _Accounts()
    accounts.rows["r:Customer:1"] = {"QB_External_Id__c": "r:Customer:1"}
    with ReadableWatch(accounts, every=0.01) as watch:
        assert watch.readable_at("r:Customer:1", timeout=10) > 0
    assert accounts.soql[0].startswith("SELECT QB_External_Id__c FROM Account WHERE")
    assert watch.queries == len(accounts.soql)


def test_an_updated_account_is_readable_only_with_the_new_values():
    accounts = _Accounts()
    accounts.rows["r:Customer:2"] = {"QB_External_Id__c": "r:Customer:2", "Phone": "old"}
    seen: list[float] = []
    with ReadableWatch(accounts, every=0.01, fields=("Phone",)) as watch:
        waiting = threading.Thread(
            target=lambda: seen.append(watch.readable_at("r:Customer:2", 10, {"Phone": "new"}))
        )
        waiting.start()
        # The old value is found and does not count.
        assert accounts.queried.wait(10)
        assert not seen
        accounts.rows["r:Customer:2"]["Phone"] = "new"
        waiting.join(10)
    assert len(seen) == 1
    assert "SELECT QB_External_Id__c, Phone FROM Account" in accounts.soql[0]


def test_with_commit_times_a_found_account_is_timed_at_its_commit():
    """The exact clock: found through the query, timed at the Salesforce emulator's commit."""
    accounts = _Accounts()
    accounts.rows["r:Customer:3"] = {"QB_External_Id__c": "r:Customer:3", "Id": "001A"}
    committed = time.time() - 5.0  # long before the poll could have seen it
    asked: list[list[str]] = []

    def commit_times(record_ids: list[str]) -> dict[str, float | None]:
        asked.append(record_ids)
        return {"001A": committed}

    with ReadableWatch(accounts, every=0.01, commit_times=commit_times) as watch:
        readable = watch.readable_at("r:Customer:3", timeout=10)
    assert abs((time.perf_counter() - readable) - (time.time() - committed)) < 0.5
    assert asked[0] == ["001A"]
    assert accounts.soql[0].startswith("SELECT QB_External_Id__c, Id FROM Account WHERE")


def test_summary_gives_the_percentiles_in_milliseconds():
    figures = summary([0.1, 0.2, 0.3, 0.4, 1.0])
    assert figures == {
        "n": 5,
        "p50_ms": 300.0,
        "p95_ms": 1000.0,
        "max_ms": 1000.0,
        "mean_ms": 400.0,
    }
