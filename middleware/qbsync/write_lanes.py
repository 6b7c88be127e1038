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

Back-pressure is what makes batches adapt to load: the worker claims again only when a lane is
free. A lone change is claimed and written at once; when every lane is busy, the changes that
arrive pile up in the ledger and the next claim takes them together, up to
`QBSYNC_WORKER_BATCH_SIZE`. Claiming no earlier than a lane can start the batch is also what
keeps claims fair: a claim made ahead, while every lane is busy, would take the busiest realm's
next events and queue them, and a quiet realm's change arriving meanwhile would wait for that
queued batch too (issue 19's seventh realm); claimed when a lane frees, the change is in the
ledger when the claim picks the realm whose turn it is.

`SPARE_LANES` lanes more, the spares, are kept for quiet realms: realms with only a few changes
waiting or being written (`Worker._hand_over_quiet`, `EventLedger.claim_quiet`). Without them a
quiet realm's change, first in the claim's turn order, still waits for one of the busy realms'
batches to end, each hundreds of events (issue 19's seventh realm: receipt → written p95
1.2–2.0 s while six realms burst). A spare only ever takes such a small batch, so it frees
within one read and one write, and a busy realm never holds one. Two, because one was busy
with the previous change when the next came: with a change every 0.5 s in the seventh realm,
one spare's read and write took 0.4 to 1 s during the burst, and the next change waited for it
(stored → claimed up to 0.76 s, worker timings of a debug run).

A historical sync's page runs beside the lanes, in a `BackfillLane` of its own, never in them: a
Bulk API chunk takes ten pages and a whole Bulk job (tens of seconds), and run in the claiming
loop or in a write lane it would hold back the live changes claimed meanwhile (with
`QBSYNC_WORKER_WRITE_LANES=1`, all of them). The loop starts a page only when a claim found no
event (live changes first), and one at a time, so a backfill never takes more than its one
thread whatever the number of lanes.
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

# Lanes kept for quiet realms' small batches (see the module docstring).
SPARE_LANES = 2


def _records(batch: Batch) -> Counter[tuple[str, str, str]]:
    """The QuickBooks records a batch writes: (realm, entity, id), merged-away ones included."""
    keys: Counter[tuple[str, str, str]] = Counter()
    for event in batch.events:
        keys[(event.realm_id, event.entity, event.entity_id)] += 1
        if event.deleted_id:
            keys[(event.realm_id, event.entity, event.deleted_id)] += 1
    return keys


class WriteLanes:
    """`count` threads writing batches, and the spares for quiet realms' (`submit_spare`); a
    batch sharing a record with one a lane holds goes to that lane, after it; any other batch
    goes to the least busy of the `count` lanes. `freed` is called after each batch, so a
    claiming loop waiting for a change or a free lane wakes for either."""

    def __init__(
        self, count: int, write: Callable[[Batch], None], freed: Callable[[], None] = lambda: None
    ) -> None:
        if count < 1:
            raise ValueError(f"at least one write lane is needed, got {count}")
        self._write = write
        self._freed = freed
        self._spare = count  # the first spare: the spares are the last lanes
        lanes = count + SPARE_LANES
        self._queues: list[queue.SimpleQueue[tuple[Batch, Counter] | None]] = [
            queue.SimpleQueue() for _ in range(lanes)
        ]
        # Per lane: the records of the batches it holds (queued or being written), and how many.
        self._held: list[Counter[tuple[str, str, str]]] = [Counter() for _ in range(lanes)]
        self._load = [0] * lanes
        self._room = threading.Condition()
        self._threads = [
            threading.Thread(target=self._run, args=(n,), name=f"write-lane-{n}", daemon=True)
            for n in range(lanes)
        ]
        for thread in self._threads:
            thread.start()

    def wait_for_room(self, timeout: float | None = None, *, or_spare: bool = False) -> bool:
        """Block until a lane is free (it holds no batch, queued or being written), or a
        spare when `or_spare`; False on `timeout`."""
        with self._room:
            return self._room.wait_for(
                lambda: (
                    min(self._load[: self._spare]) == 0
                    or (or_spare and min(self._load[self._spare :]) == 0)
                ),
                timeout,
            )

    def submit_spare(self, batch: Batch) -> bool:
        """Hand `batch` to a free spare lane, if one is and no lane holds one of its records
        (its order after them comes first); False, and nothing done, otherwise."""
        keys = _records(batch)
        with self._room:
            free = [n for n in range(self._spare, len(self._load)) if not self._load[n]]
            if not free or any(k in held for held in self._held for k in keys):
                return False
            lane = free[0]
            self._held[lane].update(keys)
            self._load[lane] += 1
        self._queues[lane].put((batch, keys))
        return True

    def submit(self, batch: Batch) -> None:
        """Queue `batch` on its lane (waits while its records are held by two lanes)."""
        keys = _records(batch)
        with self._room:
            while (lane := self._lane_for(keys)) is None:
                self._room.wait()
            self._held[lane].update(keys)
            self._load[lane] += 1
        self._queues[lane].put((batch, keys))

    def _lane_for(self, keys: Counter) -> int | None:
        holding = [n for n, held in enumerate(self._held) if any(key in held for key in keys)]
        if len(holding) == 1:
            return holding[0]
        if holding:
            return None  # its records are in two lanes' batches: after both
        return min(range(self._spare), key=lambda n: self._load[n])

    def close(self) -> None:
        """Write what was handed over, then end the lanes."""
        for lane in self._queues:
            lane.put(None)
        for thread in self._threads:
            thread.join()

    def _run(self, lane: int) -> None:
        while (item := self._queues[lane].get()) is not None:
            batch, keys = item
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
                self._freed()


class BackfillLane:
    """Runs a historical sync's next page (`run_page`) in a thread beside the write lanes, one
    page at a time; `ran` is called after a page that found a job, so the claiming loop, idle
    meanwhile, claims again and starts the next one."""

    def __init__(self, run_page: Callable[[], bool], ran: Callable[[], None]) -> None:
        self._run_page = run_page
        self._ran = ran
        self._free = threading.Event()
        self._free.set()
        self._thread: threading.Thread | None = None

    def start_page(self) -> None:
        """Start the next page, unless one is running. Called by the claiming loop only."""
        if not self._free.is_set():
            return
        self._free.clear()
        self._thread = threading.Thread(target=self._page, name="backfill", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Let the running page end (its lease and checkpoint stay consistent either way)."""
        if self._thread is not None:
            self._thread.join()

    def _page(self) -> None:
        ran = False
        try:
            ran = self._run_page()
        except StoreUnavailable as error:
            # The job's lease runs out and it resumes from its checkpoint; the claiming loop
            # meets the outage too and waits for the database.
            log.warning("A historical sync page waits: the database is unavailable: %s", error)
        except Exception:
            log.exception("A historical sync page failed")
        finally:
            # Free before `ran`: the loop it wakes must be able to start the next page.
            self._free.set()
        if ran:
            self._ran()
