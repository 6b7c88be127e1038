"""The nonces of OAuth connect requests: recorded when issued, used once by the callback.

The signing of the `state` parameter is `qbsync.oauth_state`'s; this table makes a state
single-use and remembers what the request was for: the realm a Reconnect names and the
Salesforce origin the callback page may post its outcome to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, select, update

from qbsync.store.database import transaction
from qbsync.store.schema import qb_oauth_states


@dataclass(frozen=True)
class ConnectRequest:
    """What a connect request was started for."""

    realm_id: str | None  # the company a Reconnect renews; None for a new connection
    origin: str | None  # the Salesforce origin to tell the outcome; None: tell no window


class OAuthStates:
    """The `qb_oauth_states` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(
        self,
        nonce: str,
        created_at: datetime,
        *,
        realm_id: str | None = None,
        origin: str | None = None,
    ) -> None:
        """Record a nonce just handed out, with what its request is for."""
        with transaction(self.engine) as connection:
            connection.execute(
                insert(qb_oauth_states).values(
                    nonce=nonce, created_at=created_at, realm_id=realm_id, origin=origin
                )
            )

    def use(self, nonce: str, now: datetime, ttl: timedelta) -> ConnectRequest | None:
        """Mark the nonce used and return its request; None when it is unknown, used already
        or older than `ttl`.

        One conditional UPDATE: of two callbacks racing with the same state, one wins.
        """
        t = qb_oauth_states.c
        with transaction(self.engine) as connection:
            result = connection.execute(
                update(qb_oauth_states)
                .where(t.nonce == nonce, t.used_at.is_(None), t.created_at > now - ttl)
                .values(used_at=now)
            )
            if result.rowcount != 1:
                return None
            row = connection.execute(select(t.realm_id, t.origin).where(t.nonce == nonce)).one()
        return ConnectRequest(realm_id=row.realm_id, origin=row.origin)
