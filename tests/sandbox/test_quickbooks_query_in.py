"""The QuickBooks emulator's `IN` conditions (emulators/quickbooks/query.py): the set lookup for
numeric ids answers exactly what comparing each literal in turn answers, and a batch read of 500
ids from a realm of 10,000 records is a lookup per record, not 500 comparisons."""

from __future__ import annotations

import itertools
import time

from qbsync_sandbox.emulators.quickbooks.query import (
    Condition,
    Query,
    _compare,
    _is_in,
    run_query,
)

VALUES = [
    None,
    True,
    False,
    0,
    7,
    12,
    12.0,
    12.5,
    "7",
    "007",
    "12",
    "12.0",
    "abc",
    "ABC",
    "2026-01-05",
]
LITERALS = ["7", "0012", "12", "abc", "2026-01-05T00:00:00Z", 12.0, 12.5, True, "x1"]


def test_the_lookup_answers_what_comparing_each_literal_answers() -> None:
    for size in range(len(LITERALS) + 1):
        for values in itertools.combinations(LITERALS, size):
            for value in VALUES:
                expected = any(_compare(value, literal) == 0 for literal in values)
                assert _is_in(value, values) == expected, (value, values)


def test_a_batch_read_of_500_ids_from_10000_records_is_quick() -> None:
    records = [{"Id": str(n), "DisplayName": f"Customer {n}"} for n in range(1, 10_001)]
    ids = tuple(str(n) for n in range(1, 10_001, 20))  # 500 ids
    query = Query(
        entity="Customer",
        count=False,
        conditions=(Condition("Id", "in", ids),),
        order=(),
        start_position=1,
        max_results=1000,
    )
    started = time.perf_counter()
    page, total = run_query(query, records)
    elapsed = time.perf_counter() - started
    assert total == 500 and [r["Id"] for r in page] == list(ids)
    # Comparing each record with each id (5 million comparisons) took seconds; a lookup per
    # record takes milliseconds. Generous for a loaded machine.
    assert elapsed < 1.0, f"{elapsed:.2f} s"
