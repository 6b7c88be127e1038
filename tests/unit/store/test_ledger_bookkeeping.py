"""What the event ledger records besides an event's state, run on every backend: when each row
last changed (purge ages settled events by it), what a replay or a wake-up touches, the default
page sizes and reasons an operator sees, and the errors of bad input.

Complements tests/unit/store/test_event_ledger.py (the claim/outcome contract). The ledger's own
clock (`qbsync.store.ledger._now`) is replaced by the fake clock, so every stamp is exact.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import StatementError

from qbsync.events import ChangeEvent
from qbsync.store.ledger import STATES, EventLedger
from qbsync.store.schema import events
from tests.support.backends import postgres_only
from tests.support.fakes import Clock

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
LEASE = 60


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock(T0)
    monkeypatch.setattr("qbsync.store.ledger._now", clock)
    return clock


@pytest.fixture
def ledger(database, clock: Clock) -> EventLedger:
    return EventLedger(database)


def change(
    entity_id: str, *, realm: str = "r1", occurred_at: datetime | None = T0, key: str = ""
) -> ChangeEvent:
    return ChangeEvent(
        realm, "Customer", entity_id, "Update", occurred_at, key or f"ce:{realm}-{entity_id}"
    )


def last_changed(ledger: EventLedger) -> dict[str, datetime]:
    """Each event's `updated_at` by entity id (not part of `StoredEvent`)."""
    with ledger.engine.begin() as connection:
        rows = connection.execute(select(events.c.entity_id, events.c.updated_at))
        return dict(rows.all())


def by_entity(ledger: EventLedger) -> dict[str, object]:
    return {item.entity_id: item for item in ledger.events()}


# --- when each event last changed ---------------------------------------------------------


def test_every_change_of_an_event_stamps_when_it_changed(ledger: EventLedger, clock) -> None:
    ledger.add([change(str(n)) for n in range(6)])
    assert set(last_changed(ledger).values()) == {T0}

    claimed_at = T0 + timedelta(minutes=1)
    claimed = {e.entity_id: e.id for e in ledger.claim("w1", 10, LEASE, now=claimed_at)}
    assert set(last_changed(ledger).values()) == {claimed_at}

    settled = {}
    outcomes = {
        "0": lambda ids: ledger.mark_done(ids),
        "1": lambda ids: ledger.mark_skipped(ids, "not mapped"),
        "2": lambda ids: ledger.mark_failed(ids, "HTTP 503", T0 + timedelta(hours=1)),
        "3": lambda ids: ledger.mark_dead(ids, "gave up"),
        "4": lambda ids: ledger.release(ids, T0 + timedelta(hours=1)),
    }
    for entity_id, settle in outcomes.items():
        clock.advance(minutes=2)
        settle([claimed[entity_id]])
        settled[entity_id] = clock()

    assert last_changed(ledger) == {**settled, "5": claimed_at}


def test_a_wake_up_and_a_replay_stamp_the_events_they_touch(ledger: EventLedger, clock) -> None:
    ledger.add([change("1"), change("2"), change("3")])
    claimed = {e.entity_id: e.id for e in ledger.claim("w1", 10, LEASE, now=T0)}
    ledger.release([claimed["1"]], T0 + timedelta(hours=1))
    ledger.mark_failed([claimed["2"]], "HTTP 503", None)
    ledger.mark_dead([claimed["3"]], "gave up")

    clock.advance(minutes=5)
    ledger.wake("r1")
    clock.advance(minutes=5)
    ledger.requeue(["failed"])
    clock.advance(minutes=5)
    ledger.requeue_keys(["ce:r1-3"])

    assert last_changed(ledger) == {
        "1": T0 + timedelta(minutes=5),
        "2": T0 + timedelta(minutes=10),
        "3": T0 + timedelta(minutes=15),
    }


# --- release ------------------------------------------------------------------------------


