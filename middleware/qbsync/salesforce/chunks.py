"""Salesforce calls over many records, 200 at a time, one failed call costing only its chunk.

sObject Collections take at most 200 records a call (research/salesforce.md §1.3), and the
worker's SOQL `IN` lists follow the same size. `call_in_chunks` is the one loop over them: a
chunk whose call raises a `SalesforceError` has its items paired with that error (its class
says whether a retry can help: `SalesforceTransient` or not), and the other chunks still run.
A batch's upserts of different records may be several calls in flight (`in_flight`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from typing import TypeVar

from qbsync.salesforce.errors import SalesforceError

COLLECTION_LIMIT = 200  # records per sObject Collections call
# Upsert calls of one batch in flight at once: a batch of 500 is three calls, 180 ms each with
# the benchmark's latency, sent together instead of one after another (issue 19, item 2).
UPSERTS_IN_FLIGHT = 3

T = TypeVar("T")
R = TypeVar("R")


def call_in_chunks(
    items: Sequence[T],
    call: Callable[[list[T]], Sequence[R]],
    *,
    size: int = COLLECTION_LIMIT,
    in_flight: int = 1,
) -> list[tuple[T, R | SalesforceError]]:
    """Each item with its result from `call`, made once per `size` items, in order.

    `call` takes a chunk and returns one result per item of it, in the same order. When it
    raises a `SalesforceError`, every item of that chunk is paired with the error instead.
    With `in_flight` above 1, up to that many chunks are called at once (each call is mostly
    waiting for the network): only for chunks that are independent of each other, such as
    upserts of different records.
    """
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    if in_flight < 1:
        raise ValueError(f"in_flight must be at least 1, got {in_flight}")
    chunks = [list(items[start : start + size]) for start in range(0, len(items), size)]
    if in_flight == 1 or len(chunks) < 2:
        answers = [_answer(call, chunk) for chunk in chunks]
    else:
        # Each call runs in a copy of the caller's context (one per chunk: a context cannot be
        # entered by two threads at once): the pool's threads would otherwise lose what the
        # caller's context variables say, such as which work the calls are metered as
        # (`metrics.counted_as`) and the events the log lines name.
        contexts = [copy_context() for _ in chunks]
        with ThreadPoolExecutor(min(in_flight, len(chunks)), "chunk") as pool:
            answers = list(
                pool.map(lambda context, chunk: context.run(_answer, call, chunk), contexts, chunks)
            )
    return [pair for answer in answers for pair in answer]


def _answer(
    call: Callable[[list[T]], Sequence[R]], chunk: list[T]
) -> list[tuple[T, R | SalesforceError]]:
    try:
        results = call(chunk)
    except SalesforceError as error:
        return [(item, error) for item in chunk]
    return list(zip(chunk, results, strict=True))
