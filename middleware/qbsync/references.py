"""What a record refers to that Salesforce may not hold yet, read from Salesforce's answers and
from QuickBooks records (pure functions; the worker syncs what they name first).

An upsert whose reference names an external id no record has fails that record with
`INVALID_FIELD` "Foreign key external ID: <value> not found for field <field> in entity
<object>" (the wording Salesforce gives, and the emulator copies, for a relationship set by
external id). Our external ids name the QuickBooks record (`{realm}-{Entity}-{id}`), so the
message says which record to sync first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from qbsync.salesforce.client import RecordResult
from qbsync.salesforce.schema import parse_external_id

_FOREIGN_KEY_NOT_FOUND = re.compile(
    r"Foreign key external ID: (?P<value>.+) not found for field \w+ in entity \w+"
)


def missing_references(result: object, realm_id: str) -> dict[str, set[str]]:
    """QuickBooks ids by entity of the referenced records a failed upsert did not find; empty
    unless every error of the record is such a miss (anything else is its own failure)."""
    if not isinstance(result, RecordResult) or result.success or not result.errors:
        return {}
    missing: dict[str, set[str]] = {}
    for error in result.errors:
        match = _FOREIGN_KEY_NOT_FOUND.fullmatch(str(error.get("message") or ""))
        parsed = parse_external_id(realm_id, match["value"]) if match else None
        if error.get("statusCode") != "INVALID_FIELD" or parsed is None:
            return {}
        missing.setdefault(parsed[0], set()).add(parsed[1])
    return missing


def merge_into(target: dict[str, set[str]], more: Mapping[str, Iterable[str]]) -> None:
    for entity, ids in more.items():
        target.setdefault(entity, set()).update(ids)


def linked_transactions(records: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
    """The transactions the records' lines link (`Line[].LinkedTxn[]`: a payment's invoices),
    QuickBooks ids by TxnType."""
    linked: dict[str, set[str]] = {}
    for record in records:
        for item in record.get("Line") or ():
            for txn in (item.get("LinkedTxn") or ()) if isinstance(item, Mapping) else ():
                if isinstance(txn, Mapping) and txn.get("TxnType") and txn.get("TxnId"):
                    linked.setdefault(str(txn["TxnType"]), set()).add(str(txn["TxnId"]))
    return linked
