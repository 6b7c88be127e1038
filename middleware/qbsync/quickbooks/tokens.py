"""The token vault: QuickBooks OAuth tokens, encrypted at rest, refreshed one realm at a time.

Tokens are stored Fernet-encrypted (MultiFernet: `QBSYNC_ENCRYPTION_KEY` holds several keys,
newest first; `rotate()` re-encrypts every row with the newest). Expiry dates and the
connection status are stored in clear: they are not secrets and the connection card shows them.

Intuit rotates refresh tokens: a refresh may return a new one and the old one then fails with
`invalid_grant` (research/quickbooks.md §5). So a refresh happens under a row lock
(`qbsync.store.tokens.TokenRows.locked`: PostgreSQL `SELECT … FOR UPDATE`; SQLite begins every
transaction `IMMEDIATE`), the row is read again under the lock so a refresh another process just finished
is reused, and the new tokens are committed before the new access token is handed out.

The lock is held during the call to Intuit (timeouts 5 s connect, 20 s read). On PostgreSQL
that only delays other refreshers of the same realm; on SQLite it delays every writer of the
database (webhook inserts wait up to the busy timeout), which happens about once an hour per
realm and is the price of the embedded default.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from qbsync import metrics
from qbsync.quickbooks.errors import QuickBooksAuthError
from qbsync.store.tokens import TokenRow, TokenRows

log = logging.getLogger(__name__)

CONNECTED = "connected"
RECONNECT_REQUIRED = "reconnect_required"


@dataclass(frozen=True)
class TokenSet:
    """One company's tokens. The token values are left out of `repr` so they never reach logs."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    refresh_hard_expires_at: datetime | None
    realm_id: str
    environment: str


@dataclass(frozen=True)
class Connection:
    """What may be shown about a stored connection: everything except the tokens."""

    realm_id: str
    environment: str
    status: str  # CONNECTED | RECONNECT_REQUIRED
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    refresh_hard_expires_at: datetime | None
    connected_at: datetime | None
    refreshed_at: datetime | None
    last_error: str | None


class TokenVaultError(Exception):
    """The vault cannot work: no key, a malformed key, or stored tokens no key can decrypt."""


