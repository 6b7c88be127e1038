"""qbsync.outcomes: every outcome kind, and the one table that records it.

The table's ledger writes run against a real ledger (SQLite, and PostgreSQL when
QBSYNC_TEST_POSTGRES_URL is set): what a write leaves behind must be what the table says.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qbsync.events import ChangeEvent
from qbsync.outcomes import (
    SETTLEMENTS,
    Dead,
    Done,
    Fail,
    Outcome,
    Retry,
    Skip,
    WaitForRealm,
    final,
    from_salesforce,
)
from qbsync.salesforce.client import RecordResult
from qbsync.salesforce.errors import SalesforceAuthError, SalesforceError, SalesforceTransient
from qbsync.salesforce.schema import SYNC_LOG_STATUSES
from qbsync.store.ledger import STATES, EventLedger

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(seconds=90)
MAX_ATTEMPTS = 3

# One of each kind, as the worker makes them.
EXAMPLES: dict[type[Outcome], Outcome] = {
    Done: Done("created; Notes → Description: 40 characters cut to 32", "001000000000000001"),
    Skip: Skip("not mapped: QuickBooks Customer has no object mapping"),
    Fail: Fail("REQUIRED_FIELD_MISSING: Required fields are missing: [Name]"),
    Retry: Retry("QuickBooks answered HTTP 503"),
    Dead: Dead("gave up after 3 attempts: QuickBooks answered HTTP 503"),
    WaitForRealm: WaitForRealm(LATER, "company status is Disconnected; waiting for Connected"),
}


def all_kinds(cls: type[Outcome] = Outcome) -> set[type[Outcome]]:
    kinds: set[type[Outcome]] = set()
    for sub in cls.__subclasses__():
        kinds |= {sub} | all_kinds(sub)
    return kinds


@pytest.fixture
def ledger(database) -> EventLedger:
    return EventLedger(database)


def claimed(ledger: EventLedger) -> list[int]:
    ledger.add([ChangeEvent("9130", "Customer", "1", "Update", NOW - timedelta(seconds=2), "ce:1")])
    return [event.id for event in ledger.claim("test-worker", 10, 60, now=NOW)]


# --- the table -------------------------------------------------------------------------------


def test_every_outcome_kind_has_exactly_one_row():
    assert set(SETTLEMENTS) == all_kinds() == set(EXAMPLES)


@pytest.mark.parametrize("kind", list(EXAMPLES), ids=lambda kind: kind.__name__)
def test_each_row_names_a_ledger_state_and_a_sync_log_status_that_exist(kind):
    rule = SETTLEMENTS[kind]
    assert rule.ledger_state in STATES and rule.ledger_state != "claimed"
    assert rule.sync_log_status in SYNC_LOG_STATUSES


def test_every_sync_log_status_is_some_outcome():
    assert {rule.sync_log_status for rule in SETTLEMENTS.values()} == set(SYNC_LOG_STATUSES)


@pytest.mark.parametrize("kind", list(EXAMPLES), ids=lambda kind: kind.__name__)
def test_each_rows_write_leaves_the_event_in_its_ledger_state(ledger, kind):
    outcome, rule = EXAMPLES[kind], SETTLEMENTS[kind]
    ids = claimed(ledger)
    at = LATER if rule.backs_off else outcome.until

    rule.write(ledger, ids, outcome.ledger_message, at)

    (event,) = ledger.events()
    assert event.state == rule.ledger_state
    assert event.attempts == (1 if rule.counts_attempt else 0)
    assert event.next_attempt_at == at


@pytest.mark.parametrize("kind", list(EXAMPLES), ids=lambda kind: kind.__name__)
def test_only_retries_and_realm_waits_are_claimed_again(ledger, kind):
    outcome, rule = EXAMPLES[kind], SETTLEMENTS[kind]
    ids = claimed(ledger)
    rule.write(ledger, ids, outcome.ledger_message, LATER if rule.backs_off else outcome.until)

    assert ledger.claim("test-worker", 10, 60, now=LATER - timedelta(seconds=1)) == []
    again = ledger.claim("test-worker", 10, 60, now=LATER + timedelta(days=365))
    assert bool(again) == (kind in (Retry, WaitForRealm))


def test_what_the_ledger_and_the_sync_log_say():
    done = EXAMPLES[Done]
    assert done.ledger_message == "created"  # the note; the details go to the sync log
    assert done.log_message == "created; Notes → Description: 40 characters cut to 32"
    retry = EXAMPLES[Retry]
    assert retry.ledger_message == "QuickBooks answered HTTP 503"
    assert retry.log_message == "will retry: QuickBooks answered HTTP 503"
    wait = EXAMPLES[WaitForRealm]
    assert wait.log_message == (
        "waiting until 2026-03-02T12:01:30+00:00: "
        "company status is Disconnected; waiting for Connected"
    )
    for kind in (Skip, Fail, Dead):
        assert EXAMPLES[kind].ledger_message == EXAMPLES[kind].log_message


def test_an_outcome_carries_its_message_and_the_record_it_touched():
    done = Done("updated", salesforce_id="001000000000001AAA")
    assert (str(done), done.message, done.salesforce_id) == (
        "updated",
        "updated",
        "001000000000001AAA",
    )
    until = datetime(2026, 3, 2, 12, 1, 30, tzinfo=UTC)
    wait = WaitForRealm(until, "QuickBooks throttled the company")
    assert (str(wait), wait.until, wait.salesforce_id) == (
        "QuickBooks throttled the company",
        until,
        None,
    )


# --- attempts --------------------------------------------------------------------------------


@pytest.mark.parametrize(("attempts", "kind"), [(1, Retry), (2, Retry), (3, Dead), (4, Dead)])
def test_a_retry_that_used_the_last_attempt_is_dead(attempts, kind):
    outcome = final(Retry("QuickBooks answered HTTP 503"), attempts, MAX_ATTEMPTS)

    assert type(outcome) is kind
    if kind is Dead:
        assert outcome.message == f"gave up after {attempts} attempts: QuickBooks answered HTTP 503"


@pytest.mark.parametrize("kind", [Done, Skip, Fail, Dead, WaitForRealm], ids=lambda k: k.__name__)
def test_other_outcomes_stay_what_they_are_at_any_attempt(kind):
    outcome = EXAMPLES[kind]
    assert final(outcome, MAX_ATTEMPTS + 5, MAX_ATTEMPTS) is outcome


def test_a_retry_at_the_last_attempt_ends_dead_in_the_ledger(ledger):
    for attempt in range(1, MAX_ATTEMPTS + 1):
        now = NOW + timedelta(hours=attempt)
        if attempt == 1:
            ids = claimed(ledger)
        else:
            ids = [event.id for event in ledger.claim("test-worker", 10, 60, now=now)]
        (event,) = ledger.events()
        outcome = final(Retry("Salesforce unreachable"), event.attempts, MAX_ATTEMPTS)
        rule = SETTLEMENTS[type(outcome)]
        rule.write(ledger, ids, outcome.ledger_message, now + timedelta(seconds=1))
        expected = "dead" if attempt == MAX_ATTEMPTS else "failed"
        assert ledger.events()[0].state == expected

    (event,) = ledger.events()
    assert event.last_error == "gave up after 3 attempts: Salesforce unreachable"
    assert ledger.claim("test-worker", 10, 60, now=NOW + timedelta(days=365)) == []


# --- Salesforce failures ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (SalesforceTransient("Salesforce unreachable: ReadTimeout"), Retry),
        (
            SalesforceTransient("Salesforce: locked", status=400, error_code="UNABLE_TO_LOCK_ROW"),
            Retry,
        ),
        (SalesforceError("Salesforce: bad field", status=400, error_code="INVALID_FIELD"), Fail),
        (SalesforceAuthError("Salesforce login failed: invalid_grant", status=400), Fail),
    ],
)
def test_a_failed_call_retries_when_its_error_is_transient(error, kind):
    outcome = from_salesforce(error, "finding the record: ")
    assert type(outcome) is kind
    assert outcome.message == f"finding the record: {error}"


def record_result(*codes: str) -> RecordResult:
    errors = [{"statusCode": code, "message": code.lower(), "fields": []} for code in codes]
    return RecordResult(id=None, success=False, errors=errors)


@pytest.mark.parametrize(
    ("result", "kind", "message"),
    [
        (record_result("UNABLE_TO_LOCK_ROW"), Retry, "UNABLE_TO_LOCK_ROW: unable_to_lock_row"),
        (
            record_result("REQUIRED_FIELD_MISSING"),
            Fail,
            "REQUIRED_FIELD_MISSING: required_field_missing",
        ),
        (  # one error that a retry cannot fix makes the record a failure
            record_result("UNABLE_TO_LOCK_ROW", "INVALID_FIELD"),
            Fail,
            "UNABLE_TO_LOCK_ROW: unable_to_lock_row; INVALID_FIELD: invalid_field",
        ),
        (record_result(), Fail, "Salesforce reported a failure without errors"),
    ],
)
def test_a_failed_record_retries_when_every_error_is_transient(result, kind, message):
    outcome = from_salesforce(result)
    assert type(outcome) is kind and outcome.message == message


def test_an_outcome_from_salesforce_keeps_the_failure_the_sync_log_explains():
    # qbsync.failure_text turns the cause into plain language for the sync log.
    error = SalesforceError("Salesforce: bad field", status=400, error_code="INVALID_FIELD")
    result = record_result("REQUIRED_FIELD_MISSING")

    assert from_salesforce(error).cause is error
    assert from_salesforce(result, "upserting: ").cause is result
    assert Retry("HTTP 503").cause is None
