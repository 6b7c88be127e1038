"""The nonces of OAuth connect requests: recorded when issued, used once by the callback.

The signing of the `state` parameter is `qbsync.oauth_state`'s; this table makes a state
single-use.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, update

from qbsync.store.database import transaction
from qbsync.store.schema import qb_oauth_states


class OAuthStates:
    """The `qb_oauth_states` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, nonce: str, created_at: datetime) -> None:
        """Record a nonce just handed out."""
        with transaction(self.engine) as connection:
            connection.execute(insert(qb_oauth_states).values(nonce=nonce, created_at=created_at))

    def use(self, nonce: str, now: datetime, ttl: timedelta) -> bool:
        """Mark the nonce used; False when it is unknown, used already or older than `ttl`.

        One conditional UPDATE: of two callbacks racing with the same state, one wins.
        """
        t = qb_oauth_states.c
        with transaction(self.engine) as connection:
            result = connection.execute(
                update(qb_oauth_states)
                .where(t.nonce == nonce, t.used_at.is_(None), t.created_at > now - ttl)
                .values(used_at=now)
            )
        return result.rowcount == 1
