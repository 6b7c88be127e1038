"""What became of an event, as types, and the one table that says how each is recorded.

The worker decides an outcome where it finds it: for a whole batch by raising it (huey's
`RetryTask` habit: `raise Skip("not mapped: …")`), for one record by settling it as a value.
`SETTLEMENTS` then records every outcome the same way: the event's ledger state, its
QB_Sync_Log__c status, whether the claim counts as an attempt, and whether the next try waits
out a backoff (a retry that has used its last attempt is `Dead`, see `final`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from qbsync.salesforce.errors import SalesforceError, SalesforceTransient
from qbsync.sync_log import FAILED, RETRYING, SKIPPED, SUCCESS

if TYPE_CHECKING:
    from qbsync.salesforce.client import RecordResult
    from qbsync.store.ledger import EventLedger


class Outcome(Exception):
    """What happened to an event; `salesforce_id` names the Salesforce record it touched."""

    until: datetime | None = None  # claimable again from then (a realm wait)

    def __init__(
        self,
        message: str,
        salesforce_id: str | None = None,
        cause: Exception | RecordResult | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.salesforce_id = salesforce_id
        # The error behind a failure, which the sync log explains (qbsync.failure_text).
        self.cause = cause

    @property
    def ledger_message(self) -> str:
        """The reason or error the ledger keeps."""
        return self.message

    @property
    def log_message(self) -> str:
        """The sync log's Message__c."""
        return self.message


class Done(Outcome):
    """Applied, or nothing was left to apply; the message starts with what ("created; …")."""

    @property
    def ledger_message(self) -> str:
        return self.message.split(";", 1)[0]


class Skip(Outcome):
    """Not synced on purpose (the object is not mapped or not real-time enabled)."""


class Fail(Outcome):
    """Failed for good (Salesforce refused the record, the mapping cannot be used)."""


class Retry(Outcome):
    """Failed for now (a timeout, a 5xx, a locked row): tried again after a backoff."""

    @property
    def log_message(self) -> str:
        return f"will retry: {self.message}"


class Dead(Outcome):
    """A retry that used the last attempt: never claimed again unless replayed."""


class WaitForRealm(Outcome):
    """The realm cannot be worked now (QuickBooks throttled it, the company is not Connected):
    the events go back untried until `until`."""

    def __init__(self, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.until = until

    @property
    def log_message(self) -> str:
        return f"waiting until {self.until.isoformat()}: {self.message}"


LedgerWrite = Callable[["EventLedger", Sequence[int], str, datetime | None], None]


@dataclass(frozen=True)
class Settlement:
    """How one kind of outcome is recorded."""

    ledger_state: str  # the events' state afterwards (ledger.STATES)
    sync_log_status: str  # QB_Sync_Log__c.Status__c
    counts_attempt: bool  # False: the claim's attempt is given back, the event was not tried
    backs_off: bool  # claimable again after a backoff, and dead once attempts run out
    write: LedgerWrite  # (ledger, event ids, ledger message, claimable again at)


SETTLEMENTS: dict[type[Outcome], Settlement] = {
    Done: Settlement(
        ledger_state="done",
        sync_log_status=SUCCESS,
        counts_attempt=True,
        backs_off=False,
        write=lambda ledger, ids, text, _at: ledger.mark_done(ids, text),
    ),
    Skip: Settlement(
        ledger_state="skipped",
        sync_log_status=SKIPPED,
        counts_attempt=True,
        backs_off=False,
        write=lambda ledger, ids, text, _at: ledger.mark_skipped(ids, text),
    ),
    Fail: Settlement(
        ledger_state="failed",  # with no next attempt: never claimed again
        sync_log_status=FAILED,
        counts_attempt=True,
        backs_off=False,
        write=lambda ledger, ids, text, _at: ledger.mark_failed(ids, text, None),
    ),
    Retry: Settlement(
        ledger_state="failed",  # with the next attempt's time
        sync_log_status=RETRYING,
        counts_attempt=True,
        backs_off=True,
        write=lambda ledger, ids, text, at: ledger.mark_failed(ids, text, at),
    ),
    Dead: Settlement(
        ledger_state="dead",
        sync_log_status=FAILED,
        counts_attempt=True,
        backs_off=False,
        write=lambda ledger, ids, text, _at: ledger.mark_dead(ids, text),
    ),
    WaitForRealm: Settlement(
        ledger_state="pending",
        sync_log_status=RETRYING,
        counts_attempt=False,
        backs_off=False,
        write=lambda ledger, ids, text, at: ledger.release(ids, at, text),
    ),
}


def final(outcome: Outcome, attempts: int, max_attempts: int) -> Outcome:
    """`outcome` as recorded after `attempts` tries: a retry that used the last one is dead."""
    if SETTLEMENTS[type(outcome)].backs_off and attempts >= max_attempts:
        return Dead(f"gave up after {attempts} attempts: {outcome.message}")
    return outcome


def from_salesforce(failure: SalesforceError | RecordResult, context: str = "") -> Retry | Fail:
    """A failed Salesforce call (its typed error) or record (its result) as an outcome: a retry
    when it is transient (timeout, 5xx, UNABLE_TO_LOCK_ROW, limits), a failure otherwise."""
    if isinstance(failure, SalesforceError):
        transient, text = isinstance(failure, SalesforceTransient), str(failure)
    else:
        transient = failure.transient
        text = failure.message or "Salesforce reported a failure without errors"
    return (Retry if transient else Fail)(context + text, cause=failure)