def test_release_gives_back_only_the_claims_attempt(ledger: EventLedger) -> None:
    ledger.add([change("1")])
    ledger.claim("w1", 10, LEASE, now=T0)
    # The worker crashed: the lease runs out and a second claim counts a second attempt.
    (again,) = ledger.claim("w2", 10, LEASE, now=T0 + timedelta(seconds=LEASE))
    assert again.attempts == 2

    ledger.release([again.id], T0 + timedelta(hours=1))

    assert [e.attempts for e in ledger.events()] == [1]


def test_releasing_an_event_twice_never_counts_attempts_below_zero(ledger: EventLedger) -> None:
    ledger.add([change("1")])
    (claimed,) = ledger.claim("w1", 10, LEASE, now=T0)

    ledger.release([claimed.id], T0 + timedelta(hours=1))
    ledger.release([claimed.id], T0 + timedelta(hours=2))

    (released,) = ledger.events()
    assert (released.state, released.attempts) == ("pending", 0)
    assert released.next_attempt_at == T0 + timedelta(hours=2)


# --- wake -----------------------------------------------------------------------------------


def test_wake_touches_only_the_realms_events_that_wait(ledger: EventLedger) -> None:
    ledger.add([change("1"), change("2"), change("1", realm="r2")])
    r1 = {e.entity_id: e.id for e in ledger.claim("w1", 10, LEASE, now=T0)}
    (r2,) = ledger.claim("w1", 10, LEASE, now=T0)
    later, retry_at = T0 + timedelta(hours=1), T0 + timedelta(minutes=30)
    ledger.release([r1["1"], r2.id], later)  # both realms were throttled
    ledger.mark_failed([r1["2"]], "HTTP 503", retry_at)  # a retry with its own backoff
    ledger.add([change("3")])  # new, claimable at once: nothing to wake

    assert ledger.wake("r1") == 1

    waiting = {(e.realm_id, e.entity_id): (e.state, e.next_attempt_at) for e in ledger.events()}
    assert waiting == {
        ("r1", "1"): ("pending", None),
        ("r1", "2"): ("failed", retry_at),
        ("r2", "1"): ("pending", later),
        ("r1", "3"): ("pending", None),
    }
    assert ledger.wake("r1") == 0


# --- replay -------------------------------------------------------------------------------


def test_a_replayed_event_is_claimable_at_once_even_if_its_retry_was_later(
    ledger: EventLedger,
) -> None:
    ledger.add([change("1"), change("2")])
    first, second = ledger.claim("w1", 10, LEASE, now=T0)
    next_day = T0 + timedelta(days=1)
    ledger.mark_failed([first.id, second.id], "HTTP 503", next_day)

    assert ledger.requeue(["failed"], realm_id="r1", entity="Customer") == 2

    replayed = ledger.claim("w2", 10, LEASE, now=T0)
    assert [(e.entity_id, e.attempts, e.claimed_by) for e in replayed] == [
        ("1", 1, "w2"),
        ("2", 1, "w2"),
    ]


def test_a_single_replay_is_claimable_at_once_and_says_replayed(ledger: EventLedger) -> None:
    ledger.add([change("1")])
    (claimed,) = ledger.claim("w1", 10, LEASE, now=T0)
    ledger.mark_failed([claimed.id], "HTTP 503", T0 + timedelta(days=1))

    assert ledger.requeue_keys(["ce:r1-1"]) == 1

    (replayed,) = ledger.events()
    assert (replayed.state, replayed.reason, replayed.next_attempt_at) == (
        "pending",
        "replayed",
        None,
    )
    assert ids_of(ledger.claim("w2", 10, LEASE, now=T0)) == [claimed.id]


def ids_of(stored) -> list[int]:
    return [item.id for item in stored]


