"""Leases of periodic work (`periodic_leases`): one worker of a deployment holds each name.

`take` takes a free or expired lease, or renews the holder's own, in one statement, so two
workers asking at once never both get it (PostgreSQL re-checks the condition on the row the
other just updated; SQLite runs one write transaction at a time). A holder that dies stops
renewing: its lease runs out and the next worker to ask takes it over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update

from qbsync.store.database import insert_new, transaction
from qbsync.store.schema import periodic_leases


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    lease_until: datetime
    taken_at: datetime


class LeaseRows:
    """The `periodic_leases` table (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def take(self, name: str, holder: str, seconds: float, now: datetime) -> bool:
        """Hold `name` until `now + seconds`: True when `holder` holds it now (it was free,
        expired, or its own already), False while another holder's lease runs."""
        until = now + timedelta(seconds=seconds)
        t = periodic_leases.c
        with transaction(self.engine) as connection:
            row = {"name": name, "holder": holder, "lease_until": until, "taken_at": now}
            inserted = insert_new(
                connection, periodic_leases, row, key=["name"], returning=t.name
            ).first()
            if inserted is not None:
                return True
            renewed = connection.execute(
                update(periodic_leases)
                .where(t.name == name, t.holder == holder)
                .values(lease_until=until)
            )
            if renewed.rowcount:
                return True
            taken = connection.execute(
                update(periodic_leases)
                .where(t.name == name, t.lease_until <= now)
                .values(holder=holder, lease_until=until, taken_at=now)
            )
            return taken.rowcount == 1

    def give_up(self, name: str, holder: str, now: datetime) -> None:
        """End `holder`'s lease now (a clean stop), so another worker takes it at once."""
        t = periodic_leases.c
        with transaction(self.engine) as connection:
            connection.execute(
                update(periodic_leases)
                .where(t.name == name, t.holder == holder)
                .values(lease_until=now)
            )

    def get(self, name: str) -> Lease | None:
        t = periodic_leases.c
        with transaction(self.engine) as connection:
            row = connection.execute(
                select(t.name, t.holder, t.lease_until, t.taken_at).where(t.name == name)
            ).first()
        return None if row is None else Lease(*row)
