"""The ledger's order: oldest first, whatever order the database keeps its rows in.

A worker applies a record's changes in the order they arrived, and `qbsync events`, the replay
and the backlog list in a stable order. A database returns rows in no promised order without
ORDER BY: PostgreSQL writes each updated row anew at the end of its table, so events that were
claimed, failed or released come back after untouched ones, and SQLite returns the rows of an
index scan in the index's order. These tests give both something other than ledger order.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from qbsync.events import ChangeEvent
from qbsync.store.ledger import EventLedger

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
LEASE = 60


@pytest.fixture
def ledger(database) -> EventLedger:
    return EventLedger(database)


def change(entity_id: str, *, realm: str = "r1", key: str | None = None) -> ChangeEvent:
    return ChangeEvent(
        realm_id=realm,
        entity="Customer",
        entity_id=entity_id,
        operation="Update",
        occurred_at=datetime(2025, 12, 4, 15, 25, 5, tzinfo=UTC),
        event_key=key or f"ce:{realm}-{entity_id}",
    )


def entity_ids(stored) -> list[str]:
    return [item.entity_id for item in stored]


def rewrite_the_first_two(ledger: EventLedger) -> None:
    """Events 1, 2, 3 waiting, where 2 failed (retry due now) after 1, and 1 was then given back
    for now: PostgreSQL's table holds them as 3, 2, 1."""
    ledger.add([change("1"), change("2"), change("3")])
    first, second = ledger.claim("w1", 2, LEASE, now=NOW)
    ledger.mark_failed([second.id], "HTTP 503", NOW)
    ledger.release([first.id], NOW)


def test_a_claim_takes_the_oldest_waiting_events_and_returns_them_oldest_first(
    ledger: EventLedger,
) -> None:
    rewrite_the_first_two(ledger)
    claimed = ledger.claim("w2", 2, LEASE, now=NOW)
    assert entity_ids(claimed) == ["1", "2"]
    assert [item.attempts for item in claimed] == [1, 2]


def test_the_event_list_is_oldest_first_after_events_were_retried(ledger: EventLedger) -> None:
    rewrite_the_first_two(ledger)
    assert entity_ids(ledger.events()) == ["1", "2", "3"]
    assert entity_ids(ledger.events(state="pending")) == ["1", "3"]
    assert entity_ids(ledger.events_by_key_prefix("ce:r1-")) == ["1", "2", "3"]


def test_events_found_by_key_are_in_ledger_order_not_key_order(ledger: EventLedger) -> None:
    ledger.add([change("1", key="ce:b"), change("2", key="ce:a"), change("3", key="ce:c")])
    found = ledger.events_by_keys(["ce:a", "ce:b", "ce:c"])
    assert entity_ids(found) == ["1", "2", "3"]


def test_the_backlog_lists_realms_by_id(ledger: EventLedger) -> None:
    realms = ["r9", "r5", "r7", "r1", "r3", "r8", "r2", "r6", "r4"]
    ledger.add([change("1", realm=realm) for realm in realms])
    assert [row[0] for row in ledger.backlog()] == sorted(realms)
