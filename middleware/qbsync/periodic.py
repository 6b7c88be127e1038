"""Periodic work runs once per deployment: in the one worker holding the lease in the database.

Every `qbsync worker` starts the periodic threads (CDC reconciliation with the token keep-alive,
the ledger and sync-log purges, the alerts, the pending revocations), and each pass first asks
`DeploymentLease.held()`. A keeper thread takes or renews the lease (`qbsync.store.leases`) every
third of `QBSYNC_PERIODIC_LEASE_SECONDS`; the process counts itself the holder only for two
thirds of the lease after its last successful renewal, so it stops starting passes before another
worker can take the lease over. A worker that dies stops renewing, and the next worker to ask
takes the lease once it has run out; a worker that stops cleanly gives it up at once. A pass
already running when the lease is lost (the database unreachable for that long) finishes: each
kind of periodic work is safe to run twice (event keys, reserved alert rows, idempotent purges),
the lease only keeps it from running once per worker.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from qbsync.store import StoreUnavailable
from qbsync.store.leases import LeaseRows

log = logging.getLogger(__name__)

LEASE_NAME = "periodic"


class DeploymentLease:
    """This worker's hold on the deployment's periodic work (see the module docstring)."""

    def __init__(
        self,
        rows: LeaseRows,
        holder: str,
        seconds: float,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        name: str = LEASE_NAME,
    ) -> None:
        self._rows = rows
        self.holder = holder
        self.seconds = seconds
        self._clock = clock
        self._monotonic = monotonic
        self.name = name
        self._valid_until = float("-inf")
        self._holding = False

    def renew(self) -> bool:
        """Take or renew the lease; True while this worker holds it."""
        started = self._monotonic()
        try:
            held = self._rows.take(self.name, self.holder, self.seconds, self._clock())
        except StoreUnavailable as error:
            log.warning("The periodic-work lease waits for the database: %s", error)
            return self.held()
        self._valid_until = started + self.seconds * 2 / 3 if held else float("-inf")
        if held != self._holding:
            log.info(
                "Worker %s %s the periodic work",
                self.holder,
                "takes over" if held else "no longer runs",
            )
            self._holding = held
        return held

    def held(self) -> bool:
        """Whether passes may start now: renewed recently enough."""
        return self._monotonic() < self._valid_until

    def keep(self, stop_event: threading.Event) -> None:
        """Renew until `stop_event` is set, then give the lease up (a worker thread)."""
        while not stop_event.is_set():
            self.renew()
            stop_event.wait(self.seconds / 3)
        if self._holding:
            try:
                self._rows.give_up(self.name, self.holder, self._clock())
            except StoreUnavailable as error:
                log.warning("Could not give the periodic-work lease up: %s", error)


# How often a periodic thread that does not hold the lease looks again.
LEASE_POLL_SECONDS = 1.0


def always() -> bool:
    """Passes without a lease: one worker on its own, tests."""
    return True
