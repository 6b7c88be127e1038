"""A claim settles as skipped the waiting events its `SkipRules` give a reason for, in its own
transaction, and claims the rest as before (`EventLedger._skip`), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, select

from qbsync.events import ChangeEvent
from qbsync.store import ledger as ledger_module
from qbsync.store.config_signal import ConfigSignal
from qbsync.store.ledger import EventLedger, SkipRules, StoredEvent
from qbsync.store.schema import sync_log_outbox

NOW = datetime(2027, 1, 5, 12, 0, tzinfo=UTC)
LEASE = 60
UNMAPPED = "not mapped: QuickBooks Vendor has no object mapping"


def change(entity_id: str, entity: str = "Vendor", realm: str = "r1") -> ChangeEvent:
    return ChangeEvent(
        realm_id=realm,
        entity=entity,
        entity_id=entity_id,
        operation="Update",
        occurred_at=NOW,
        event_key=f"ce:{realm}-{entity}-{entity_id}",
    )


class Kept:
    """The rules' `keep`: records what it was given and writes a row on the claim's
    connection, as the worker's sync-log rows are."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[StoredEvent], str]] = []

    def __call__(self, connection: Connection, events: list[StoredEvent], reason: str) -> None:
        self.calls.append((events, reason))
        connection.execute(
            sync_log_outbox.insert().values(
                log_key=f"skipped:{events[0].realm_id}:{len(self.calls)}",
                row={},
                stamp="s",
                created_at=NOW,
            )
        )


def rules(keep, generation: int = 0, realms=("r1",)) -> SkipRules:
    def vendor_unmapped(entity: str) -> str | None:
        return UNMAPPED if entity == "Vendor" else None

    return SkipRules(
        generation=generation, reasons=dict.fromkeys(realms, vendor_unmapped), keep=keep
    )


def outbox_keys(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.execute(select(sync_log_outbox.c.log_key)).scalars())


def test_the_claim_skips_the_groups_the_rules_name_and_claims_the_others(database) -> None:
    ledger = EventLedger(database)
    ledger.add([change("1"), change("2"), change("7", entity="Customer"), change("3")])
    ledger.add([change("4", realm="r2")])  # a realm the rules know nothing of
    keep = Kept()

    claimed = ledger.claim("w1", 10, LEASE, now=NOW, skips=rules(keep))

    assert [(e.realm_id, e.entity, e.entity_id) for e in claimed] == [("r1", "Customer", "7")]
    ((events, reason),) = keep.calls
    assert reason == UNMAPPED
    assert [(e.entity_id, e.state, e.reason, e.attempts, e.lease_until) for e in events] == [
        (id_, "skipped", UNMAPPED, 1, None) for id_ in ("1", "2", "3")
    ]
    assert {e.entity_id: e.state for e in ledger.events()} == {
        "1": "skipped",
        "2": "skipped",
        "3": "skipped",
        "7": "claimed",
        "4": "pending",
    }
    assert outbox_keys(database) == ["skipped:r1:1"]


def test_only_waiting_events_are_skipped(database) -> None:
    ledger = EventLedger(database)
    ledger.add([change(str(n)) for n in range(1, 5)])
    one, two, three, four = ledger.events()
    ledger.mark_done([one.id])
    ledger.mark_failed([two.id], "refused", None)  # failed for good
    ledger.mark_failed([three.id], "timeout", NOW + timedelta(minutes=5))  # a retry not yet due
    keep = Kept()

    assert ledger.claim("w1", 10, LEASE, now=NOW, skips=rules(keep)) == []

    ((events, _),) = keep.calls
    assert [e.entity_id for e in events] == ["4"]
    assert [e.state for e in ledger.events()] == ["done", "failed", "failed", "skipped"]


def test_a_moved_configuration_signal_skips_nothing(database) -> None:
    ledger = EventLedger(database)
    ledger.add([change("1")])
    ConfigSignal(database).changed("r1")  # generation 1: the rules were read at 0
    keep = Kept()

    claimed = ledger.claim("w1", 10, LEASE, now=NOW, skips=rules(keep))

    assert [e.state for e in claimed] == ["claimed"]
    assert keep.calls == []
    keep = Kept()
    ledger.add([change("2")])
    assert ledger.claim("w1", 10, LEASE, now=NOW, skips=rules(keep, generation=1)) == []
    assert [e.entity_id for e in keep.calls[0][0]] == ["2"]


def test_a_claim_skips_a_bounded_number_the_next_the_rest(database, monkeypatch) -> None:
    monkeypatch.setattr(ledger_module, "SKIP_LIMIT", 2)
    ledger = EventLedger(database)
    ledger.add([change(str(n)) for n in range(1, 4)])
    keep = Kept()

    ledger.claim("w1", 10, LEASE, now=NOW, skips=rules(keep))
    assert [e.state for e in ledger.events()] == ["skipped", "skipped", "pending"]
    ledger.claim("w1", 10, LEASE, now=NOW, skips=rules(keep))

    assert [[e.entity_id for e in events] for events, _ in keep.calls] == [["1", "2"], ["3"]]


def test_what_keep_cannot_write_leaves_the_events_waiting(database) -> None:
    """The outcome and its rows are one transaction: no skipped event without its row."""
    ledger = EventLedger(database)
    ledger.add([change("1")])

    def refuse(connection, events, reason):
        raise RuntimeError("the outbox is full")

    with pytest.raises(RuntimeError, match="outbox is full"):
        ledger.claim("w1", 10, LEASE, now=NOW, skips=rules(refuse))

    (event,) = ledger.events()
    assert (event.state, event.attempts) == ("pending", 0)
