"""The OAuth `state` of a connect request: signed, single-use, valid 10 minutes.

The value Intuit hands back is an itsdangerous token (Flask's own signing library) over a random
nonce. The nonce is recorded when the connect request is made and used once by the callback
(`qbsync.store.oauth_states`), so a replayed or forged state is refused even inside its 10 minutes.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from qbsync.store.oauth_states import ConnectRequest, OAuthStates

STATE_TTL = timedelta(minutes=10)


class InvalidState(Exception):
    """The callback's state is missing, forged, expired or already used."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class StateSigner:
    def __init__(
        self, states: OAuthStates, secret: str, *, clock: Callable[[], datetime] = _utcnow
    ) -> None:
        # A key of its own, derived from the configured secret: a state never doubles as anything else.
        key = hashlib.sha256(b"qbsync oauth state\0" + secret.encode()).hexdigest()
        self._serializer = URLSafeTimedSerializer(key, salt="qbsync.oauth.state")
        self._states = states
        self._clock = clock

    def issue(
        self, *, realm_id: str | None = None, origin: str | None = None
    ) -> tuple[str, datetime]:
        """A new state and the moment it expires; the callback gets `realm_id` and `origin` back."""
        nonce = secrets.token_urlsafe(24)
        now = self._clock()
        self._states.add(nonce, now, realm_id=realm_id, origin=origin)
        return self._serializer.dumps({"n": nonce}), now + STATE_TTL

    def consume(self, state: str | None) -> ConnectRequest:
        """Accept `state` once and return its request; raise InvalidState with the reason."""
        if not state:
            raise InvalidState("the request has no state parameter")
        try:
            payload = self._serializer.loads(state, max_age=int(STATE_TTL.total_seconds()))
        except SignatureExpired:
            raise InvalidState("the connect request expired (10 minutes); start again") from None
        except BadSignature:
            raise InvalidState("the state parameter is not one this server issued") from None
        nonce = payload.get("n") if isinstance(payload, dict) else None
        if not isinstance(nonce, str):
            raise InvalidState("the state parameter is not one this server issued")
        request = self._states.use(nonce, self._clock(), STATE_TTL)
        if request is None:
            raise InvalidState("this connect request was already used or has expired; start again")
        return request