def test_replay_by_time_uses_the_arrival_of_an_event_without_a_change_time(
    ledger: EventLedger, clock
) -> None:
    # A legacy or CDC change may carry no time: its arrival stands for it.
    ledger.add([change("dated", occurred_at=T0 - timedelta(days=3))])
    clock.advance(days=1)
    ledger.add([change("undated", occurred_at=None)])
    claimed = ids_of(ledger.claim("w1", 10, LEASE, now=clock()))
    ledger.mark_dead(claimed, "gave up")

    window = {"since": T0 + timedelta(hours=12), "until": T0 + timedelta(days=2)}
    assert ledger.requeue(["dead"], **window) == 1
    assert {e.entity_id: e.state for e in ledger.events()} == {
        "dated": "dead",
        "undated": "pending",
    }
    assert ledger.requeue(["dead"], since=T0 - timedelta(days=4), until=T0) == 1
    assert {e.state for e in ledger.events()} == {"pending"}


# --- pages and messages an operator sees ----------------------------------------------------


def test_events_and_key_lookups_list_a_hundred_by_default(ledger: EventLedger) -> None:
    ledger.add([change(str(n), key=f"ce:page-{n:03}") for n in range(101)])

    listed = ledger.events()
    assert (len(listed), listed[-1].entity_id) == (100, "99")
    prefixed = ledger.events_by_key_prefix("ce:page-")
    assert (len(prefixed), prefixed[-1].entity_id) == (100, "99")
    assert len(ledger.events(state="pending", limit=101)) == 101


def test_the_quarantine_lists_the_newest_fifty_by_default(ledger: EventLedger) -> None:
    for n in range(51):
        ledger.quarantine(f"body {n}".encode(), "the body is not JSON")

    listed = ledger.quarantined()

    assert (len(listed), listed[0].body, listed[-1].body) == (50, b"body 50", b"body 1")


