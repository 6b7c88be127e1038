"""The alerts sent and not yet cleared (`qb_alerts`): what keeps `qbsync.alerts` to one alert
per company and condition while the condition holds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, insert, select

from qbsync.store.database import transaction
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

    def raise_(self, realm_id: str, condition: str, now: datetime) -> None:
        with transaction(self.engine) as connection:
            connection.execute(
                insert(qb_alerts).values(realm_id=realm_id, condition=condition, raised_at=now)
            )

    def clear(self, realm_id: str, condition: str) -> None:
        t = qb_alerts.c
        with transaction(self.engine) as connection:
            connection.execute(
                delete(qb_alerts).where(t.realm_id == realm_id, t.condition == condition)
            )
