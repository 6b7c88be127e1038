"""The event ledger: every change event, durably, from receipt to its outcome.

The web process appends (`add`, `quarantine`); workers `claim` batches with a lease and record
each outcome. States: pending → claimed → done | skipped | failed (retried at `next_attempt_at`,
or permanent when that is empty) | dead. A claim whose lease runs out (the worker crashed) is
claimable again, so nothing is lost.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    case,
    func,
    or_,
    select,
    text,
    union_all,
    update,
)

from qbsync.events import ChangeEvent
from qbsync.store.database import autocommit, insert_new, transaction, upsert
from qbsync.store.schema import claim_turns, config_signal, events, quarantine
from qbsync.store.wakeups import CHANNEL as WAKEUP_CHANNEL
from qbsync.store.wakeups import Wakeups

STATES = ("pending", "claimed", "done", "skipped", "failed", "dead")
SETTLED_STATES = ("done", "skipped")
# Groups a claim considers, in turn order, before it gives up: more than the workers that can
# be claiming at the same moment.
CLAIM_CANDIDATES = 16
# The most events a claim takes while other realms wait too: one sObject Collections call
# (COLLECTION_LIMIT). A batch holds a write lane until it is written; the smaller it is, the
# sooner a lane frees for the next realm's turn, and one call per batch costs no more Salesforce
# calls per event than three (a batch of 500 is three calls); only the QuickBooks reads per
# event rise, to one per 200.
SHARED_CLAIM_LIMIT = 200
# Claim transactions tried when every waiting group was being claimed by another worker (the
# second and later wait for the lock of the first such group).
CLAIM_TRIES = 3
# The most events of one group a claim settles as skipped (`SkipRules`); the rest at the next.
SKIP_LIMIT = 2000


@dataclass(frozen=True, kw_only=True)
class StoredEvent(ChangeEvent):
    """A change event as the ledger holds it, with its processing state."""

    id: int
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    reason: str | None
    received_at: datetime
    lease_until: datetime | None
    claimed_by: str | None


@dataclass(frozen=True)
class QuarantinedBody:
    """A signed webhook body that could not be turned (entirely) into events."""

    id: int
    body: bytes
    reason: str
    received_at: datetime


@dataclass(frozen=True)
class Unsettled:
    """The events of one realm, entity and source that are not done or skipped yet."""

    count: int
    earliest: datetime | None  # the earliest change time among them (undated ones aside)


@dataclass(frozen=True)
class SkipRules:
    """Events a claim settles as skipped in its own transaction instead of leasing them: those
    of a realm whose configuration the worker holds (`reasons`, realm → entity → the reason,
    None to work them), read at configuration signal `generation`. When the signal has moved
    since, nothing is skipped: the worker reads the configuration again first.

    A webhook's events for an object nobody mapped would otherwise cost a claim, a settle and
    a configuration-signal read per batch, each a write transaction or a round trip: on SQLite,
    turns taken from the webhooks' inserts. `keep(connection, events, reason)` writes what goes
    with their outcome (the sync-log rows) in the same transaction."""

    generation: int
    reasons: Mapping[str, Callable[[str], str | None]]
    keep: Callable[[Connection, list[StoredEvent], str], None]


# `EventLedger._add_in_one_statement`: the rows, in order, from a JSON array; the ids the
# insert returns; a NOTIFY if there is one (delivered at the statement's commit, as `ring_in`'s).
_ADD_AND_RING = text(
    "WITH stored AS (INSERT INTO events (event_key, realm_id, entity, entity_id, operation, "
    "occurred_at, deleted_id, source, record, state, attempts, received_at, updated_at) "
    "SELECT event_key, realm_id, entity, entity_id, operation, occurred_at, deleted_id, source, "
    "record, state, attempts, received_at, updated_at "
    "FROM json_populate_recordset(NULL::events, CAST(:rows AS json)) "
    "WITH ORDINALITY AS given ORDER BY given.ordinality "
    "ON CONFLICT (event_key) DO NOTHING RETURNING id) "
    "SELECT (SELECT count(*) FROM stored), "
    "(SELECT count(*) FROM (SELECT pg_notify(:channel, '') FROM (SELECT id FROM stored LIMIT 1) "
    "AS one) AS rung)"
)


def _iso_times(row: dict[str, Any]) -> dict[str, str | None]:
    """The row's times as JSON holds them, through the columns' own check (aware only, UTC)."""
    times = {}
    for name in ("occurred_at", "received_at", "updated_at"):
        value = events.c[name].type.process_bind_param(row[name], None)
        times[name] = None if value is None else value.isoformat()
    return times


def _now() -> datetime:
    return datetime.now(UTC)


_STORED_FIELDS = tuple(StoredEvent.__dataclass_fields__)


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(**{field: row._mapping[field] for field in _STORED_FIELDS})


def _not_held_elsewhere(realm_id: str, entity: str, worker: str, now: datetime) -> Any:
    """For events of the group (`realm_id`, `entity`): none of the records the event writes
    (its entity_id, and a merge's deleted_id) is a record of which another worker holds an
    event under a lease that has not run out (its entity_id or deleted_id).

    Per record, not per (realm, entity) group: two workers with batches of the same record in
    flight could write an older read over a newer one, but batches of different records are
    independent, so several workers can share one busy realm (`write_lanes` applies the same
    rule between one worker's lanes). The held records are one uncorrelated subquery (served by
    `ix_events_group`), evaluated once and hashed, not a lookup per waiting event: with a
    per-event EXISTS, PostgreSQL planned a scan of the table per waiting event while the
    table's statistics were those of a smaller table (a new ledger filling up), and a claim of
    a 3,000-event backlog took ten seconds while the other workers waited for its lock."""
    other = events.alias("other")
    held = and_(
        other.c.realm_id == realm_id,
        other.c.entity == entity,
        other.c.state == "claimed",
        other.c.lease_until > now,
        other.c.claimed_by != worker,
    )
    records = union_all(
        select(other.c.entity_id).where(held),
        select(other.c.deleted_id).where(held, other.c.deleted_id.is_not(None)),
    )
    c = events.c
    # NOT IN is false for a NULL operand: an event without a deleted_id passes on its entity_id.
    return and_(
        c.entity_id.not_in(records),
        or_(c.deleted_id.is_(None), c.deleted_id.not_in(records)),
    )


def _lock_group(connection: Connection, realm_id: str, entity: str, *, wait: bool = False) -> bool:
    """PostgreSQL: take the group's advisory lock until the transaction ends; without `wait`,
    only if it is free (False: another claim holds it). SQLite runs one write transaction at a
    time and needs none.

    The lock serialises the claims of one group: two claims running side by side would not see
    each other's uncommitted claims, and could take two events of one record."""
    if connection.dialect.name != "postgresql":
        return True
    digest = hashlib.blake2b(f"{realm_id}\x1f{entity}".encode(), digest_size=8).digest()
    key = int.from_bytes(digest, "big", signed=True)
    if wait:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        return True
    return connection.execute(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}
    ).scalar_one()


