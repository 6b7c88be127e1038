"""Intuit's per-realm limits kept in the database (`qb_realm_pacing`), so every process that
calls QuickBooks — any number of workers on any number of machines, and the web — stays within
them together (issue 19; the limits: research/quickbooks.md, "Limits and throttles").

A request reserves its send time: in one transaction the realm's row is locked, the earliest
moment at which one more request fits every sliding window is computed from the recent send
times (reservations included), appended, and committed; the caller then sleeps until it. So the
wait is taken outside any transaction and the realm's requests go out in reservation order. A
429 sets `held_until`: no process sends to the realm before it (Intuit: "wait 60 seconds").

Times are wall-clock epoch seconds: processes on several machines compare them, so their clocks
must agree (NTP) to well within `margin`, which each window adds to its length.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update

from qbsync.store.database import insert_new, transaction
from qbsync.store.schema import qb_realm_pacing


@dataclass(frozen=True)
class Reservation:
    """A request's send time (epoch seconds), or the end of the realm's 429 wait instead."""

    send_at: float | None
    held_until: datetime | None


def _decode(text: str) -> list[float]:
    return [int(part) / 1000 for part in text.split(",") if part]


def _encode(times: list[float]) -> str:
    return ",".join(str(round(t * 1000)) for t in times)


def earliest_send(
    sent: list[float], now: float, limits: tuple[tuple[int, float], ...], margin: float
) -> float:
    """The earliest moment ≥ now, and not before the last reservation, at which one more request
    keeps every window (`count` requests in `seconds`) within its limit; `sent` is ascending."""
    at = max(now, sent[-1]) if sent else now
    for count, seconds in limits:
        if len(sent) >= count:
            at = max(at, sent[-count] + seconds + margin)
    return at


class RealmPacingRows:
    """The `qb_realm_pacing` table (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def reserve(
        self, realm_id: str, now: float, limits: tuple[tuple[int, float], ...], margin: float
    ) -> Reservation:
        """Reserve one request's send time for `realm_id`, unless a 429's wait holds it."""
        t = qb_realm_pacing.c
        keep = max(count for count, _ in limits)
        longest = max(seconds for _, seconds in limits) + margin
        with transaction(self.engine) as connection:
            insert_new(
                connection, qb_realm_pacing, {"realm_id": realm_id, "sent": ""}, key=["realm_id"]
            )
            row = connection.execute(
                select(t.sent, t.held_until).where(t.realm_id == realm_id).with_for_update()
            ).one()
            held = row.held_until
            if held is not None and held.timestamp() > now:
                return Reservation(None, held)
            sent = [moment for moment in _decode(row.sent) if moment > now - longest][-keep:]
            at = earliest_send(sent, now, limits, margin)
            sent.append(at)
            connection.execute(
                update(qb_realm_pacing)
                .where(t.realm_id == realm_id)
                .values(sent=_encode(sent[-keep:]))
            )
            return Reservation(at, None)

    def hold(self, realm_id: str, until: datetime) -> None:
        """No request to `realm_id` before `until` (a 429); a later hold already set stays."""
        t = qb_realm_pacing.c
        with transaction(self.engine) as connection:
            insert_new(
                connection, qb_realm_pacing, {"realm_id": realm_id, "sent": ""}, key=["realm_id"]
            )
            connection.execute(
                update(qb_realm_pacing)
                .where(t.realm_id == realm_id, (t.held_until.is_(None)) | (t.held_until < until))
                .values(held_until=until)
            )

    def held_until(self, realm_id: str, now: datetime | None = None) -> datetime | None:
        """The end of the realm's 429 wait, when it has not passed."""
        now = now or datetime.now(UTC)
        t = qb_realm_pacing.c
        with transaction(self.engine) as connection:
            held = connection.execute(select(t.held_until).where(t.realm_id == realm_id)).scalar()
        return held if held is not None and held > now else None
