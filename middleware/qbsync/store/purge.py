"""Purging what the ledger no longer needs: `qbsync purge`, and a thread of the worker.

What goes, once older than its `Retention` age:
- events that are done or skipped (by their last change). Pending, claimed, failed and dead
  events stay: they are still to be worked on, retried from Salesforce or replayed, and a dead
  CDC event holds its reconciliation watermark back (`qbsync.reconcile`);
- quarantined webhook bodies (by arrival);
- applied versions whose QuickBooks LastUpdatedTime is older, unless an event about the same
  record is still pending, claimed or failed (the worker compares against that version). The
  age is never under CDC's reach (`MIN_VERSION_DAYS`): CDC may return a change up to 30 days
  old, and its applied version tells reconciliation not to enqueue it again;
- OAuth states (by creation), used or not, once older than their own age: past their 10-minute
  lifetime the callback refuses them anyway; the margin keeps recent ones for an operator's look.

Each kind is deleted in batches of `BATCH_SIZE` rows, one short transaction each, so the web
process and the worker are never locked out for long, whatever the backlog.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, delete, exists, select, tuple_

from qbsync.config import MIN_VERSION_DAYS, Settings
from qbsync.periodic import LEASE_POLL_SECONDS
from qbsync.store.database import StoreUnavailable, transaction
from qbsync.store.schema import applied_versions, events, qb_oauth_states, quarantine

log = logging.getLogger(__name__)

BATCH_SIZE = 500
SETTLED_STATES = ("done", "skipped")
UNSETTLED_STATES = ("pending", "claimed", "failed")


@dataclass(frozen=True)
class Retention:
    """How many days each kind of row is kept."""

    events_days: int = 30
    quarantine_days: int = 90
    versions_days: int = 90
    oauth_states_days: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        return cls(
            events_days=settings.purge_events_days,
            quarantine_days=settings.purge_quarantine_days,
            versions_days=settings.purge_versions_days,
            oauth_states_days=settings.purge_oauth_states_days,
        )

    def __post_init__(self) -> None:
        if self.versions_days < MIN_VERSION_DAYS:
            raise ValueError(
                f"applied versions are kept at least {MIN_VERSION_DAYS} days (CDC's reach), "
                f"got {self.versions_days}"
            )


def purge(
    engine: Engine, retention: Retention, now: datetime, batch_size: int = BATCH_SIZE
) -> dict[str, int]:
    """Delete what `retention` lets go, in batches; returns the rows deleted per kind."""
    e, q, v, s = events.c, quarantine.c, applied_versions.c, qb_oauth_states.c
    unsettled_event = exists().where(
        e.realm_id == v.realm_id,
        e.entity == v.entity,
        e.entity_id == v.entity_id,
        e.state.in_(UNSETTLED_STATES),
    )
    kinds = {
        "events": (
            events,
            (e.id,),
            and_(
                e.state.in_(SETTLED_STATES),
                e.updated_at < now - timedelta(days=retention.events_days),
            ),
        ),
        "quarantine": (
            quarantine,
            (q.id,),
            q.received_at < now - timedelta(days=retention.quarantine_days),
        ),
        "applied_versions": (
            applied_versions,
            (v.realm_id, v.entity, v.entity_id),
            and_(
                v.last_updated < now - timedelta(days=retention.versions_days),
                ~unsettled_event,
            ),
        ),
        "oauth_states": (
            qb_oauth_states,
            (s.nonce,),
            s.created_at < now - timedelta(days=retention.oauth_states_days),
        ),
    }
    return {
        name: _delete_in_batches(engine, table, key, condition, batch_size)
        for name, (table, key, condition) in kinds.items()
    }


def _delete_in_batches(engine: Engine, table, key: tuple, condition, batch_size: int) -> int:  # noqa: ANN001
    """Delete the rows matching `condition`, `batch_size` keys per transaction."""
    deleted = 0
    while True:
        with transaction(engine) as connection:
            keys = connection.execute(select(*key).where(condition).limit(batch_size)).all()
            if not keys:
                return deleted
            match = key[0].in_([k[0] for k in keys]) if len(key) == 1 else tuple_(*key).in_(keys)
            deleted += connection.execute(delete(table).where(match)).rowcount
        if len(keys) < batch_size:
            return deleted


def purge_periodically(
    engine: Engine,
    retention: Retention,
    stop_event: threading.Event,
    interval: float,
    clock: Callable[[], datetime],
    purge_sync_logs: Callable[[datetime], dict[str, int]] | None = None,
    held: Callable[[], bool] | None = None,
) -> None:
    """Purge at once, then every `interval` seconds until `stop_event` is set (a worker thread).
    `purge_sync_logs` (qbsync.log_retention) runs on the same schedule, after the ledger's purge.

    A database that is locked or unreachable is waited out until the next interval; any other
    error is logged and the loop goes on. A failed sync-log purge never stops the ledger's.
    With `held` (the deployment's lease, `qbsync.periodic`), passes run only while it is true.
    """
    while not stop_event.is_set():
        if held is not None and not held():
            stop_event.wait(LEASE_POLL_SECONDS)
            continue
        try:
            counts = purge(engine, retention, clock())
            log.info("Purge pass: %s", counts, extra={"purged": counts})
        except StoreUnavailable as error:
            log.warning("Purge waits for the database: %s", error)
        except Exception:
            log.exception("Purge pass failed")
        if purge_sync_logs is not None:
            try:
                logs = purge_sync_logs(clock())
                log.info("Sync-log purge pass: %s", logs, extra={"purged_sync_logs": logs})
            except Exception as error:  # Salesforce down or refusing: the next pass tries again
                log.warning("Sync-log purge pass failed: %s", error)
        stop_event.wait(interval)
