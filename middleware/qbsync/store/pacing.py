"""Intuit's per-realm limits kept in the database (`qb_realm_pacing`), so every process that
calls QuickBooks — any number of workers on any number of machines, and the web — stays within
them together (issue 19; the limits: research/quickbooks.md, "Limits and throttles").

A request reserves its send time: in one transaction the realm's row is locked, the earliest
moment at which one more request fits every sliding window is computed from the realm's recent
requests, appended to those in flight, and committed; the caller then sleeps until it. So the
wait is taken outside any transaction and the realm's requests go out in reservation order. A
429 sets `held_until`: no process sends to the realm before it (Intuit: "wait 60 seconds").

Intuit counts a request when it arrives, which can be later than its reserved moment: the sender
may be descheduled between waking and sending, or its connection slow. A window that counted the
reserved moment could then let an eleventh request in less than a second after the first one
arrived (seen: one 429 among four workers on a loaded machine). So the windows count what is
certain: a request in flight may arrive at any moment until it is answered, so it counts as
"now" (or its reserved moment, when that is later); once answered (`answered`), it counts at the
moment of its answer, which it reached Intuit before. Requests reserved later count on a
reserved moment being kept: a sender that wakes well after its moment gives it back
(`withdraw`) and reserves again instead of sending late.

Times are wall-clock epoch seconds: processes on several machines compare them, so their clocks
must agree (NTP) to well within `margin`, which each window adds to its length.
"""

from __future__ import annotations

from collections.abc import Callable
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


def counted_times(answered: list[float], in_flight: list[float], now: float) -> list[float]:
    """The moments the windows count, ascending: each answered request's answer, and for each
    request in flight the later of its reserved moment and `now` (it may still arrive now)."""
    return sorted([*answered, *(max(moment, now) for moment in in_flight)])


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
                select(t.sent, t.in_flight, t.held_until)
                .where(t.realm_id == realm_id)
                .with_for_update()
            ).one()
            held = row.held_until
            if held is not None and held.timestamp() > now:
                return Reservation(None, held)
            answered = [moment for moment in _decode(row.sent) if moment > now - longest][-keep:]
            # A request in flight longer than the longest window was sent by a process that died
            # before its answer (the read timeout is shorter): it no longer counts.
            in_flight = [moment for moment in _decode(row.in_flight) if moment > now - longest]
            at = earliest_send(counted_times(answered, in_flight, now), now, limits, margin)
            in_flight.append(at)
            connection.execute(
                update(qb_realm_pacing)
                .where(t.realm_id == realm_id)
                .values(sent=_encode(answered), in_flight=_encode(in_flight))
            )
            return Reservation(at, None)

    def answered(
        self,
        realm_id: str,
        send_at: float,
        answered_at: float,
        limits: tuple[tuple[int, float], ...],
        margin: float,
    ) -> None:
        """The request reserved for `send_at` was answered at `answered_at`: from now on the
        windows count it then (it reached Intuit no later) instead of as in flight."""
        keep = max(count for count, _ in limits)
        longest = max(seconds for _, seconds in limits) + margin

        def with_answer(sent: str) -> str:
            recent = (moment for moment in _decode(sent) if moment > answered_at - longest)
            return _encode(sorted([*recent, max(send_at, answered_at)])[-keep:])

        self._leave_flight(realm_id, send_at, with_answer)

    def withdraw(self, realm_id: str, send_at: float) -> None:
        """The request reserved for `send_at` is not sent (its sender woke too late to keep it):
        it leaves the flight without an answer."""
        self._leave_flight(realm_id, send_at, lambda sent: sent)

    def _leave_flight(self, realm_id: str, send_at: float, answers: Callable[[str], str]) -> None:
        """Take the request reserved for `send_at` out of the realm's flight, and its answers
        through `answers` (the stored text in, the text to store out), in one transaction."""
        t = qb_realm_pacing.c
        reserved = _encode([send_at])
        with transaction(self.engine) as connection:
            row = connection.execute(
                select(t.sent, t.in_flight).where(t.realm_id == realm_id).with_for_update()
            ).one()
            in_flight = row.in_flight.split(",") if row.in_flight else []
            if reserved in in_flight:
                in_flight.remove(reserved)
            connection.execute(
                update(qb_realm_pacing)
                .where(t.realm_id == realm_id)
                .values(sent=answers(row.sent), in_flight=",".join(in_flight))
            )

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
