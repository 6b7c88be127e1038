"""The rows of the token vault: one per connected QuickBooks company.

Only table access lives here; encryption, refresh and the connection status rules are
`qbsync.quickbooks.tokens.TokenVault`'s, on top of this class.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update

from qbsync.store.database import transaction, upsert
from qbsync.store.schema import qb_tokens


@dataclass(frozen=True)
class TokenRow:
    """One stored company: its encrypted tokens (`secret`) and, in clear, dates and status."""

    realm_id: str
    environment: str
    secret: str = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    refresh_hard_expires_at: datetime | None
    status: str
    last_error: str | None
    connected_at: datetime | None
    refreshed_at: datetime | None


_FIELDS = tuple(TokenRow.__dataclass_fields__)


def _token_row(row: Any) -> TokenRow | None:
    return None if row is None else TokenRow(**{name: row._mapping[name] for name in _FIELDS})


Update = Callable[..., None]
"""Writes column values to the locked row, in the lock's transaction."""


class TokenRows:
    """The `qb_tokens` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(self, realm_id: str, values: Mapping[str, Any]) -> None:
        """Insert the realm's row, or overwrite the given columns of the existing one."""
        with transaction(self.engine) as connection:
            upsert(
                connection,
                qb_tokens,
                {"realm_id": realm_id, **values},
                key=["realm_id"],
                update=list(values),
            )

    def get(self, realm_id: str) -> TokenRow | None:
        with transaction(self.engine) as connection:
            return _token_row(self._select(connection, realm_id).first())

    def all(self) -> list[TokenRow]:
        """Every row, sorted by realm."""
        with transaction(self.engine) as connection:
            rows = connection.execute(select(qb_tokens).order_by(qb_tokens.c.realm_id)).all()
        return [_token_row(row) for row in rows]

    def count_by_status(self) -> dict[str, int]:
        """Stored companies per connection status."""
        statement = select(qb_tokens.c.status, func.count()).group_by(qb_tokens.c.status)
        with transaction(self.engine) as connection:
            return dict(connection.execute(statement).all())

    def realm_ids(self) -> list[str]:
        """Every realm with a row, sorted."""
        with transaction(self.engine) as connection:
            return list(
                connection.execute(select(qb_tokens.c.realm_id).order_by(qb_tokens.c.realm_id))
                .scalars()
                .all()
            )

    def delete(self, realm_id: str) -> bool:
        """Remove the realm's row; True when there was one."""
        with transaction(self.engine) as connection:
            result = connection.execute(delete(qb_tokens).where(qb_tokens.c.realm_id == realm_id))
        return result.rowcount > 0

    def update(self, realm_id: str, **values: Any) -> None:
        """Set columns of the realm's row (nothing happens when there is none)."""
        with transaction(self.engine) as connection:
            self._update(connection, realm_id, values)

    @contextmanager
    def locked(self, realm_id: str) -> Iterator[tuple[TokenRow | None, Update]]:
        """The realm's row, locked until the block ends, and a function that updates it.

        Other lockers of the row wait (PostgreSQL `SELECT … FOR UPDATE`; SQLite: every
        transaction begins IMMEDIATE). Updates commit together when the block ends.
        """
        with transaction(self.engine) as connection:
            row = self._select(connection, realm_id, lock=True).first()
            yield _token_row(row), lambda **values: self._update(connection, realm_id, values)

    def rewrite_secrets(self, rewrite: Callable[[TokenRow], str]) -> int:
        """Replace every row's secret with `rewrite(row)` in one transaction; returns the count.

        All or nothing: an exception from `rewrite` leaves every row as it was.
        """
        with transaction(self.engine) as connection:
            rows = [_token_row(row) for row in connection.execute(select(qb_tokens)).all()]
            for row in rows:
                self._update(connection, row.realm_id, {"secret": rewrite(row)})
        return len(rows)

    @staticmethod
    def _select(connection: Connection, realm_id: str, lock: bool = False) -> Any:
        statement = select(qb_tokens).where(qb_tokens.c.realm_id == realm_id)
        return connection.execute(statement.with_for_update() if lock else statement)

    @staticmethod
    def _update(connection: Connection, realm_id: str, values: Mapping[str, Any]) -> None:
        connection.execute(
            update(qb_tokens).where(qb_tokens.c.realm_id == realm_id).values(**values)
        )
