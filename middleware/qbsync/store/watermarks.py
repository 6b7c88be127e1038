"""How far CDC reconciliation got, per realm and entity (see `qbsync.reconcile`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from qbsync.store.database import transaction, upsert
from qbsync.store.schema import reconcile_watermarks


@dataclass(frozen=True)
class Watermark:
    """Reconciliation progress of one realm + entity.

    `scanned_through`: CDC was read and its changes enqueued up to here; `applied_through`:
    every change before it has been applied.
    """

    realm_id: str
    entity: str
    scanned_through: datetime
    applied_through: datetime


class Watermarks:
    """The `reconcile_watermarks` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def all(self, realm_id: str | None = None) -> list[Watermark]:
        """The stored progress, per realm and entity, optionally of one realm."""
        t = reconcile_watermarks.c
        statement = select(reconcile_watermarks).order_by(t.realm_id, t.entity)
        if realm_id:
            statement = statement.where(t.realm_id == realm_id)
        with transaction(self.engine) as connection:
            return [
                Watermark(row.realm_id, row.entity, row.scanned_through, row.applied_through)
                for row in connection.execute(statement)
            ]

    def save(self, mark: Watermark, now: datetime) -> None:
        """Store `mark`, replacing the realm and entity's earlier one."""
        row = {
            "realm_id": mark.realm_id,
            "entity": mark.entity,
            "scanned_through": mark.scanned_through,
            "applied_through": mark.applied_through,
            "updated_at": now,
        }
        with transaction(self.engine) as connection:
            upsert(
                connection,
                reconcile_watermarks,
                row,
                key=["realm_id", "entity"],
                update=["scanned_through", "applied_through", "updated_at"],
            )
