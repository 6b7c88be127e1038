"""What the worker's writers send: mapped bodies with their QuickBooks id and version, what
writing one mapping's records needs, and the checks a body passes before it is sent."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from qbsync.events import Version
from qbsync.mapping import MappedRecord, MappingError, ObjectMapping, SObjectDescribe
from qbsync.outcomes import Outcome
from qbsync.salesforce.client import RecordResult
from qbsync.sync_config import RealmConfig

# Contract-10: a target object with this Checkbox has it set when QuickBooks voids the record.
VOIDED_FIELD = "Voided__c"


@dataclass(frozen=True)
class Upsert:
    entity_id: str
    mapped: MappedRecord
    version: Version | None  # QuickBooks LastUpdatedTime + SyncToken, recorded on success


@dataclass(frozen=True)
class Write:
    """What writing records of one mapping needs."""

    realm_id: str
    config: RealmConfig
    mapping: ObjectMapping
    describe: SObjectDescribe
    voided: frozenset[str] = frozenset()  # QuickBooks ids a Void event reported


# Upsert bodies by external id (realm, configuration, object, external id field, bodies,
# reference depth): each body with its result when written, else its outcome.
UpsertBodies = Callable[
    [str, RealmConfig, str, str, list[Upsert], int], list[tuple[Upsert, RecordResult | Outcome]]
]


def mark_voided(mapped: MappedRecord, describe: SObjectDescribe) -> None:
    voided = describe.field(VOIDED_FIELD)
    if voided is not None and voided.type == "boolean":
        mapped.fields[voided.name] = True


def check_json(mapped: MappedRecord) -> None:
    """Refuse a body that cannot travel as JSON (requests sends `allow_nan=False`), so that it
    fails alone instead of failing the sObject Collections call of 200 records."""
    try:
        json.dumps(mapped.fields, allow_nan=False)
    except (ValueError, TypeError, RecursionError) as error:
        raise MappingError(f"the record cannot be sent to Salesforce as JSON: {error}") from None
