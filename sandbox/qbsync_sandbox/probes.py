"""What the soak run, the fault matrix and the crash tests check on a running `Stack`.

Each probe reads an outcome the way an operator would: the ledger through the product's own store,
drift through `qbsync verify`, Salesforce records through the emulator's admin query, deliveries
through the QuickBooks emulator's admin API.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass

from qbsync.store import Store
from qbsync.store.ledger import EventLedger
from qbsync_sandbox.stack import Stack, StackError

# Salesforce objects the recommended mappings write (Customer and Vendor → Account).
TARGETS = {"Customer": "Account", "Vendor": "Account", "Item": "Product2"}
_SUMMARY = re.compile(r"(\d+) missing, (\d+) stale, (\d+) unexpected")


@functools.cache
def _store(url: str) -> Store:
    # Opened once per database: opening migrates, which takes the write lock on SQLite.
    return Store.open(url)


def ledger(stack: Stack) -> EventLedger:
    """The stack's ledger, opened as the middleware opens it (its `QBSYNC_DATABASE_URL`)."""
    return _store(stack.middleware_env["QBSYNC_DATABASE_URL"]).events


def ledger_counts(stack: Stack) -> dict[str, int]:
    """Events per state; `retrying` counts failed events still due a retry apart."""
    return ledger(stack).summary()


def backlog(counts: dict[str, int]) -> int:
    """Events accepted but not yet settled (waiting, in work or waiting for a retry)."""
    return counts["pending"] + counts["claimed"] + counts["retrying"]


@dataclass
class Verification:
    realm_id: str
    clean: bool
    missing: int
    stale: int
    unexpected: int
    output: str

    @property
    def drift(self) -> int:
        return self.missing + self.stale + self.unexpected


def verify(stack: Stack, realm: str | None = None, qb_object: str | None = None) -> Verification:
    """`qbsync verify` as an operator runs it; the counts come from its summary lines."""
    result = stack.verify(realm=realm, qb_object=qb_object)
    output = result.stdout + result.stderr
    counts = [tuple(map(int, m)) for m in _SUMMARY.findall(result.stdout)]
    if result.returncode not in (0, 1) or not counts:
        raise StackError(f"qbsync verify failed ({result.returncode}): {output[-2000:]}")
    missing, stale, unexpected = (sum(c[i] for c in counts) for i in range(3))
    return Verification(
        realm or stack.realm_id, result.returncode == 0, missing, stale, unexpected, output
    )


def duplicate_records(stack: Stack) -> dict[str, int]:
    """Per Salesforce object: records beyond the first per external id, plus ones without."""
    found: dict[str, int] = {}
    for sobject in sorted(set(TARGETS.values())):
        soql = f"SELECT Id, QB_External_Id__c FROM {sobject}"  # noqa: S608 - our constants
        rows = stack.sf_admin("POST", "/query", json={"q": soql}).json()["records"]
        keys = Counter(row.get("QB_External_Id__c") for row in rows)
        found[sobject] = keys.pop(None, 0) + sum(n - 1 for n in keys.values() if n > 1)
    return found


def deliveries_idle(stack: Stack) -> bool:
    stats = stack.qbo("GET", "/deliveries")
    return stats["pending"] == 0 and not stats["retrying"]


def wait_drained(stack: Stack, timeout: float, *, realms: tuple[str, ...] = ()) -> float:
    """Wait until webhooks are delivered, the ledger is settled and verify is clean; seconds."""
    started = time.monotonic()
    realms = realms or (stack.realm_id,)
    last: list[Verification] = []
    while True:
        if deliveries_idle(stack) and backlog(ledger_counts(stack)) == 0:
            last = [verify(stack, realm) for realm in realms]
            if all(v.clean for v in last) and backlog(ledger_counts(stack)) == 0:
                return time.monotonic() - started
        if time.monotonic() - started > timeout:
            detail = "\n".join(v.output for v in last) or "the backlog never emptied"
            raise StackError(
                f"not drained after {timeout:.0f}s: ledger {ledger_counts(stack)}; {detail[-3000:]}"
            )
        time.sleep(1.0)


class LedgerLock:
    """A stuck writer: holds SQLite's write lock on the stack's ledger file from outside.

    A fault, not a probe: it has to bypass the store to hold a lock the store would release.
    """

    def __init__(self, stack: Stack) -> None:
        self._path = stack.workdir / "qbsync.db"
        self._connection: sqlite3.Connection | None = None

    def __enter__(self) -> LedgerLock:
        self._connection = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        # In WAL mode EXCLUSIVE keeps every other writer out; readers go on (SQLite docs, WAL).
        self._connection.execute("BEGIN EXCLUSIVE")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._connection is not None
        self._connection.execute("ROLLBACK")
        self._connection.close()
