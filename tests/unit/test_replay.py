"""`EventLedger.requeue` and `qbsync replay`: failed or dead events back to pending, by filter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from qbsync.cli import main
from qbsync.events import ChangeEvent
from qbsync.store import Store
from qbsync.store.ledger import EventLedger

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def event(key: str, realm: str = "111", entity: str = "Customer", hours: int = 0) -> ChangeEvent:
    return ChangeEvent(
        realm_id=realm,
        entity=entity,
        entity_id=key,
        operation="Update",
        occurred_at=T0 + timedelta(hours=hours),
        event_key=f"ce:{key}",
    )


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def ledger(url) -> EventLedger:
    """Events a, b, c, d, e, f; b and f failed permanently, c and e dead, a done, d pending."""
    ledger = Store.open(url).events
    ledger.add(
        [
            event("a"),
            event("b"),
            event("c", entity="Vendor"),
            event("d"),
            event("e", realm="222", hours=5),
            event("f", hours=10),
        ]
    )
    claimed = {e.entity_id: e.id for e in _claim_all(ledger)}
    ledger.mark_done([claimed["a"]])
    ledger.mark_failed([claimed["b"], claimed["f"]], "INVALID_FIELD: Foo__c", None)
    ledger.mark_dead([claimed["c"], claimed["e"]], "gave up after 8 attempts")
    ledger.release([claimed["d"]], T0)
    return ledger


def _claim_all(ledger: EventLedger):
    claimed = []
    while batch := ledger.claim("w", 100, 60, now=T0):
        claimed.extend(batch)
    return claimed


def states(ledger: EventLedger) -> dict[str, tuple[str, int]]:
    return {e.entity_id: (e.state, e.attempts) for e in ledger.events()}


def test_requeue_failed_and_dead_resets_attempts(ledger: EventLedger) -> None:
    assert ledger.requeue(["failed", "dead"]) == 4

    assert states(ledger) == {
        "a": ("done", 1),
        "b": ("pending", 0),
        "c": ("pending", 0),
        "d": ("pending", 0),
        "e": ("pending", 0),
        "f": ("pending", 0),
    }
    replayed = {e.entity_id: e for e in ledger.events()}["b"]
    assert replayed.next_attempt_at is None and replayed.reason == "replayed"
    assert replayed.last_error == "INVALID_FIELD: Foo__c"  # kept for reference
    # Claimable again at once.
    assert {e.entity_id for e in _claim_all(ledger)} == {"b", "c", "d", "e", "f"}


@pytest.mark.parametrize(
    ("kwargs", "replayed"),
    [
        ({"states": ["dead"]}, {"c", "e"}),
        ({"states": ["failed"]}, {"b", "f"}),
        ({"states": ["failed", "dead"], "realm_id": "222"}, {"e"}),
        ({"states": ["failed", "dead"], "entity": "Vendor"}, {"c"}),
        ({"states": ["failed", "dead"], "since": T0 + timedelta(hours=5)}, {"e", "f"}),
        ({"states": ["failed", "dead"], "until": T0 + timedelta(hours=5)}, {"b", "c"}),
    ],
)
def test_requeue_filters(ledger: EventLedger, kwargs, replayed) -> None:
    before = states(ledger)

    count = ledger.requeue(**kwargs)

    after = states(ledger)
    changed = {key for key in after if after[key] != before[key]}
    assert changed == replayed
    assert count == len(replayed)


def test_requeue_refuses_other_states(ledger: EventLedger) -> None:
    with pytest.raises(ValueError, match="only failed or dead"):
        ledger.requeue(["done"])


# --- the command --------------------------------------------------------------------------


def replay(url: str, *args: str):
    return CliRunner().invoke(main, ["replay", *args], env={"QBSYNC_DATABASE_URL": url})


def test_replay_command_filters_and_prints_the_count(ledger: EventLedger, url: str) -> None:
    result = replay(
        url, "--object", "customer", "--state", "failed", "--since", "2026-03-01T11:00:00"
    )

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "2 event(s) back to pending"
    assert states(ledger)["b"] == ("pending", 0) and states(ledger)["f"] == ("pending", 0)
    assert states(ledger)["c"][0] == "dead"


def test_replay_command_defaults_to_failed_and_dead(ledger: EventLedger, url: str) -> None:
    result = replay(url, "--realm", "111")

    assert result.output.strip() == "3 event(s) back to pending"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--object", "Widget"], "--object 'Widget' is not a QuickBooks object"),
        (["--since", "yesterday"], "'yesterday' is not an ISO 8601 date"),
        (["--since", "2026-03-02", "--until", "2026-03-01"], "--since must be before --until"),
        (["--state", "done"], "'done' is not one of 'failed', 'dead'"),
    ],
)
def test_replay_command_bad_input(ledger: EventLedger, url: str, args, message) -> None:
    result = replay(url, *args)

    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert states(ledger)["b"][0] == "failed"
