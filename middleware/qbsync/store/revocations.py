"""Tokens waiting for Intuit to confirm their revocation (`qb_revocations`).

A Disconnect, or a connect that failed after Intuit issued tokens, revokes them at once; when
Intuit cannot be reached the encrypted token waits here and the worker tries again. Encryption
is the caller's (`qbsync.revocations`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, delete, insert, select, update

from qbsync.store.database import transaction
from qbsync.store.schema import qb_revocations


@dataclass(frozen=True)
class PendingRevocation:
    id: int
    realm_id: str
    secret: str = field(repr=False)
    attempts: int
    last_error: str | None


class Revocations:
    """The `qb_revocations` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, realm_id: str, secret: str, error: str, now: datetime) -> None:
        """Keep a token whose revocation failed once (`error`), due again at `now`."""
        with transaction(self.engine) as connection:
            connection.execute(
                insert(qb_revocations).values(
                    realm_id=realm_id,
                    secret=secret,
                    attempts=1,
                    next_attempt_at=now,
                    last_error=error,
                    created_at=now,
                )
            )

    def due(self, now: datetime, limit: int = 100) -> list[PendingRevocation]:
        """Revocations to try again now, oldest first."""
        t = qb_revocations.c
        with transaction(self.engine) as connection:
            rows = connection.execute(
                select(t.id, t.realm_id, t.secret, t.attempts, t.last_error)
                .where(t.next_attempt_at <= now)
                .order_by(t.id)
                .limit(limit)
            ).all()
        return [PendingRevocation(**row._mapping) for row in rows]

    def pending(self, realm_id: str | None = None) -> list[PendingRevocation]:
        """Every revocation still waiting (of one realm, when given)."""
        t = qb_revocations.c
        statement = select(t.id, t.realm_id, t.secret, t.attempts, t.last_error).order_by(t.id)
        if realm_id is not None:
            statement = statement.where(t.realm_id == realm_id)
        with transaction(self.engine) as connection:
            return [PendingRevocation(**row._mapping) for row in connection.execute(statement)]

    def done(self, revocation_id: int) -> None:
        with transaction(self.engine) as connection:
            connection.execute(delete(qb_revocations).where(qb_revocations.c.id == revocation_id))

    def failed(self, revocation_id: int, error: str, next_attempt_at: datetime) -> None:
        t = qb_revocations.c
        with transaction(self.engine) as connection:
            connection.execute(
                update(qb_revocations)
                .where(t.id == revocation_id)
                .values(attempts=t.attempts + 1, last_error=error, next_attempt_at=next_attempt_at)
            )

    def rewrite_secrets(self, rewrite: Callable[[PendingRevocation], str]) -> int:
        """Replace every secret with `rewrite(row)` in one transaction (key rotation); returns the
        count. All or nothing, like `TokenRows.rewrite_secrets`."""
        t = qb_revocations.c
        with transaction(self.engine) as connection:
            rows = [
                PendingRevocation(**row._mapping)
                for row in connection.execute(
                    select(t.id, t.realm_id, t.secret, t.attempts, t.last_error)
                )
            ]
            for row in rows:
                connection.execute(
                    update(qb_revocations).where(t.id == row.id).values(secret=rewrite(row))
                )
        return len(rows)
