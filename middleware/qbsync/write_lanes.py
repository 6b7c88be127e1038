"""Lanes: the worker's batches worked side by side, so QuickBooks reads and Salesforce writes
of different batches overlap.

`Worker.run_forever` claims a batch and hands it to a lane, which reads its records from
QuickBooks, writes them to Salesforce and records the outcomes, and goes on to claim the next
batch for another lane. Batches that share no record are independent and are worked at the
same time, each in its own lane (one call in flight per lane), whether of one realm or of
several: a change that arrives while another is written does not wait for it. A batch that
shares a record with one a lane holds goes to that lane, behind it, so a record's changes are
read and written in the order they were claimed and its newest state is written last. (A record
that a batch refers to and another batch writes at the same time may be missing for a moment;
the writer then syncs it first, `qbsync.references`.)

Back-pressure is what makes batches adapt to load: the worker claims again only when no lane
has a batch waiting to start. A lone change is claimed and written at once; when every lane is
busy, the changes that arrive pile up in the ledger and the next claim takes them together, up
to `QBSYNC_WORKER_BATCH_SIZE`.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable

from qbsync.batch import Batch
from qbsync.store import StoreUnavailable

log = logging.getLogger(__name__)


def _records(batch: Batch) -> Counter[tuple[str, str, str]]:
    """The QuickBooks records a batch writes: (realm, entity, id), merged-away ones included."""
    keys: Counter[tuple[str, str, str]] = Counter()
    for event in batch.events:
        keys[(event.realm_id, event.entity, event.entity_id)] += 1
        if event.deleted_id:
            keys[(event.realm_id, event.entity, event.deleted_id)] += 1
    return keys


class WriteLanes:
    """`count` threads writing batches; a batch sharing a record with one a lane holds goes to
    that lane, after it; any other batch goes to the least busy lane."""

    def __init__(self, count: int, write: Callable[[Batch], None]) -> None:
        if count < 1:
            raise ValueError(f"at least one write lane is needed, got {count}")
        self._write = write
        self._queues: list[queue.SimpleQueue[tuple[Batch, Counter] | None]] = [
            queue.SimpleQueue() for _ in range(count)
        ]
        # Per lane: the records of the batches it holds (queued or being written), and how many.
        self._held: list[Counter[tuple[str, str, str]]] = [Counter() for _ in range(count)]
        self._load = [0] * count
        self._waiting = 0  # batches handed to a lane that has not started them yet
        self._room = threading.Condition()
        self._threads = [
            threading.Thread(target=self._run, args=(n,), name=f"write-lane-{n}", daemon=True)
            for n in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def wait_for_room(self, timeout: float | None = None) -> bool:
        """Block until every lane has started what it was given; False on `timeout`."""
        with self._room:
            return self._room.wait_for(lambda: self._waiting == 0, timeout)

    def submit(self, batch: Batch) -> None:
        """Queue `batch` on its lane (waits while its records are held by two lanes)."""
        keys = _records(batch)
        with self._room:
            while (lane := self._lane_for(keys)) is None:
                self._room.wait()
            self._held[lane].update(keys)
            self._load[lane] += 1
            self._waiting += 1
        self._queues[lane].put((batch, keys))

    def _lane_for(self, keys: Counter) -> int | None:
        holding = [n for n, held in enumerate(self._held) if any(key in held for key in keys)]
        if len(holding) == 1:
            return holding[0]
        if holding:
            return None  # its records are in two lanes' batches: after both
        return min(range(len(self._load)), key=lambda n: self._load[n])

    def close(self) -> None:
        """Write what was handed over, then end the lanes."""
        for lane in self._queues:
            lane.put(None)
        for thread in self._threads:
            thread.join()

    def _run(self, lane: int) -> None:
        while (item := self._queues[lane].get()) is not None:
            batch, keys = item
            with self._room:
                self._waiting -= 1
                self._room.notify_all()
            try:
                self._write(batch)
            except StoreUnavailable as error:
                # Its events stay claimed and come back when their lease ends; the claiming
                # loop meets the outage too and waits for the database.
                log.warning("A batch waits for its lease: the database is unavailable: %s", error)
            except Exception:
                log.exception("Writing a batch of %d events failed", len(batch.events))
            finally:
                with self._room:
                    self._held[lane] -= keys
                    self._load[lane] -= 1
                    self._room.notify_all()
