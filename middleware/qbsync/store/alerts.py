"""The alerts sent and not yet cleared (`qb_alerts`): what keeps `qbsync.alerts` to one alert
per company and condition while the condition holds, across every worker process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, select

from qbsync.store.database import insert_new, transaction
from qbsync.store.schema import qb_alerts


class AlertRows:
    """The `qb_alerts` table: (realm, condition) pairs already alerted on."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def raised(self) -> set[tuple[str, str]]:
        """Every (realm_id, condition) alerted on and not cleared since."""
        t = qb_alerts.c
        with transaction(self.engine) as connection:
            return {
                (row.realm_id, row.condition)
                for row in connection.execute(select(t.realm_id, t.condition))
            }

    def reserve(self, realm_id: str, condition: str, now: datetime) -> bool:
        """Take the alert on (realm_id, condition): True for the one caller that inserted the
        row, False when it exists (alerted already, or another worker is alerting now)."""
        with transaction(self.engine) as connection:
            inserted = insert_new(
                connection,
                qb_alerts,
                {"realm_id": realm_id, "condition": condition, "raised_at": now},
                key=("realm_id", "condition"),
                returning=qb_alerts.c.realm_id,
            )
            return inserted.first() is not None

    def clear(self, realm_id: str, condition: str) -> None:
        t = qb_alerts.c
        with transaction(self.engine) as connection:
            connection.execute(
                delete(qb_alerts).where(t.realm_id == realm_id, t.condition == condition)
            )
