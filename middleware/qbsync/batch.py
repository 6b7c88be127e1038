"""One claimed batch of ledger events and the outcomes the worker gathers while processing it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from qbsync.mapping import ObjectMapping
from qbsync.outcomes import Outcome
from qbsync.store.ledger import StoredEvent
from qbsync.sync_config import RealmConfig


@dataclass
class Batch:
    """One claimed batch (one realm + entity) and the outcomes gathered while processing it."""

    events: list[StoredEvent]
    now: datetime
    # Per QuickBooks record (the events about it share it).
    records: dict[str, Outcome] = field(default_factory=dict)
    # The batch-wide outcome a stage of the worker raised: for the events without a record
    # outcome.
    outcome: Outcome | None = None
    mapping: ObjectMapping | None = None
    config: RealmConfig | None = None
    # QuickBooks record id -> its name, for the sync log (records read in this batch).
    names: dict[str, str] = field(default_factory=dict)
    # What the read stage found: records as QuickBooks has them now, and the ids it no longer
    # has (deleted or merged away), for the write stage.
    found: dict[str, dict] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)

    @property
    def realm_id(self) -> str:
        return self.events[0].realm_id

    @property
    def entity(self) -> str:
        return self.events[0].entity

    def settle(self, entity_id: str, outcome: Outcome) -> None:
        self.records.setdefault(entity_id, outcome)

    def unsettled(self, ids: Iterable[str]) -> list[str]:
        return [i for i in ids if i not in self.records]
