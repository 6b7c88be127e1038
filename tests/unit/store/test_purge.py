"""Purging the ledger (issue 15, item 7): what is past its age goes, in bounded batches, and
nothing a pending event or CDC still needs. On every backend (`database` fixture)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import event, select, update

from qbsync.cli import main
from qbsync.config import ConfigError, load_settings
from qbsync.events import ChangeEvent, Version
from qbsync.store import Store
from qbsync.store.database import StoreUnavailable
from qbsync.store.ledger import EventLedger
from qbsync.store.oauth_states import OAuthStates
from qbsync.store.purge import Retention, purge, purge_periodically
from qbsync.store.schema import events, quarantine
from qbsync.store.versions import AppliedVersions

REALM = "9341455130166501"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RETENTION = Retention(events_days=30, quarantine_days=90, versions_days=90)


def add_event(ledger: EventLedger, entity_id: str, state: str, age: timedelta) -> None:
    key = f"ce:{entity_id}-{state}-{age.days}"
    ledger.add([ChangeEvent(REALM, "Customer", entity_id, "Update", NOW - age, event_key=key)])
    with ledger.engine.begin() as connection:
        connection.execute(
            update(events)
            .where(events.c.event_key == key)
            .values(state=state, updated_at=NOW - age)
        )


def event_keys(engine) -> set[str]:
    with engine.begin() as connection:
        return set(connection.execute(select(events.c.event_key)).scalars())


def test_settled_events_past_their_age_go_and_every_other_event_stays(database):
    ledger = EventLedger(database)
    old, young = timedelta(days=31), timedelta(days=29)
    for state in ("done", "skipped", "pending", "claimed", "failed", "dead"):
        add_event(ledger, "1", state, old)
    add_event(ledger, "2", "done", young)

    counts = purge(database, RETENTION, NOW)

    assert counts["events"] == 2
    assert event_keys(database) == {
        "ce:1-pending-31",
        "ce:1-claimed-31",
        "ce:1-failed-31",
        "ce:1-dead-31",
        "ce:2-done-29",
    }


def test_quarantined_bodies_past_their_age_go(database):
    ledger = EventLedger(database)
    old = ledger.quarantine(b"old body", "unparseable")
    young = ledger.quarantine(b"young body", "unparseable")
    with database.begin() as connection:
        connection.execute(
            update(quarantine)
            .where(quarantine.c.id == old)
            .values(received_at=NOW - timedelta(days=91))
        )
        connection.execute(
            update(quarantine)
            .where(quarantine.c.id == young)
            .values(received_at=NOW - timedelta(days=89))
        )

    assert purge(database, RETENTION, NOW)["quarantine"] == 1
    assert [body.id for body in ledger.quarantined()] == [young]


def test_applied_versions_go_unless_a_waiting_event_needs_them(database):
    versions, ledger = AppliedVersions(database), EventLedger(database)
    old, young = NOW - timedelta(days=91), NOW - timedelta(days=89)
    versions.record_many(
        REALM,
        "Customer",
        {"1": Version(old, 3), "2": Version(old, 4), "3": Version(young, 5), "4": Version(old, 1)},
    )
    add_event(ledger, "2", "pending", timedelta(days=200))  # the worker compares against "2"
    add_event(ledger, "4", "done", timedelta(days=1))  # settled: does not hold "4"

    assert purge(database, RETENTION, NOW)["applied_versions"] == 2
    assert versions.applied_many(REALM, "Customer", ["1", "2", "3", "4"]) == {
        "2": Version(old, 4),
        "3": Version(young, 5),
    }


def test_applied_versions_are_kept_at_least_as_long_as_cdc_reaches():
    with pytest.raises(ValueError, match="at least 31 days"):
        Retention(versions_days=30)
    with pytest.raises(ConfigError, match="QBSYNC_PURGE_VERSIONS_DAYS must be at least 31"):
        load_settings({"QBSYNC_PURGE_VERSIONS_DAYS": "30"})


def test_oauth_states_go_a_day_after_they_were_issued(database):
    states = OAuthStates(database)
    states.add("old", NOW - timedelta(days=1, minutes=1))
    states.add("young", NOW - timedelta(hours=23))

    assert purge(database, RETENTION, NOW)["oauth_states"] == 1
    assert states.use("young", NOW - timedelta(hours=23), timedelta(minutes=10)) is not None
    assert states.use("old", NOW - timedelta(days=1), timedelta(minutes=10)) is None


def test_the_age_of_oauth_states_is_a_setting(database):
    states = OAuthStates(database)
    states.add("three-days", NOW - timedelta(days=3, minutes=1))
    states.add("two-days", NOW - timedelta(days=2, hours=23))
    retention = Retention.from_settings(load_settings({"QBSYNC_PURGE_OAUTH_STATES_DAYS": "3"}))

    assert purge(database, retention, NOW)["oauth_states"] == 1
    assert states.use("two-days", NOW - timedelta(days=2, hours=23), timedelta(minutes=10))
    with pytest.raises(ConfigError, match="QBSYNC_PURGE_OAUTH_STATES_DAYS must be greater than 0"):
        load_settings({"QBSYNC_PURGE_OAUTH_STATES_DAYS": "0"})


def test_rows_are_deleted_in_bounded_batches(database):
    ledger = EventLedger(database)
    for index in range(7):
        add_event(ledger, str(index), "done", timedelta(days=40))
    deletes: list[int] = []

    @event.listens_for(database, "after_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if statement.lstrip().upper().startswith("DELETE FROM EVENTS"):
            deletes.append(cursor.rowcount)

    try:
        assert purge(database, RETENTION, NOW, batch_size=3)["events"] == 7
    finally:
        event.remove(database, "after_cursor_execute", count)
    assert deletes == [3, 3, 1]
    assert event_keys(database) == set()


def test_the_worker_thread_purges_until_stopped(database):
    ledger = EventLedger(database)
    add_event(ledger, "1", "done", timedelta(days=40))
    stop = threading.Event()

    def clock() -> datetime:
        stop.set()  # one pass, then the loop ends instead of waiting an interval
        return NOW

    purge_periodically(database, RETENTION, stop, 3600, clock)

    assert event_keys(database) == set()


def test_qbsync_purge_reports_what_it_deleted(tmp_path):
    url = f"sqlite:///{tmp_path / 'qbsync.db'}"
    store = Store.open(url)
    add_event(store.events, "1", "done", timedelta(days=3))
    store.close()

    result = CliRunner().invoke(
        main, ["purge"], env={"QBSYNC_DATABASE_URL": url, "QBSYNC_PURGE_EVENTS_DAYS": "2"}
    )

    assert result.exit_code == 0, result.output
    # NOW is in the past of the wall clock, so the event is at least 3 days old.
    assert json.loads(result.output) == {
        "events": 1,
        "quarantine": 0,
        "applied_versions": 0,
        "oauth_states": 0,
    }


# --- ages to the boundary, the version hold, the worker thread's log --------------------------


def test_a_row_exactly_at_its_age_stays(database):
    # "Older than its age": a row of exactly that age waits for the next pass.
    ledger, states = EventLedger(database), OAuthStates(database)
    add_event(ledger, "1", "done", timedelta(days=30))
    exact = ledger.quarantine(b"exact body", "unparseable")
    with database.begin() as connection:
        connection.execute(
            update(quarantine)
            .where(quarantine.c.id == exact)
            .values(received_at=NOW - timedelta(days=90))
        )
    AppliedVersions(database).record_many(
        REALM, "Customer", {"1": Version(NOW - timedelta(days=90), 1)}
    )
    states.add("exact", NOW - timedelta(days=1))

    assert purge(database, RETENTION, NOW) == {
        "events": 0,
        "quarantine": 0,
        "applied_versions": 0,
        "oauth_states": 0,
    }


def test_only_a_waiting_event_of_the_same_record_holds_its_version(database):
    versions, ledger = AppliedVersions(database), EventLedger(database)
    old = NOW - timedelta(days=91)
    versions.record_many(REALM, "Customer", {"1": Version(old, 1)})
    versions.record_many(REALM, "Vendor", {"1": Version(old, 1)})
    versions.record_many("4620816365263384", "Customer", {"1": Version(old, 1)})
    add_event(ledger, "1", "pending", timedelta(days=1))  # REALM's Customer 1 only

    assert purge(database, RETENTION, NOW)["applied_versions"] == 2
    assert versions.applied_many(REALM, "Customer", ["1"]) == {"1": Version(old, 1)}
    assert versions.applied_many(REALM, "Vendor", ["1"]) == {}
    assert versions.applied_many("4620816365263384", "Customer", ["1"]) == {}


class CountedStop:
    """A stop event that records each wait and is set after `passes` of them (no real waiting)."""

    def __init__(self, passes: int) -> None:
        self.passes = passes
        self.waits: list[float | None] = []

    def is_set(self) -> bool:
        return len(self.waits) >= self.passes

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return self.is_set()


def test_the_worker_thread_logs_each_pass_and_outlives_a_failed_one(database, caplog):
    ledger = EventLedger(database)
    add_event(ledger, "1", "done", timedelta(days=40))
    failures = [StoreUnavailable("database is locked"), RuntimeError("disk I/O error")]

    def clock() -> datetime:
        if failures:
            raise failures.pop(0)
        return NOW

    stop = CountedStop(passes=3)
    caplog.set_level("INFO", logger="qbsync.store.purge")

    purge_periodically(database, RETENTION, stop, 3600, clock)

    assert stop.waits == [3600, 3600, 3600]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "Purge waits for the database: database is locked"),
        ("ERROR", "Purge pass failed"),
        (
            "INFO",
            "Purge pass: {'events': 1, 'quarantine': 0, 'applied_versions': 0, 'oauth_states': 0}",
        ),
    ]
    assert str(caplog.records[1].exc_info[1]) == "disk I/O error"
    assert caplog.records[2].purged == {
        "events": 1,
        "quarantine": 0,
        "applied_versions": 0,
        "oauth_states": 0,
    }
    assert event_keys(database) == set()


def test_the_sync_log_purge_runs_each_pass_after_the_ledgers_and_its_failure_is_logged(
    database, caplog
):
    ledger = EventLedger(database)
    add_event(ledger, "1", "done", timedelta(days=40))
    asked: list[datetime] = []

    def purge_sync_logs(moment: datetime) -> dict[str, int]:
        asked.append(moment)
        if len(asked) == 1:
            raise RuntimeError("Salesforce answered 503")
        return {"deleted": 12}

    stop = CountedStop(passes=2)
    caplog.set_level("INFO", logger="qbsync.store.purge")

    purge_periodically(database, RETENTION, stop, 3600, lambda: NOW, purge_sync_logs)

    assert asked == [NOW, NOW]
    assert [(r.levelname, r.getMessage()) for r in caplog.records][1:] == [
        ("WARNING", "Sync-log purge pass failed: Salesforce answered 503"),
        (
            "INFO",
            "Purge pass: {'events': 0, 'quarantine': 0, 'applied_versions': 0, 'oauth_states': 0}",
        ),
        ("INFO", "Sync-log purge pass: {'deleted': 12}"),
    ]
    assert caplog.records[3].purged_sync_logs == {"deleted": 12}
    assert event_keys(database) == set()
