"""Change Data Capture: the change events of the objects the org has selected, kept for replay.

An object is selected by a `PlatformEventChannelMember` of the standard `ChangeEvents` channel
(selectedEntity `<Object>__ChangeEvent` for a custom object, `<Object>ChangeEvent` for a standard
one). Each committed create, update, delete and undelete of its records is one event on
`/data/<Object>__ChangeEvent` (and `/data/ChangeEvents`), in commit order, with a replay id that
grows. The message is what the Change Data Capture Developer Guide documents
(cdc_event_fields_header.htm, cdc_event_fields_body.htm):

- `ChangeEventHeader`: entityName, recordIds, changeType (CREATE, UPDATE, DELETE, UNDELETE),
  changeOrigin (`com/salesforce/api/rest/66.0` for a REST call), transactionKey and
  sequenceNumber (the order of the events of one transaction), commitTimestamp (ms since the
  epoch), commitNumber, commitUser, changedFields (update only, with LastModifiedDate),
  diffFields and nulledFields (empty: they concern Apex subscribers and large text diffs);
- the body: a create or an undelete carries every field with a value, an update the changed
  fields (a field set to null is there as null), a delete nothing but the header. Formula and
  roll-up summary fields are not in change events, nor Id (it is in recordIds), SystemModstamp and
  IsDeleted.

What the emulator leaves out: merged events (one event for the same change to several records of
one transaction; each record has its own event here), gap and overflow events, and the 72-hour
retention (every event of the run is retained: replay -2 returns them all).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

# The standard channel carrying every selected entity's events.
ALL_CHANGES = "/data/ChangeEvents"
CHANNEL_PREFIX = "/data/"
# Fields the body never carries (the record id travels in recordIds).
_NOT_IN_BODY = frozenset({"Id", "SystemModstamp", "IsDeleted"})


def event_entity(object_name: str) -> str:
    """`QB_Sync_Log__c` → `QB_Sync_Log__ChangeEvent`; `Account` → `AccountChangeEvent`."""
    if object_name.endswith("__c"):
        return object_name[: -len("__c")] + "__ChangeEvent"
    return object_name + "ChangeEvent"


def object_of_entity(entity: str) -> str | None:
    """The object a change event entity belongs to, or None when `entity` names none."""
    if entity.endswith("__ChangeEvent"):
        return entity[: -len("__ChangeEvent")] + "__c"
    if entity.endswith("ChangeEvent") and len(entity) > len("ChangeEvent"):
        return entity[: -len("ChangeEvent")]
    return None


def channel_of(object_name: str) -> str:
    return CHANNEL_PREFIX + event_entity(object_name)


@dataclass(frozen=True)
class RecordChange:
    """One committed change of one record, before it becomes a message."""

    object_name: str
    change_type: str  # CREATE, UPDATE, DELETE or UNDELETE
    record_id: str
    body: dict  # the field values the message carries (JSON values)
    changed_fields: tuple[str, ...]


@dataclass(frozen=True)
class ChangeEvent:
    replay_id: int
    object_name: str
    payload: dict  # ChangeEventHeader and the body

    @property
    def channel(self) -> str:
        return channel_of(self.object_name)

    def message(self, channel: str, payload: dict | None = None) -> dict:
        """The Bayeux data message a subscriber of `channel` receives."""
        return {
            "channel": channel,
            "data": {
                # An id of the event's schema (Get the Event Schema); stable per entity here.
                "schema": f"emu-{event_entity(self.object_name)}",
                "payload": payload if payload is not None else self.payload,
                "event": {"replayId": self.replay_id},
            },
        }


class ChangeEventBus:
    """Every change event of the run, in commit order; long polls wait on it."""

    def __init__(self) -> None:
        self._events: list[ChangeEvent] = []
        self._changed = threading.Condition()
        self._commit_number = 0

    @property
    def latest_replay_id(self) -> int:
        with self._changed:
            return self._events[-1].replay_id if self._events else 0

    def publish(
        self, changes: Iterable[RecordChange], *, user_id: str, origin: str, committed: datetime
    ) -> None:
        """The changes of one committed transaction, in the order they were made."""
        changes = list(changes)
        if not changes:
            return
        transaction_key = str(uuid.uuid4())
        timestamp = int(committed.timestamp() * 1000)
        with self._changed:
            self._commit_number += 1
            for sequence, change in enumerate(changes, start=1):
                header = {
                    "entityName": change.object_name,
                    "recordIds": [change.record_id],
                    "changeType": change.change_type,
                    "changeOrigin": origin,
                    "transactionKey": transaction_key,
                    "sequenceNumber": sequence,
                    "commitTimestamp": timestamp,
                    "commitNumber": self._commit_number,
                    "commitUser": user_id,
                    "nulledFields": [],
                    "diffFields": [],
                    "changedFields": list(change.changed_fields),
                }
                replay_id = (self._events[-1].replay_id if self._events else 0) + 1
                payload = {"ChangeEventHeader": header, **change.body}
                self._events.append(ChangeEvent(replay_id, change.object_name, payload))
            self._changed.notify_all()

    def events_after(self, replay_id: int) -> list[ChangeEvent]:
        with self._changed:
            return [event for event in self._events if event.replay_id > replay_id]

    def earliest_replay_id(self) -> int | None:
        with self._changed:
            return self._events[0].replay_id if self._events else None

    def wait_after(self, replay_id: int, timeout: float) -> bool:
        """Wait until an event newer than `replay_id` exists (True) or `timeout` passes."""
        with self._changed:
            return self._changed.wait_for(
                lambda: bool(self._events) and self._events[-1].replay_id > replay_id, timeout
            )

    def wake(self) -> None:
        """Wake every waiting long poll (a disconnect, or the server stopping)."""
        with self._changed:
            self._changed.notify_all()

    def clear(self) -> None:
        with self._changed:
            self._events.clear()
            self._changed.notify_all()


def record_change(
    object_name: str,
    prior: dict | None,
    record: dict,
    *,
    deleted: bool,
    undeleted: bool,
    in_body: Iterable[str],
    to_json,
) -> RecordChange:
    """The change from `prior` (None: a new record) to `record`. `in_body` names the fields a
    message may carry (the object's fields without formulas and roll-ups); `to_json` turns a
    field name and stored value into the JSON value."""
    body_fields = [name for name in in_body if name not in _NOT_IN_BODY]
    if deleted:
        return RecordChange(object_name, "DELETE", record["Id"], {}, ())
    if prior is None or undeleted:
        body = {
            name: to_json(name, record[name])
            for name in body_fields
            if record.get(name) is not None
        }
        return RecordChange(
            object_name, "UNDELETE" if undeleted else "CREATE", record["Id"], body, ()
        )
    changed = [name for name in body_fields if prior.get(name) != record.get(name)]
    body = {name: to_json(name, record.get(name)) for name in changed}
    return RecordChange(object_name, "UPDATE", record["Id"], body, tuple(changed))