def test_an_unknown_state_is_refused_with_every_known_one(ledger: EventLedger) -> None:
    expected = (
        "unknown event state 'finished'; one of pending, claimed, done, skipped, failed, dead"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        ledger.events(state="finished")
    assert STATES == ("pending", "claimed", "done", "skipped", "failed", "dead")


def test_an_empty_key_prefix_is_refused_with_a_clear_message(ledger: EventLedger) -> None:
    with pytest.raises(ValueError, match="^the event key prefix must not be empty$"):
        ledger.events_by_key_prefix("")


# --- summary ------------------------------------------------------------------------------


def test_events_waiting_for_their_realm_are_pending_not_retrying(ledger: EventLedger) -> None:
    ledger.add([change("1"), change("2"), change("3")])
    first, second, third = ledger.claim("w1", 10, LEASE, now=T0)
    ledger.release([first.id], T0 + timedelta(hours=1))  # a throttled realm: no failure
    ledger.mark_failed([second.id], "HTTP 503", None)  # failed for good: no retry due
    ledger.mark_failed([third.id], "HTTP 503", T0 + timedelta(minutes=1))  # a retry is due
    ledger.add([change("4")])  # new: pending, nothing to wait for

    summary = ledger.summary()

    assert {state: summary[state] for state in ("pending", "failed", "retrying")} == {
        "pending": 2,
        "failed": 1,
        "retrying": 1,
    }
    assert (ledger.counts()["pending"], ledger.counts()["failed"]) == (2, 2)


# --- dates --------------------------------------------------------------------------------


def test_a_change_time_in_another_zone_is_kept_as_the_same_instant(ledger: EventLedger) -> None:
    # QuickBooks writes offsets such as -08:00; the ledger compares instants.
    pacific = timezone(timedelta(hours=-8))
    occurred = datetime(2026, 1, 5, 4, 0, tzinfo=pacific)  # 12:00 UTC
    ledger.add([change("1", occurred_at=occurred)])

    (stored,) = ledger.events()

    assert stored.occurred_at == T0
    assert stored.occurred_at.utcoffset() == timedelta(0)
    assert ledger.requeue(["failed"], since=T0, until=T0 + timedelta(seconds=1)) == 0
    assert ledger.unsettled("r1", "Customer", "cloudevents").earliest == T0


@pytest.fixture
def pacific_server(monkeypatch: pytest.MonkeyPatch, database):
    """The process's local zone and the database session's zone are both US Pacific."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    database.dispose()  # new connections get the session zone below
    listen = database.dialect.name == "postgresql"
    if listen:
        event.listen(database, "connect", _pacific_session)
    try:
        yield
    finally:
        if listen:
            event.remove(database, "connect", _pacific_session)
        database.dispose()
        monkeypatch.undo()
        time.tzset()


def _pacific_session(dbapi_connection, _record) -> None:  # noqa: ANN001
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'America/Los_Angeles'")
    dbapi_connection.commit()


def test_dates_are_the_same_instants_whatever_the_servers_zone(
    ledger: EventLedger, pacific_server
) -> None:
    ledger.add([change("1", occurred_at=T0)])
    ledger.claim("w1", 10, LEASE, now=T0)

    (stored,) = ledger.events()
    assert (stored.occurred_at, stored.lease_until) == (T0, T0 + timedelta(seconds=LEASE))
    assert stored.occurred_at.utcoffset() == timedelta(0)
    assert ledger.claim("w2", 10, LEASE, now=T0 + timedelta(seconds=LEASE - 1)) == []
    assert len(ledger.claim("w2", 10, LEASE, now=T0 + timedelta(seconds=LEASE))) == 1


def test_a_naive_datetime_is_refused_with_a_clear_message(ledger: EventLedger) -> None:
    naive = datetime(2026, 1, 5, 12, 0)  # noqa: DTZ001 - the point of the test
    with pytest.raises((StatementError, ValueError)) as refused:
        ledger.add([change("1", occurred_at=naive)])
    # SQLAlchemy wraps the column type's error; its first line is ours, whole. On PostgreSQL
    # the rows go as one JSON parameter (`EventLedger._add_in_one_statement`), checked by the
    # same type before the statement: the error is ours alone.
    first_line = str(refused.value).splitlines()[0]
    assert first_line.removeprefix("(builtins.ValueError) ") == (
        "the store keeps aware datetimes only; got a naive datetime"
    )


# --- what else an event carries -------------------------------------------------------------


def test_the_record_a_cdc_change_carries_is_kept(ledger: EventLedger) -> None:
    record = {"Id": "1", "DisplayName": "Amy's Bird Sanctuary", "SyncToken": "3"}
    ledger.add(
        [ChangeEvent("r1", "Customer", "1", "Update", T0, "cdc:1", source="cdc", record=record)]
    )

    (stored,) = ledger.claim("w1", 10, LEASE, now=T0)

    assert stored.record == record


def test_a_skipped_retry_shows_no_next_attempt(ledger: EventLedger) -> None:
    ledger.add([change("1")])
    (claimed,) = ledger.claim("w1", 10, LEASE, now=T0)
    retry_at = T0 + timedelta(minutes=1)
    ledger.mark_failed([claimed.id], "HTTP 503", retry_at)
    (again,) = ledger.claim("w1", 10, LEASE, now=retry_at)

    ledger.mark_skipped([again.id], "Customer is no longer mapped")

    (skipped,) = ledger.events()
    assert (skipped.state, skipped.next_attempt_at) == ("skipped", None)


def test_a_replay_of_other_states_names_only_those_it_refuses(ledger: EventLedger) -> None:
    expected = "only failed or dead events can be replayed, not ['claimed', 'done']"
    with pytest.raises(ValueError, match=f"^{re.escape(expected)}$"):
        ledger.requeue(["failed", "done", "claimed"])
    with pytest.raises(ValueError, match=r"^only failed or dead events can be replayed, not \[\]$"):
        ledger.requeue([])


# --- two workers at once (PostgreSQL: row locks) ------------------------------------------------


# PostgreSQL only: SQLite runs one claim at a time (BEGIN IMMEDIATE), so nothing is taken aside.
@postgres_only
def test_a_second_worker_takes_another_realm_while_a_claim_is_under_way(
    ledger: EventLedger, database
) -> None:
    ledger.add([change("1"), change("1", realm="r2")])
    second: list = []
    during: list[bool] = []  # did the second claim finish while the first one was under way?

    def claim_beside(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if during or "FOR UPDATE" not in statement:
            return  # the second worker's own statements, or not yet the first claim's lock
        worker = threading.Thread(target=lambda: second.extend(ledger.claim("w2", 10, LEASE, T0)))
        during.append(False)
        worker.start()
        worker.join(timeout=30)  # a bound for a claim that waits on the first one's locks
        during[0] = not worker.is_alive()

    event.listen(database, "after_cursor_execute", claim_beside)
    try:
        first = ledger.claim("w1", 10, LEASE, now=T0)
    finally:
        event.remove(database, "after_cursor_execute", claim_beside)

    assert during == [True]
    assert [(e.realm_id, e.entity_id) for e in first] == [("r1", "1")]
    assert [(e.realm_id, e.entity_id) for e in second] == [("r2", "1")]


# --- what the alerts watch --------------------------------------------------------------------


def test_failures_since_counts_events_failed_for_good_per_realm(ledger: EventLedger, clock) -> None:
    ledger.add([change(str(n)) for n in range(5)] + [change("1", realm="r2")])
    r1 = {e.entity_id: e.id for e in ledger.claim("w1", 10, LEASE, now=T0)}
    (r2,) = ledger.claim("w1", 10, LEASE, now=T0)
    ledger.mark_failed([r1["0"]], "bad mapping", None)  # before the window
    clock.advance(hours=1)
    since = clock()
    ledger.mark_failed([r1["1"]], "REQUIRED_FIELD_MISSING: Name", None)
    ledger.mark_dead([r1["2"], r2.id], "gave up after 8 attempts")
    ledger.mark_failed([r1["3"]], "HTTP 503", T0 + timedelta(hours=2))  # still due a retry
    ledger.mark_done([r1["4"]])

    assert ledger.failures_since(since) == {"r1": 2, "r2": 1}
    assert ledger.failures_since(since + timedelta(seconds=1)) == {}
    assert ledger.failures_since(T0) == {"r1": 3, "r2": 1}


def test_backlog_lists_each_realms_waiting_events_and_the_oldest_arrival(
    ledger: EventLedger, clock
) -> None:
    ledger.add([change("1", realm="r3"), change("1", realm="r2"), change("1"), change("2")])
    clock.advance(minutes=10)
    ledger.add([change(str(n)) for n in range(3, 8)] + [change("2", realm="r2")])
    ledger.mark_done(ids_of(ledger.claim("w1", 10, LEASE, now=T0)))  # r3: nothing waits
    (r2_first,) = ledger.claim("w1", 1, LEASE, now=T0)  # claimed: still waiting
    r1 = {e.entity_id: e.id for e in ledger.claim("w1", 10, LEASE, now=T0)}
    ledger.mark_done([r1["1"]])
    ledger.mark_failed([r1["2"]], "bad mapping", None)  # failed for good: not a backlog
    ledger.mark_failed([r1["3"]], "HTTP 503", T0 + timedelta(hours=1))  # due a retry: waits
    ledger.mark_dead([r1["4"]], "gave up")
    ledger.mark_skipped([r1["5"]], "not mapped")
    ledger.release([r1["6"]], T0 + timedelta(hours=1))  # pending again
    # r1's "7" stays claimed.

    assert r2_first.realm_id == "r2"
    assert ledger.backlog() == [
        ("r1", 3, T0 + timedelta(minutes=10)),
        ("r2", 2, T0),
    ]


def test_outcomes_recorded_while_settling_share_the_callers_transaction(
    ledger: EventLedger,
) -> None:
    """The worker keeps a batch's sync-log rows with its outcomes (`settling`): both are
    written, or neither is when the caller's part fails."""
    ledger.add([change("1"), change("2")])
    first, second = ledger.claim("w1", limit=2, lease_seconds=LEASE)

    with pytest.raises(RuntimeError), ledger.settling():
        ledger.mark_done([first.id])
        raise RuntimeError("the sync-log rows could not be kept")
    assert by_entity(ledger)["1"].state == "claimed"

    with ledger.settling():
        ledger.mark_done([first.id])
        ledger.mark_skipped([second.id], "not mapped")
    assert [by_entity(ledger)[n].state for n in ("1", "2")] == ["done", "skipped"]
