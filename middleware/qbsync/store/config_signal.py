"""The configuration signal: tells every worker its cached Salesforce configuration is stale.

Salesforce calls /api/config-changed when mappings are saved, and a connect or disconnect
changes a company's status: the web process raises the generation, workers compare it with the
one their cache was read at.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from qbsync.store.database import transaction, upsert
from qbsync.store.schema import config_signal


class ConfigSignal:
    """The single row of the `config_signal` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def changed(self, realm_id: str | None = None) -> None:
        """Raise the generation; `realm_id` names the realm whose configuration changed."""
        row = {"id": 1, "generation": 1, "realm_id": realm_id, "changed_at": datetime.now(UTC)}
        with transaction(self.engine) as connection:
            upsert(
                connection,
                config_signal,
                row,
                key=["id"],
                update=lambda new: {
                    "generation": config_signal.c.generation + 1,
                    "realm_id": new.realm_id,
                    "changed_at": new.changed_at,
                },
            )

    def generation(self) -> int:
        """A number that grows with every `changed` (0 before the first)."""
        statement = select(config_signal.c.generation).where(config_signal.c.id == 1)
        with transaction(self.engine) as connection:
            return connection.execute(statement).scalar() or 0