Refresher = Callable[[TokenSet], TokenSet]
"""Exchanges a TokenSet's refresh token for a new TokenSet (`IntuitOAuth.refresh`)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TokenVault:
    """Encrypted token storage on the store's `TokenRows`."""

    def __init__(
        self,
        rows: TokenRows,
        keys: Sequence[str],
        *,
        refresh_margin: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if not keys:
            raise TokenVaultError(
                "QBSYNC_ENCRYPTION_KEY is not set; make a key with `qbsync keygen`"
            )
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                raise TokenVaultError(
                    f"QBSYNC_ENCRYPTION_KEY key #{position} is not a Fernet key "
                    "(32 url-safe base64 bytes); make one with `qbsync keygen`"
                ) from None
        self._rows = rows
        self._fernet = MultiFernet(fernets)
        self._refresh_margin = refresh_margin
        self._clock = clock

    # -- storage -------------------------------------------------------------------------

    def save(self, tokens: TokenSet) -> None:
        """Store a company's tokens (a new consent): status becomes connected."""
        now = self._clock()
        self._rows.save(
            tokens.realm_id,
            {
                **self._token_values(tokens),
                "environment": tokens.environment,
                "status": CONNECTED,
                "last_error": None,
                "connected_at": now,
                "refreshed_at": now,
            },
        )

    def get(self, realm_id: str) -> TokenSet | None:
        """The decrypted tokens of `realm_id`, or None when none are stored."""
        row = self._rows.get(realm_id)
        return None if row is None else self._decrypt(row)

    def delete(self, realm_id: str) -> bool:
        """Forget a company's tokens; True when there were any."""
        return self._rows.delete(realm_id)

    def realms(self) -> list[str]:
        """Every realm with stored tokens, sorted."""
        return self._rows.realm_ids()

    def connection(self, realm_id: str) -> Connection | None:
        """Status and expiry dates of one realm (no tokens)."""
        row = self._rows.get(realm_id)
        return None if row is None else _connection(row)

    def connections(self) -> list[Connection]:
        """Status and expiry dates of every realm (no tokens), sorted by realm."""
        return [_connection(row) for row in self._rows.all()]

    def mark_reconnect_required(self, realm_id: str, reason: str) -> None:
        """Record that the company needs a new consent; `access_token` refuses until `save`."""
        self._rows.update(realm_id, status=RECONNECT_REQUIRED, last_error=reason)

    def rotate(self) -> int:
        """Re-encrypt every row with the newest key (the first); returns the number of rows.

        All or nothing: a row no configured key can decrypt stops the rotation.
        """

        def reencrypt(row: TokenRow) -> str:
            try:
                return self._fernet.rotate(row.secret.encode("ascii")).decode("ascii")
            except InvalidToken:
                raise _undecryptable(row.realm_id) from None

        return self._rows.rewrite_secrets(reencrypt)

    def verify(self) -> int:
        """Decrypt every row (start-up check); returns the number of rows.

        Raises TokenVaultError naming the realm when the key that encrypted it is missing.
        """
        rows = self._rows.all()
        for row in rows:
            self._decrypt(row)
        return len(rows)

    def seal(self, token: str) -> str:
        """`token` encrypted as the vault stores tokens (for tokens kept outside the vault)."""
        return self._fernet.encrypt(token.encode("utf-8")).decode("ascii")

    def reseal(self, secret: str, realm_id: str) -> str:
        """`secret` (made by `seal`) encrypted again with the newest key (key rotation)."""
        try:
            return self._fernet.rotate(secret.encode("ascii")).decode("ascii")
        except InvalidToken:
            raise _undecryptable(realm_id) from None

    def unseal(self, secret: str, realm_id: str) -> str:
        """The token `seal` made; TokenVaultError when no configured key decrypts it."""
        try:
            return self._fernet.decrypt(secret.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise _undecryptable(realm_id) from None

    # -- access tokens -------------------------------------------------------------------

    def access_token(self, realm_id: str, refresher: Refresher, *, stale: str | None = None) -> str:
        """A usable access token for `realm_id`, refreshed when it expires within the margin.

        `stale` is an access token the API just rejected (401): it is refreshed even if not
        yet expired, unless another process has already replaced it. Raises
        QuickBooksAuthError when no tokens are stored, the realm needs a new consent, or
        Intuit answers `invalid_grant` (the realm is then marked reconnect_required).
        """
        tokens = self._usable(self._rows.get(realm_id), realm_id)
        if not self._needs_refresh(tokens, stale):
            return tokens.access_token
        return self._refresh(realm_id, refresher, stale)

    def keep_alive(self, realm_id: str, refresher: Refresher, idle: timedelta) -> bool:
        """Refresh a connected realm whose refresh token was last used `idle` ago or longer.

        Intuit's refresh tokens expire after 100 days without use (research §5): a company
        whose objects see no change makes no call and would need a new consent. True when a
        refresh happened; raises QuickBooksAuthError like `access_token`.
        """
        row = self._rows.get(realm_id)
        if row is None or row.status != CONNECTED or not self._idle(row, idle):
            return False
        self._refresh(realm_id, refresher, None, idle=idle)
        return True

    def _idle(self, row: TokenRow, idle: timedelta) -> bool:
        used = row.refreshed_at or row.connected_at
        return used is None or used <= self._clock() - idle

    def _refresh(
        self,
        realm_id: str,
        refresher: Refresher,
        stale: str | None,
        *,
        idle: timedelta | None = None,
    ) -> str:
        failure: QuickBooksAuthError | None = None
        # The lock: other refreshers of this realm wait here until we commit.
        with self._rows.locked(realm_id) as (row, write):
            tokens = self._usable(row, realm_id)
            due = idle is not None and row is not None and self._idle(row, idle)
            if not due and not self._needs_refresh(tokens, stale):
                return tokens.access_token  # another process refreshed while we waited
            try:
                fresh = refresher(tokens)
            except QuickBooksAuthError as exc:
                if exc.fault_code != "invalid_grant":
                    metrics.TOKEN_REFRESHES.labels("failed").inc()
                    raise
                # Commit the status with this transaction, then raise.
                metrics.TOKEN_REFRESHES.labels("refused").inc()
                failure = exc
                write(status=RECONNECT_REQUIRED, last_error=str(exc))
            else:
                fresh = replace(
                    fresh,
                    realm_id=realm_id,
                    environment=tokens.environment,
                    refresh_hard_expires_at=fresh.refresh_hard_expires_at
                    or tokens.refresh_hard_expires_at,
                )
                write(**self._token_values(fresh), refreshed_at=self._clock())
        if failure is not None:
            log.warning("QuickBooks realm %s needs a new consent: %s", realm_id, failure)
            raise failure
        # Committed above: the rotated refresh token is durable before this token is used.
        metrics.TOKEN_REFRESHES.labels("ok").inc()
        log.info("Refreshed the QuickBooks access token of realm %s", realm_id)
        return fresh.access_token

    def _needs_refresh(self, tokens: TokenSet, stale: str | None) -> bool:
        if stale is not None and tokens.access_token == stale:
            return True
        return tokens.access_expires_at - self._refresh_margin <= self._clock()

    def _usable(self, row: TokenRow | None, realm_id: str) -> TokenSet:
        if row is None:
            raise QuickBooksAuthError(
                f"No QuickBooks tokens stored for realm {realm_id}; connect the company"
            )
        if row.status == RECONNECT_REQUIRED:
            raise QuickBooksAuthError(
                f"QuickBooks realm {realm_id} needs a new consent (Reconnect): "
                f"{row.last_error or 'authorization lost'}",
                fault_code="reconnect_required",
            )
        return self._decrypt(row)

    # -- rows ----------------------------------------------------------------------------

    def _token_values(self, tokens: TokenSet) -> dict[str, object]:
        plain = json.dumps(
            {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}
        ).encode("utf-8")
        return {
            "secret": self._fernet.encrypt(plain).decode("ascii"),
            "access_expires_at": tokens.access_expires_at,
            "refresh_expires_at": tokens.refresh_expires_at,
            "refresh_hard_expires_at": tokens.refresh_hard_expires_at,
        }

    def _decrypt(self, row: TokenRow) -> TokenSet:
        try:
            plain = json.loads(self._fernet.decrypt(row.secret.encode("ascii")))
        except InvalidToken:
            raise _undecryptable(row.realm_id) from None
        return TokenSet(
            access_token=plain["access_token"],
            refresh_token=plain["refresh_token"],
            access_expires_at=row.access_expires_at,
            refresh_expires_at=row.refresh_expires_at,
            refresh_hard_expires_at=row.refresh_hard_expires_at,
            realm_id=row.realm_id,
            environment=row.environment,
        )


def _connection(row: TokenRow) -> Connection:
    return Connection(
        realm_id=row.realm_id,
        environment=row.environment,
        status=row.status,
        access_expires_at=row.access_expires_at,
        refresh_expires_at=row.refresh_expires_at,
        refresh_hard_expires_at=row.refresh_hard_expires_at,
        connected_at=row.connected_at,
        refreshed_at=row.refreshed_at,
        last_error=row.last_error,
    )


def _undecryptable(realm_id: str) -> TokenVaultError:
    return TokenVaultError(
        f"The stored QuickBooks tokens of realm {realm_id} cannot be decrypted with any key in "
        "QBSYNC_ENCRYPTION_KEY; keep the key that encrypted them in the list (newest first) "
        "until `qbsync rotate-keys` has run"
    )
