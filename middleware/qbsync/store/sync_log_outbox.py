"""QB_Sync_Log__c rows waiting for Salesforce, in the database (see `schema.sync_log_outbox`).

The worker keeps a batch's rows in the transaction that records the batch's outcomes, then
sends them (`qbsync.sync_log`). Sending takes rows under a lease, like the ledger's claims, so
two workers do not send the same row and a newer outcome of an event is never overtaken by an
older one: a row replaced while it is out keeps its lease until the sender gives it back, and
then goes out as the newer version.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, or_, select, update

from qbsync.store.database import transaction, upsert
from qbsync.store.schema import sync_log_outbox

_o = sync_log_outbox.c


@dataclass(frozen=True)
class OutboxRow:
    """A row taken for sending: its key, the version taken, and the QB_Sync_Log__c fields."""

    log_key: str
    stamp: str
    row: dict[str, Any]


class SyncLogOutbox:
    """The `sync_log_outbox` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def keep(self, connection: Connection, rows: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Store (log key, row) pairs in the caller's transaction; a newer row of the same key
        replaces the older one (its lease stays, see the module docstring)."""
        now = datetime.now(UTC)
        values = [
            {"log_key": key, "row": row, "stamp": uuid.uuid4().hex, "created_at": now}
            for key, row in dict(rows).items()
        ]
        if values:
            upsert(connection, sync_log_outbox, values, key=["log_key"], update=["row", "stamp"])

    def take(
        self, owner: str, limit: int, lease_seconds: float, now: datetime | None = None
    ) -> list[OutboxRow]:
        """Lease up to `limit` rows nobody holds, oldest first."""
        now = now or datetime.now(UTC)
        free = or_(_o.lease_until.is_(None), _o.lease_until <= now)
        with transaction(self.engine) as connection:
            keys = (
                connection.execute(
                    select(_o.log_key)
                    .where(free)
                    .order_by(_o.created_at, _o.log_key)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
                .scalars()
                .all()
            )
            if not keys:
                return []
            connection.execute(
                update(sync_log_outbox)
                .where(_o.log_key.in_(keys), free)
                .values(claimed_by=owner, lease_until=now + timedelta(seconds=lease_seconds))
            )
            taken = connection.execute(
                select(_o.log_key, _o.stamp, _o.row)
                .where(_o.log_key.in_(keys), _o.claimed_by == owner)
                .order_by(_o.created_at, _o.log_key)
            )
            return [OutboxRow(*row) for row in taken]

    def sent(self, rows: Sequence[OutboxRow]) -> None:
        """Salesforce took these versions (or refused them for good): they go. A row replaced
        meanwhile stays, free to be sent as its newer version."""
        if not rows:
            return
        with transaction(self.engine) as connection:
            for row in rows:
                connection.execute(
                    delete(sync_log_outbox).where(_o.log_key == row.log_key, _o.stamp == row.stamp)
                )
            self._free(connection, rows)

    def give_back(self, rows: Sequence[OutboxRow]) -> None:
        """These rows were not written: free them for the next try."""
        if rows:
            with transaction(self.engine) as connection:
                self._free(connection, rows)

    @staticmethod
    def _free(connection: Connection, rows: Sequence[OutboxRow]) -> None:
        connection.execute(
            update(sync_log_outbox)
            .where(_o.log_key.in_([row.log_key for row in rows]))
            .values(claimed_by=None, lease_until=None)
        )

    def count(self) -> int:
        """Rows waiting (taken or not)."""
        with transaction(self.engine) as connection:
            return connection.execute(select(func.count()).select_from(sync_log_outbox)).scalar()