class EventLedger:
    """The `events` and `quarantine` tables (see the module docstring)."""

    def __init__(self, engine: Engine, wakeups: Wakeups | None = None) -> None:
        self.engine = engine
        # New claimable events wake the waiting workers (`qbsync.store.wakeups`).
        self.wakeups = wakeups or Wakeups(engine)
        self._settling = threading.local()

    def ping(self) -> None:
        """Raise `StoreUnavailable` unless the database answers."""
        with transaction(self.engine) as connection:
            connection.execute(select(1))

    # --- web side -------------------------------------------------------------------------

    def add(self, changes: Sequence[ChangeEvent]) -> int:
        """Store `changes` in one transaction; known event keys are skipped. Returns new rows."""
        now = _now()
        rows: dict[str, dict[str, Any]] = {}
        for change in changes:
            rows.setdefault(
                change.event_key,
                {
                    "event_key": change.event_key,
                    "realm_id": change.realm_id,
                    "entity": change.entity,
                    "entity_id": change.entity_id,
                    "operation": change.operation,
                    "occurred_at": change.occurred_at,
                    "deleted_id": change.deleted_id,
                    "source": change.source,
                    "record": change.record,
                    "state": "pending",
                    "attempts": 0,
                    "received_at": now,
                    "updated_at": now,
                },
            )
        if not rows:
            return 0
        if self.wakeups.postgres:
            return self._add_in_one_statement(list(rows.values()))
        with transaction(self.engine) as connection:
            inserted = len(
                insert_new(
                    connection,
                    events,
                    list(rows.values()),
                    key=["event_key"],
                    returning=events.c.id,
                ).all()
            )
        # SQLite's workers are woken after the commit (PostgreSQL's, by the one statement above).
        if inserted:
            self.wakeups.ring_after_commit()
        return inserted

    def _add_in_one_statement(self, rows: list[dict[str, Any]]) -> int:
        """PostgreSQL: the insert and its wake-up as one statement, its own transaction: one
        round trip where BEGIN, INSERT, NOTIFY and COMMIT were four, each a wait of the web's
        request (py-spy during the ingest benchmark: the insert, the begin and the notify took
        half of a web process's samples). The rows go as one JSON parameter, so the statement
        is the same text for any number of them: compiled once (a multi-row VALUES is compiled
        again for each request, which cost more than the round trips saved)."""
        payload = json.dumps([{**row, **_iso_times(row)} for row in rows])
        with autocommit(self.engine) as connection:
            count, _ = connection.execute(
                _ADD_AND_RING, {"rows": payload, "channel": WAKEUP_CHANNEL}
            ).one()
        return count

    def quarantine(self, body: bytes, reason: str) -> int:
        """Keep a signed body that could not be parsed; returns its id (the same for a resend)."""
        digest = hashlib.sha256(body).hexdigest()
        row = {"body_sha256": digest, "body": body, "reason": reason, "received_at": _now()}
        with transaction(self.engine) as connection:
            new_id = insert_new(
                connection, quarantine, row, key=["body_sha256"], returning=quarantine.c.id
            ).scalar()
            if new_id is not None:
                return new_id
            return connection.execute(
                select(quarantine.c.id).where(quarantine.c.body_sha256 == digest)
            ).scalar_one()

    def quarantined(self, limit: int = 50) -> list[QuarantinedBody]:
        """The quarantined bodies, newest first."""
        q = quarantine.c
        statement = select(q.id, q.body, q.reason, q.received_at).order_by(q.id.desc()).limit(limit)
        with transaction(self.engine) as connection:
            return [QuarantinedBody(*row) for row in connection.execute(statement)]

    # --- worker side ----------------------------------------------------------------------

    @staticmethod
    def _claimable(now: datetime) -> Any:
        c = events.c
        return or_(
            and_(c.state == "pending", or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now)),
            and_(c.state == "failed", c.next_attempt_at.is_not(None), c.next_attempt_at <= now),
            and_(c.state == "claimed", c.lease_until <= now),
        )

    def claim(
        self,
        worker: str,
        limit: int,
        lease_seconds: int,
        now: datetime | None = None,
        skips: SkipRules | None = None,
    ) -> list[StoredEvent]:
        """Lease up to `limit` waiting events of one (realm, entity) group, oldest first.

        Waiting: pending (and not released until later), failed with a retry time that has
        come, or claimed with an expired lease. Fair across realms: the realm whose last claim
        is oldest (or that never had one, `claim_turns`) goes first, so a busy company's backlog
        cannot hold a quiet one's change back; within a realm, the group of the oldest event.
        Each claimed event gets `attempts + 1`, `claimed_by = worker` and a lease of
        `lease_seconds`. While several realms wait, a claim takes at most `SHARED_CLAIM_LIMIT`
        events, so the lanes free sooner for the next realm's turn.

        One RECORD is worked by one worker at a time, not one group: an event of a record
        another worker holds under a live lease is passed over until that lease settles or runs
        out (`_not_held_elsewhere`; the holder itself may claim it), so several workers drain one
        busy realm side by side. On PostgreSQL a transaction-scoped advisory lock per group
        serialises the claims of a group (the check for held records runs after the lock is
        taken, so it sees the claims another worker committed meanwhile); concurrent claims try
        another group first, and wait for the lock only when every group they could take was
        being claimed (a claim is a few milliseconds; giving up instead would idle the worker
        until the next wake-up). Rows are still taken with `FOR UPDATE SKIP LOCKED`. SQLite's
        `BEGIN IMMEDIATE` runs one claim at a time.

        With `skips`, the waiting events they say need no work are settled as skipped first,
        in the same transaction (`SkipRules`, `_skip`).
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        now = now or _now()
        contended: tuple[str, str] | None = None
        for _ in range(CLAIM_TRIES):
            claimed, contended = self._claim_once(
                worker, limit, lease_seconds, now, contended, skips
            )
            if claimed or contended is None:
                return claimed
        return []

    def claim_quiet(
        self, worker: str, limit: int, lease_seconds: int, now: datetime | None = None
    ) -> list[StoredEvent]:
        """Lease the waiting events of a quiet realm's group, or none: a realm with at most
        `limit` events waiting or claimed (by any worker), so all of the group's are taken.
        Quiet realms in `claim`'s turn order.

        For the lanes kept apart for quiet realms (`Worker._hand_over_quiet`): while busy realms
        hold every other lane, a quiet realm's change is taken at once instead of after their
        batches, and a busy realm's events are never taken (nor claimed and given back). Its
        claims in flight count: a busy realm with a few events left waiting is not quiet, and a
        quiet realm whose previous change is still being written stays quiet. A group another
        claim is locking (PostgreSQL) is passed over, not waited for: that claim takes it."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        claimed, _ = self._claim_once(worker, limit, lease_seconds, now or _now(), None, quiet=True)
        return claimed

    def _claim_once(
        self,
        worker: str,
        limit: int,
        lease_seconds: int,
        now: datetime,
        wait_for: tuple[str, str] | None,
        skips: SkipRules | None = None,
        *,
        quiet: bool = False,
    ) -> tuple[list[StoredEvent], tuple[str, str] | None]:
        """One claim transaction: the events, and the first group passed over because another
        claim held its lock (None: none was). `wait_for`: a group whose lock to wait for
        first; taken before any other lock, so the wait cannot be part of a deadlock. `quiet`:
        only the groups of realms with at most `limit` events unsettled (`claim_quiet`)."""
        c = events.c
        claimable = self._claimable(now)
        contended = None
        with transaction(self.engine) as connection:
            if wait_for is not None:
                _lock_group(connection, *wait_for, wait=True)
            if quiet:
                turns = self._quiet_turns(connection, claimable, limit)
            else:
                turns = self._turns(connection, claimable)
            if skips is not None:
                turns = self._skip(connection, skips, turns, now)
            if len({realm_id for realm_id, _ in turns}) > 1:
                limit = min(limit, SHARED_CLAIM_LIMIT)
            for realm_id, entity in turns:
                if not _lock_group(connection, realm_id, entity):
                    contended = contended or (realm_id, entity)
                    continue
                ids = (
                    connection.execute(
                        select(c.id)
                        .where(
                            claimable,
                            c.realm_id == realm_id,
                            c.entity == entity,
                            _not_held_elsewhere(realm_id, entity, worker, now),
                        )
                        .order_by(c.id)
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    )
                    .scalars()
                    .all()
                )
                if not ids:
                    continue
                connection.execute(
                    update(events)
                    .where(c.id.in_(ids))
                    .values(
                        state="claimed",
                        claimed_by=worker,
                        lease_until=now + timedelta(seconds=lease_seconds),
                        attempts=c.attempts + 1,
                        updated_at=now,
                    )
                )
                upsert(
                    connection,
                    claim_turns,
                    {"realm_id": realm_id, "claimed_at": now},
                    key=["realm_id"],
                    update=["claimed_at"],
                )
                rows = connection.execute(select(events).where(c.id.in_(ids)).order_by(c.id))
                return [_stored(row) for row in rows], contended
        return [], contended

    @staticmethod
    def _skip(
        connection: Connection, skips: SkipRules, turns: list[tuple[str, str]], now: datetime
    ) -> list[tuple[str, str]]:
        """Settle as skipped the waiting events of the groups in `turns` that `skips` gives a
        reason for (see `SkipRules`), up to `SKIP_LIMIT` per group, each group under its claim
        lock (PostgreSQL; a group another claim holds is left to the next); returns the other
        groups, to claim. Counted as an attempt, as a skip in a batch is
        (`outcomes.SETTLEMENTS`)."""
        generation = connection.execute(
            select(config_signal.c.generation).where(config_signal.c.id == 1)
        ).scalar()
        if (generation or 0) != skips.generation:
            return turns
        c = events.c
        # `state IN` as well as the claimable test's OR of states: the planner then reads only
        # the group's waiting events from ix_events_group, not every event the group ever had.
        waiting = and_(c.state.in_(("pending", "failed", "claimed")), EventLedger._claimable(now))
        left = []
        for realm_id, entity in turns:
            rule = skips.reasons.get(realm_id)
            reason = None if rule is None else rule(entity)
            if reason is None:
                left.append((realm_id, entity))
                continue
            if not _lock_group(connection, realm_id, entity):
                continue
            ids = (
                connection.execute(
                    select(c.id)
                    .where(waiting, c.realm_id == realm_id, c.entity == entity)
                    .order_by(c.id)
                    .limit(SKIP_LIMIT)
                    .with_for_update(skip_locked=True)
                )
                .scalars()
                .all()
            )
            if not ids:
                continue
            rows = connection.execute(
                update(events)
                .where(c.id.in_(ids))
                .values(
                    state="skipped",
                    reason=reason,
                    next_attempt_at=None,
                    lease_until=None,
                    attempts=c.attempts + 1,
                    updated_at=now,
                )
                .returning(*events.c)
            )
            skipped = sorted((_stored(row) for row in rows), key=lambda event: event.id)
            skips.keep(connection, skipped, reason)
        return left

    @staticmethod
    def _turns(connection: Connection, claimable: Any) -> list[tuple[str, str]]:
        """The groups with waiting events, in the order they are served: the realm whose last
        claim is oldest first (never claimed: first of all), then the group's oldest event. A
        few, so a claim that loses a race, or finds a group's events all held by other workers,
        tries the next. Held records are left to the claim of each group: checking them here
        would cost two index lookups for every waiting event of every claim."""
        c = events.c
        head = func.min(c.id)
        turn = claim_turns.c.claimed_at
        statement = (
            select(c.realm_id, c.entity)
            .select_from(events.outerjoin(claim_turns, claim_turns.c.realm_id == c.realm_id))
            .where(claimable)
            .group_by(c.realm_id, c.entity, turn)
            .order_by(turn.asc().nulls_first(), head)
            .limit(CLAIM_CANDIDATES)
        )
        return [tuple(row) for row in connection.execute(statement)]

    @staticmethod
    def _quiet_turns(connection: Connection, claimable: Any, most: int) -> list[tuple[str, str]]:
        """`_turns` of the realms with at most `most` events waiting or claimed (by any worker;
        a claim whose lease ran out is waiting again): the realm's events are counted in one
        grouped scan, as `_turns` groups the waiting ones."""
        c = events.c
        quiet = (
            select(c.realm_id)
            .where(or_(claimable, c.state == "claimed"))
            .group_by(c.realm_id)
            .having(func.count() <= most)
        )
        head = func.min(c.id)
        turn = claim_turns.c.claimed_at
        statement = (
            select(c.realm_id, c.entity)
            .select_from(events.outerjoin(claim_turns, claim_turns.c.realm_id == c.realm_id))
            .where(claimable, c.realm_id.in_(quiet))
            .group_by(c.realm_id, c.entity, turn)
            .order_by(turn.asc().nulls_first(), head)
            .limit(CLAIM_CANDIDATES)
        )
        return [tuple(row) for row in connection.execute(statement)]

    @contextmanager
    def settling(self) -> Iterator[Connection]:
        """One transaction for the outcomes recorded in it (`mark_*`, `release`) and what the
        caller writes with them on the connection it yields (the batch's sync-log rows)."""
        with transaction(self.engine) as connection:
            self._settling.connection = connection
            try:
                yield connection
            finally:
                self._settling.connection = None

    @contextmanager
    def _outcome_transaction(self) -> Iterator[Connection]:
        current = getattr(self._settling, "connection", None)
        if current is not None:
            yield current
            return
        with transaction(self.engine) as connection:
            yield connection

    def _set(self, ids: Sequence[int], **values: Any) -> None:
        if not ids:
            return
        with self._outcome_transaction() as connection:
            connection.execute(
                update(events)
                .where(events.c.id.in_(list(ids)))
                .values(lease_until=None, updated_at=_now(), **values)
            )

    def mark_done(self, ids: Sequence[int], note: str = "") -> None:
        """The events were applied; `note` is kept as their reason (e.g. what was done)."""
        self._set(ids, state="done", reason=note or None, last_error=None, next_attempt_at=None)

    def mark_skipped(self, ids: Sequence[int], reason: str) -> None:
        """The events need no work (e.g. the object is not mapped); `reason` says why."""
        self._set(ids, state="skipped", reason=reason, next_attempt_at=None)

    def mark_failed(self, ids: Sequence[int], error: str, retry_at: datetime | None) -> None:
        """The events failed; they are claimable again at `retry_at`, never when it is None."""
        self._set(ids, state="failed", last_error=error, next_attempt_at=retry_at)

    def mark_dead(self, ids: Sequence[int], error: str) -> None:
        """The events failed too often; they are never claimed again."""
        self._set(ids, state="dead", last_error=error, next_attempt_at=None)

    def release(self, ids: Sequence[int], at: datetime, error: str | None = None) -> None:
        """Give claimed events back untried, claimable from `at` (the realm has to wait).

        The claim's attempt is taken back: waiting for a throttled or disconnected realm is
        not a failure of the event. `error`, the wait's reason, is kept as the last error when
        given: the event then has a sync-log row of its own (Retrying), which its outcome
        must overwrite (`worker.skipped_rows`).
        """
        attempts = events.c.attempts
        kept = {} if error is None else {"last_error": error}
        self._set(
            ids,
            state="pending",
            next_attempt_at=at,
            claimed_by=None,
            attempts=case((attempts > 0, attempts - 1), else_=0),
            **kept,
        )

    def wake(self, realm_id: str) -> int:
        """The realm can be worked again (reconnected): its waiting events are claimable now."""
        c = events.c
        with transaction(self.engine) as connection:
            result = connection.execute(
                update(events)
                .where(c.realm_id == realm_id, c.state == "pending", c.next_attempt_at.is_not(None))
                .values(next_attempt_at=None, updated_at=_now())
            )
            if result.rowcount:
                self.wakeups.ring_in(connection)
        if result.rowcount:
            self.wakeups.ring_after_commit()
        return result.rowcount

    def requeue(
        self,
        states: Sequence[str],
        realm_id: str | None = None,
        entity: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """Replay: failed or dead events back to pending, attempts reset; returns how many.

        Filters: realm, entity, and `since <= t < until` on the change time (`occurred_at`,
        or `received_at` when the change carried no time). The last error is kept for reference.
        """
        unknown = sorted(set(states) - {"failed", "dead"})
        if not states or unknown:
            raise ValueError(f"only failed or dead events can be replayed, not {unknown or states}")
        c = events.c
        when = func.coalesce(c.occurred_at, c.received_at)
        conditions = [c.state.in_(list(states))]
        if realm_id is not None:
            conditions.append(c.realm_id == realm_id)
        if entity is not None:
            conditions.append(c.entity == entity)
        if since is not None:
            conditions.append(when >= since)
        if until is not None:
            conditions.append(when < until)
        return self._requeue(conditions, "replayed")

    def requeue_keys(self, keys: Sequence[str], reason: str = "replayed") -> int:
        """Replay single events: those of `keys` that are failed or dead back to pending.

        Attempts reset, `reason` recorded, the last error kept; events in any other state are
        left alone. Returns how many were requeued.
        """
        if not keys:
            return 0
        c = events.c
        return self._requeue([c.event_key.in_(list(keys)), c.state.in_(["failed", "dead"])], reason)

    def _requeue(self, conditions: list[Any], reason: str) -> int:
        with transaction(self.engine) as connection:
            result = connection.execute(
                update(events)
                .where(*conditions)
                .values(
                    state="pending",
                    attempts=0,
                    next_attempt_at=None,
                    lease_until=None,
                    claimed_by=None,
                    reason=reason,
                    updated_at=_now(),
                )
            )
            if result.rowcount:
                self.wakeups.ring_in(connection)
        if result.rowcount:
            self.wakeups.ring_after_commit()
        return result.rowcount

    # --- reading --------------------------------------------------------------------------

    def events(self, state: str | None = None, limit: int = 100) -> list[StoredEvent]:
        """Events in ledger order (oldest first), optionally only those in `state`."""
        statement = select(events).order_by(events.c.id).limit(limit)
        if state is not None:
            if state not in STATES:
                raise ValueError(f"unknown event state {state!r}; one of {', '.join(STATES)}")
            statement = statement.where(events.c.state == state)
        with transaction(self.engine) as connection:
            return [_stored(row) for row in connection.execute(statement)]

    def events_by_keys(self, keys: Sequence[str]) -> list[StoredEvent]:
        """The events with these exact event keys, in ledger order."""
        if not keys:
            return []
        statement = select(events).where(events.c.event_key.in_(list(keys))).order_by(events.c.id)
        with transaction(self.engine) as connection:
            return [_stored(row) for row in connection.execute(statement)]

    def events_by_key_prefix(self, prefix: str, limit: int = 100) -> list[StoredEvent]:
        """Events whose key starts with `prefix` (LIKE wildcards in it are literal).

        Not backed by an index on every backend: for the rare lookup of a shortened key.
        SQLite's LIKE ignores ASCII case, so callers compare the keys themselves.
        """
        if not prefix:
            raise ValueError("the event key prefix must not be empty")
        statement = (
            select(events)
            .where(events.c.event_key.startswith(prefix, autoescape=True))
            .order_by(events.c.id)
            .limit(limit)
        )
        with transaction(self.engine) as connection:
            return [_stored(row) for row in connection.execute(statement)]

    def counts(self) -> dict[str, int]:
        """Number of events per state (every state present, zero when empty). One query grouped
        on the indexed state: each metrics scrape runs it (`summary` also scans every source)."""
        statement = select(events.c.state, func.count()).group_by(events.c.state)
        counts = dict.fromkeys(STATES, 0)
        with transaction(self.engine) as connection:
            for state, count in connection.execute(statement):
                counts[state] = counts.get(state, 0) + count
        return counts

    def summary(self) -> dict[str, int]:
        """`counts()` with failed events still due a retry apart (`retrying`), plus events per
        source (`source_<name>`): what an operator or a soak run watches to see a backlog drain."""
        due = events.c.next_attempt_at.is_not(None)
        by_state = select(events.c.state, due, func.count()).group_by(events.c.state, due)
        by_source = select(events.c.source, func.count()).group_by(events.c.source)
        summary = dict.fromkeys((*STATES, "retrying"), 0)
        with transaction(self.engine) as connection:
            for state, retrying, count in connection.execute(by_state):
                summary["retrying" if state == "failed" and retrying else state] += count
            sources = dict(connection.execute(by_source).all())
        summary["total"] = sum(summary.values())
        summary.update({f"source_{source}": count for source, count in sources.items()})
        return summary

    def failures_since(self, since: datetime) -> dict[str, int]:
        """Events that failed for good (failed with no retry due, or dead) since `since`, by
        realm: the sync log's Failed rows (outcomes.SETTLEMENTS), as the alerts count them."""
        c = events.c
        failed = or_(and_(c.state == "failed", c.next_attempt_at.is_(None)), c.state == "dead")
        statement = (
            select(c.realm_id, func.count())
            .where(failed, c.updated_at >= since)
            .group_by(c.realm_id)
        )
        with transaction(self.engine) as connection:
            return dict(connection.execute(statement).all())

    def backlog(self) -> list[tuple[str, int, datetime]]:
        """(realm, events waiting, earliest receipt among them) per realm with a backlog:
        pending and claimed events, and failed ones still due a retry. One grouped query."""
        c = events.c
        waiting = or_(
            c.state.in_(("pending", "claimed")),
            and_(c.state == "failed", c.next_attempt_at.is_not(None)),
        )
        statement = (
            select(c.realm_id, func.count(), func.min(c.received_at))
            .where(waiting)
            .group_by(c.realm_id)
        )
        with transaction(self.engine) as connection:
            rows = connection.execute(statement).all()
        # Sorted here rather than by an ORDER BY: the order never depends on the database's plan
        # (a hashed GROUP BY on a large table), and on tables as small as the tests' both
        # databases return the groups in realm order anyway, so a dropped ORDER BY went unseen.
        return sorted(tuple(row) for row in rows)

    def unsettled(self, realm_id: str, entity: str, source: str) -> Unsettled:
        """How many of these events are not done or skipped, and their earliest change time."""
        c = events.c
        statement = select(func.count(), func.min(c.occurred_at)).where(
            c.source == source,
            c.realm_id == realm_id,
            c.entity == entity,
            c.state.not_in(SETTLED_STATES),
        )
        with transaction(self.engine) as connection:
            count, earliest = connection.execute(statement).one()
        return Unsettled(count, earliest)
