"""The event ledger: every change event, durably, from receipt to its outcome.

The web process appends (`add`, `quarantine`); workers `claim` batches with a lease and record
each outcome. States: pending → claimed → done | skipped | failed (retried at `next_attempt_at`,
or permanent when that is empty) | dead. A claim whose lease runs out (the worker crashed) is
claimable again, so nothing is lost.

SQLAlchemy Core only, so SQLite (WAL, `BEGIN IMMEDIATE`, see `qbsync.db`) and PostgreSQL run the
same statements; the few dialect differences are the `INSERT … ON CONFLICT` constructs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    and_,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.types import TypeDecorator

from qbsync.db import create_tables, make_engine, metadata
from qbsync.events import ChangeEvent

STATES = ("pending", "claimed", "done", "skipped", "failed", "dead")


class LedgerUnavailable(Exception):
    """The database cannot be reached or is locked: try again later (the web answers 503)."""


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend.

    SQLite keeps no time zone (it returns naive values), so values are converted to UTC before
    they are stored; that also keeps SQLite's text comparisons in chronological order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the ledger stores aware datetimes only; got a naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# SQLite only auto-increments an INTEGER PRIMARY KEY.
_ID = BigInteger().with_variant(Integer(), "sqlite")

events_table = Table(
    "events",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("event_key", String(255), nullable=False, unique=True),
    Column("realm_id", String(64), nullable=False),
    Column("entity", String(80), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("operation", String(20), nullable=False),
    Column("occurred_at", UTCDateTime()),
    Column("deleted_id", String(64)),
    Column("source", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime()),
    Column("lease_until", UTCDateTime()),
    Column("claimed_by", String(128)),
    Column("last_error", Text),
    Column("reason", Text),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_events_state", "state", "next_attempt_at"),
    Index("ix_events_group", "realm_id", "entity", "state"),
)

quarantine_table = Table(
    "quarantine",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    # Intuit resends a batch it saw no 200 for: the same body is kept once.
    Column("body_sha256", String(64), nullable=False, unique=True),
    Column("body", LargeBinary, nullable=False),
    Column("reason", Text, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)

applied_versions_table = Table(
    "applied_versions",
    metadata,
    Column("realm_id", String(64), primary_key=True),
    Column("entity", String(80), primary_key=True),
    Column("entity_id", String(64), primary_key=True),
    Column("last_updated", UTCDateTime(), nullable=False),
    Column("sync_token", Integer, nullable=False, server_default="-1"),
)

config_signal_table = Table(
    "config_signal",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # a single row, id 1
    Column("generation", BigInteger, nullable=False),
    Column("realm_id", String(64)),  # the realm of the latest change, when one was named
    Column("changed_at", UTCDateTime(), nullable=False),
)


@dataclass(frozen=True, order=True)
class Version:
    """A QuickBooks record's version, in the order QuickBooks made them.

    `MetaData.LastUpdatedTime` has whole seconds, so two changes within one second differ only
    by `SyncToken`, which QuickBooks increments on every change (-1: unknown).
    """

    last_updated: datetime
    sync_token: int = -1


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


def _now() -> datetime:
    return datetime.now(UTC)


_STORED_FIELDS = tuple(StoredEvent.__dataclass_fields__)


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(**{field: row._mapping[field] for field in _STORED_FIELDS})


class Ledger:
    """The event ledger on one database (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        """Use `engine`; its tables are created by `qbsync.db.create_tables`."""
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    @classmethod
    def from_url(cls, url: str) -> Ledger:
        """Open the ledger at a `QBSYNC_DATABASE_URL`, creating the tables when missing."""
        engine = make_engine(url)
        create_tables(engine)
        return cls(engine)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as connection:
                yield connection
        except (OperationalError, InterfaceError) as error:
            # Only the driver's first line: SQLAlchemy's full text repeats the statement and
            # its parameters (webhook bodies), which must not reach logs.
            detail = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else ""
            raise LedgerUnavailable(
                f"event ledger unavailable ({type(error.orig).__name__}: {detail})"
            ) from error

    def ping(self) -> None:
        """Raise `LedgerUnavailable` unless the database answers."""
        with self._transaction() as connection:
            connection.execute(select(1))

    # --- web side -------------------------------------------------------------------------

    def add(self, events: Sequence[ChangeEvent]) -> int:
        """Store `events` in one transaction; known event keys are skipped. Returns new rows."""
        now = _now()
        rows: dict[str, dict[str, Any]] = {}
        for event in events:
            rows.setdefault(
                event.event_key,
                {
                    "event_key": event.event_key,
                    "realm_id": event.realm_id,
                    "entity": event.entity,
                    "entity_id": event.entity_id,
                    "operation": event.operation,
                    "occurred_at": event.occurred_at,
                    "deleted_id": event.deleted_id,
                    "source": event.source,
                    "state": "pending",
                    "attempts": 0,
                    "received_at": now,
                    "updated_at": now,
                },
            )
        if not rows:
            return 0
        # ON CONFLICT DO NOTHING: a concurrent retry of the same batch waits for this one and
        # then inserts nothing, instead of failing on the unique key.
        statement = (
            self._insert(events_table)
            .on_conflict_do_nothing(index_elements=["event_key"])
            .returning(events_table.c.id)
        )
        with self._transaction() as connection:
            return len(connection.execute(statement, list(rows.values())).all())

    def quarantine(self, body: bytes, reason: str) -> int:
        """Keep a signed body that could not be parsed; returns its id (the same for a resend)."""
        digest = hashlib.sha256(body).hexdigest()
        statement = (
            self._insert(quarantine_table)
            .values(body_sha256=digest, body=body, reason=reason, received_at=_now())
            .on_conflict_do_nothing(index_elements=["body_sha256"])
            .returning(quarantine_table.c.id)
        )
        with self._transaction() as connection:
            new_id = connection.execute(statement).scalar()
            if new_id is not None:
                return new_id
            return connection.execute(
                select(quarantine_table.c.id).where(quarantine_table.c.body_sha256 == digest)
            ).scalar_one()

    def quarantined(self, limit: int = 50) -> list[QuarantinedBody]:
        """The quarantined bodies, newest first."""
        statement = (
            select(
                quarantine_table.c.id,
                quarantine_table.c.body,
                quarantine_table.c.reason,
                quarantine_table.c.received_at,
            )
            .order_by(quarantine_table.c.id.desc())
            .limit(limit)
        )
        with self._transaction() as connection:
            return [QuarantinedBody(*row) for row in connection.execute(statement)]

    # --- worker side ----------------------------------------------------------------------

    @staticmethod
    def _claimable(now: datetime) -> Any:
        c = events_table.c
        return or_(
            and_(c.state == "pending", or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now)),
            and_(c.state == "failed", c.next_attempt_at.is_not(None), c.next_attempt_at <= now),
            and_(c.state == "claimed", c.lease_until <= now),
        )

    def claim(
        self, worker: str, limit: int, lease_seconds: int, now: datetime | None = None
    ) -> list[StoredEvent]:
        """Lease up to `limit` waiting events of one (realm, entity) group, oldest first.

        Waiting: pending (and not released until later), failed with a retry time that has
        come, or claimed with an expired lease. The group of the oldest waiting event goes
        first. Each claimed event gets `attempts + 1`, `claimed_by = worker` and a lease of
        `lease_seconds`. Concurrent workers never get the same event: PostgreSQL skips rows
        another claim has locked (`FOR UPDATE SKIP LOCKED`); SQLite's `BEGIN IMMEDIATE`
        runs one claim at a time.
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        now = now or _now()
        c = events_table.c
        claimable = self._claimable(now)
        with self._transaction() as connection:
            head = connection.execute(
                select(c.realm_id, c.entity)
                .where(claimable)
                .order_by(c.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if head is None:
                return []
            ids = (
                connection.execute(
                    select(c.id)
                    .where(claimable, c.realm_id == head.realm_id, c.entity == head.entity)
                    .order_by(c.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
                .scalars()
                .all()
            )
            connection.execute(
                update(events_table)
                .where(c.id.in_(ids))
                .values(
                    state="claimed",
                    claimed_by=worker,
                    lease_until=now + timedelta(seconds=lease_seconds),
                    attempts=c.attempts + 1,
                    updated_at=now,
                )
            )
            rows = connection.execute(select(events_table).where(c.id.in_(ids)).order_by(c.id))
            return [_stored(row) for row in rows]

    def _set(self, ids: Sequence[int], **values: Any) -> None:
        if not ids:
            return
        with self._transaction() as connection:
            connection.execute(
                update(events_table)
                .where(events_table.c.id.in_(list(ids)))
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

    def release(self, ids: Sequence[int], at: datetime) -> None:
        """Give claimed events back untried, claimable from `at` (the realm has to wait).

        The claim's attempt is taken back: waiting for a throttled or disconnected realm is
        not a failure of the event.
        """
        attempts = events_table.c.attempts
        self._set(
            ids,
            state="pending",
            next_attempt_at=at,
            claimed_by=None,
            attempts=case((attempts > 0, attempts - 1), else_=0),
        )

    def wake(self, realm_id: str) -> int:
        """The realm can be worked again (reconnected): its waiting events are claimable now."""
        c = events_table.c
        with self._transaction() as connection:
            result = connection.execute(
                update(events_table)
                .where(c.realm_id == realm_id, c.state == "pending", c.next_attempt_at.is_not(None))
                .values(next_attempt_at=None, updated_at=_now())
            )
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
        c = events_table.c
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
        with self._transaction() as connection:
            result = connection.execute(
                update(events_table)
                .where(*conditions)
                .values(
                    state="pending",
                    attempts=0,
                    next_attempt_at=None,
                    lease_until=None,
                    claimed_by=None,
                    reason="replayed",
                    updated_at=_now(),
                )
            )
            return result.rowcount

    def requeue_keys(self, keys: Sequence[str], reason: str = "replayed") -> int:
        """Replay single events: those of `keys` that are failed or dead back to pending.

        Attempts reset, `reason` recorded, the last error kept; events in any other state are
        left alone. Returns how many were requeued.
        """
        if not keys:
            return 0
        c = events_table.c
        with self._transaction() as connection:
            result = connection.execute(
                update(events_table)
                .where(c.event_key.in_(list(keys)), c.state.in_(["failed", "dead"]))
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
            return result.rowcount

    # --- reading --------------------------------------------------------------------------

    def events(self, state: str | None = None, limit: int = 100) -> list[StoredEvent]:
        """Events in ledger order (oldest first), optionally only those in `state`."""
        statement = select(events_table).order_by(events_table.c.id).limit(limit)
        if state is not None:
            if state not in STATES:
                raise ValueError(f"unknown event state {state!r}; one of {', '.join(STATES)}")
            statement = statement.where(events_table.c.state == state)
        with self._transaction() as connection:
            return [_stored(row) for row in connection.execute(statement)]

    def events_by_keys(self, keys: Sequence[str]) -> list[StoredEvent]:
        """The events with these exact event keys, in ledger order."""
        if not keys:
            return []
        statement = (
            select(events_table)
            .where(events_table.c.event_key.in_(list(keys)))
            .order_by(events_table.c.id)
        )
        with self._transaction() as connection:
            return [_stored(row) for row in connection.execute(statement)]

    def events_by_key_prefix(self, prefix: str, limit: int = 100) -> list[StoredEvent]:
        """Events whose key starts with `prefix` (LIKE wildcards in it are literal).

        Not backed by an index on every backend: for the rare lookup of a shortened key.
        SQLite's LIKE ignores ASCII case, so callers compare the keys themselves.
        """
        if not prefix:
            raise ValueError("the event key prefix must not be empty")
        statement = (
            select(events_table)
            .where(events_table.c.event_key.startswith(prefix, autoescape=True))
            .order_by(events_table.c.id)
            .limit(limit)
        )
        with self._transaction() as connection:
            return [_stored(row) for row in connection.execute(statement)]

    def counts(self) -> dict[str, int]:
        """Number of events per state (every state present, zero when empty)."""
        statement = select(events_table.c.state, func.count()).group_by(events_table.c.state)
        counts = dict.fromkeys(STATES, 0)
        with self._transaction() as connection:
            counts.update({state: count for state, count in connection.execute(statement)})
        return counts

    def summary(self) -> dict[str, int]:
        """`counts()` with failed events still due a retry apart (`retrying`), plus events per
        source (`source_<name>`): what an operator or a soak run watches to see a backlog drain."""
        due = events_table.c.next_attempt_at.is_not(None)
        by_state = select(events_table.c.state, due, func.count()).group_by(
            events_table.c.state, due
        )
        by_source = select(events_table.c.source, func.count()).group_by(events_table.c.source)
        summary = dict.fromkeys((*STATES, "retrying"), 0)
        with self._transaction() as connection:
            for state, retrying, count in connection.execute(by_state):
                summary["retrying" if state == "failed" and retrying else state] += count
            sources = dict(connection.execute(by_source).all())
        summary["total"] = sum(summary.values())
        summary.update({f"source_{source}": count for source, count in sources.items()})
        return summary

    # --- applied versions -----------------------------------------------------------------

    def applied_version(self, realm_id: str, entity: str, entity_id: str) -> datetime | None:
        """The newest QuickBooks `MetaData.LastUpdatedTime` applied for this record."""
        version = self.applied(realm_id, entity, entity_id)
        return None if version is None else version.last_updated

    def applied(self, realm_id: str, entity: str, entity_id: str) -> Version | None:
        """The newest version (LastUpdatedTime, SyncToken) applied for this record."""
        t = applied_versions_table.c
        statement = select(t.last_updated, t.sync_token).where(
            t.realm_id == realm_id, t.entity == entity, t.entity_id == entity_id
        )
        with self._transaction() as connection:
            row = connection.execute(statement).first()
        return None if row is None else Version(row.last_updated, row.sync_token)

    def record_applied(
        self,
        realm_id: str,
        entity: str,
        entity_id: str,
        last_updated: datetime,
        sync_token: int = -1,
    ) -> None:
        """Remember that this version was applied; an older one never replaces a newer one."""
        t = applied_versions_table.c
        statement = self._insert(applied_versions_table).values(
            realm_id=realm_id,
            entity=entity,
            entity_id=entity_id,
            last_updated=last_updated,
            sync_token=sync_token,
        )
        new = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=["realm_id", "entity", "entity_id"],
            set_={"last_updated": new.last_updated, "sync_token": new.sync_token},
            where=or_(
                t.last_updated < new.last_updated,
                and_(t.last_updated == new.last_updated, t.sync_token < new.sync_token),
            ),
        )
        with self._transaction() as connection:
            connection.execute(statement)

    # --- configuration signal -------------------------------------------------------------

    def config_changed(self, realm_id: str | None = None) -> None:
        """Tell every worker its cached Salesforce configuration is stale."""
        t = config_signal_table.c
        statement = self._insert(config_signal_table).values(
            id=1, generation=1, realm_id=realm_id, changed_at=_now()
        )
        statement = statement.on_conflict_do_update(
            index_elements=["id"],
            set_={
                "generation": t.generation + 1,
                "realm_id": statement.excluded.realm_id,
                "changed_at": statement.excluded.changed_at,
            },
        )
        with self._transaction() as connection:
            connection.execute(statement)

    def config_generation(self) -> int:
        """A number that grows with every `config_changed` (0 before the first)."""
        statement = select(config_signal_table.c.generation).where(config_signal_table.c.id == 1)
        with self._transaction() as connection:
            return connection.execute(statement).scalar() or 0
