"""Write lanes: the worker's second stage, so QuickBooks reads overlap Salesforce writes.

`Worker.run_forever` claims a batch and reads its records from QuickBooks, then hands it to a
lane, which writes it to Salesforce and records its outcomes, and goes on to claim and read the
next batch while the lane writes. A realm always goes to the same lane, so its batches are
written in the order they were claimed (a record's newer state is written last, and a record
a later batch refers to is written first); different realms' batches, in different lanes, are
written at the same time (each lane is one Salesforce call in flight).

Back-pressure is what makes batches adapt to load: the worker claims again only when no lane
has a batch waiting to start. A lone change is claimed and written at once; under load, the
changes that arrive while a lane writes pile up in the ledger and the next claim takes them
together, up to `QBSYNC_WORKER_BATCH_SIZE`.
"""

from __future__ import annotations

import logging
import queue
import threading
import zlib
from collections.abc import Callable

from qbsync.batch import Batch
from qbsync.store import StoreUnavailable

log = logging.getLogger(__name__)


class WriteLanes:
    """`count` threads, each writing the batches of the realms hashed to it, in order."""

    def __init__(self, count: int, write: Callable[[Batch], None]) -> None:
        if count < 1:
            raise ValueError(f"at least one write lane is needed, got {count}")
        self._write = write
        self._queues: list[queue.SimpleQueue[Batch | None]] = [
            queue.SimpleQueue() for _ in range(count)
        ]
        self._waiting = 0  # batches handed to a lane that has not started them yet
        self._room = threading.Condition()
        self._threads = [
            threading.Thread(target=self._run, args=(lane,), name=f"write-lane-{n}", daemon=True)
            for n, lane in enumerate(self._queues)
        ]
        for thread in self._threads:
            thread.start()

    def wait_for_room(self, timeout: float | None = None) -> bool:
        """Block until every lane has started what it was given; False on `timeout`."""
        with self._room:
            return self._room.wait_for(lambda: self._waiting == 0, timeout)

    def submit(self, batch: Batch) -> None:
        """Queue `batch` on its realm's lane."""
        with self._room:
            self._waiting += 1
        lane = zlib.crc32(batch.realm_id.encode()) % len(self._queues)
        self._queues[lane].put(batch)

    def close(self) -> None:
        """Write what was handed over, then end the lanes."""
        for lane in self._queues:
            lane.put(None)
        for thread in self._threads:
            thread.join()

    def _run(self, lane: queue.SimpleQueue[Batch | None]) -> None:
        while (batch := lane.get()) is not None:
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
