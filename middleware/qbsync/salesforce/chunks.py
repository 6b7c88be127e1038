"""Salesforce calls over many records, 200 at a time, one failed call costing only its chunk.

sObject Collections take at most 200 records a call (research/salesforce.md §1.3), and the
worker's SOQL `IN` lists follow the same size. `call_in_chunks` is the one loop over them: a
chunk whose call raises a `SalesforceError` has its items paired with that error (its class
says whether a retry can help: `SalesforceTransient` or not), and the other chunks still run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from qbsync.salesforce.errors import SalesforceError

COLLECTION_LIMIT = 200  # records per sObject Collections call

T = TypeVar("T")
R = TypeVar("R")


def call_in_chunks(
    items: Sequence[T],
    call: Callable[[list[T]], Sequence[R]],
    *,
    size: int = COLLECTION_LIMIT,
) -> list[tuple[T, R | SalesforceError]]:
    """Each item with its result from `call`, made once per `size` items, in order.

    `call` takes a chunk and returns one result per item of it, in the same order. When it
    raises a `SalesforceError`, every item of that chunk is paired with the error instead.
    """
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    paired: list[tuple[T, R | SalesforceError]] = []
    for start in range(0, len(items), size):
        chunk = list(items[start : start + size])
        try:
            results = call(chunk)
        except SalesforceError as error:
            paired.extend((item, error) for item in chunk)
            continue
        paired.extend(zip(chunk, results, strict=True))
    return paired
