"""The emulated org's data: records per object, with the platform's save rules.

`Org` is the one store the REST API, the admin API, the records page and (later) preview adapters
share. Each DML method handles one record and raises `DmlFailure` with every error Salesforce would
report, in the platform's order: field checks (length, picklist, references) and required fields,
then validation rules, then unique values (Apex Developer Guide, "Triggers and Order of Execution").
Callers that need all-or-none wrap several calls in `savepoint()` / `rollback()`, holding `lock`.

Speed (issue 19): unique and external-id fields are indexed, so an upsert or a duplicate check is
a dictionary lookup rather than a scan of the object's records; a savepoint is a position in an undo
journal that every change appends to while `lock` is held, so taking one costs nothing and a
rollback undoes only what changed since.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from qbsync_sandbox.emulators.salesforce import formula, ids
from qbsync_sandbox.emulators.salesforce.change_events import (
    ChangeEventBus,
    RecordChange,
    record_change,
)
from qbsync_sandbox.emulators.salesforce.errors import (
    ApiError,
    DmlFailure,
    MultipleMatches,
    RecordError,
)
from qbsync_sandbox.emulators.salesforce.permissions import (
    ADMIN_PERMISSION_SET,
    INTEGRATION_PERMISSION_SET,
    PROFILES,
    SYSTEM,
    Access,
    User,
)
from qbsync_sandbox.emulators.salesforce.schema import (
    MULTI_SELECT,
    NUMBER_TYPES,
    TEXT_TYPES,
    FieldDef,
    ObjectDef,
    Schema,
)
from qbsync_sandbox.emulators.salesforce.standard import (
    ADDRESS_PARTS,
    ASSIGNMENT_PREFIX,
    NOT_CREATEABLE,
    NOTIFICATION_TYPE_PREFIX,
    ORG_ID_PREFIX,
    PERMISSION_SET_PREFIX,
    USER_PREFIX,
)
from qbsync_sandbox.emulators.salesforce.values import from_json, to_json

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# INSUFFICIENT_ACCESS_OR_READONLY is the StatusCode of a DML refused by object permissions or
# sharing; its message names no record on an insert. Wording as Salesforce reports it
# (e.g. https://agentforceaccess.com/blog/insufficient-access-rights-on-object-id; the code is in
# the partner WSDL's StatusCode enum).
_INSUFFICIENT_ACCESS = RecordError(
    "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id"
)
# Salesforce's wording for a field the user may not write (field-level security) or nobody may
# (formula, roll-up, audit fields), e.g. https://salesforcedictionary.com/errors/invalid-field-for-insert-update
_UNWRITABLE = (
    "Unable to create/update fields: {}. Please check the security settings of this field and "
    "verify that it is read/write for your profile or permission set."
)


def _now() -> datetime:
    return datetime.now(UTC)


class _JournalLock:
    """The org's reentrant lock. When its outermost holder lets go, `on_release` runs (the org
    empties its undo journal): a savepoint only lives while its taker holds the lock, so nothing
    can roll back past that moment and the journal never grows beyond one transaction."""

    def __init__(self, on_release: Callable[[], None]) -> None:
        self._lock = threading.RLock()
        self._depth = 0  # only the holding thread changes it
        self._on_release = on_release

    def __enter__(self) -> _JournalLock:
        self._lock.acquire()
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._on_release()
        self._lock.release()


@dataclass(frozen=True)
class _Login:
    """What a user is apart from its permission sets, which PermissionSetAssignment rows hold."""

    id: str
    username: str
    profile: str
    all_data: bool


class Org:
    """An in-memory org: schema, records, recycle bin, API usage (thread-safe)."""

    def __init__(
        self,
        schema: Schema,
        *,
        username: str = "integration@qbsync.example",
        admin_username: str | None = None,
        sysadmin_username: str | None = None,
        admin_profile: str = "minimum",
        api_limit: int = 15000,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        """An org with three users (see `User`): the integration user `username`, the admin
        `admin_username` and a System Administrator `sysadmin_username` (defaults: admin@ and
        sysadmin@ on the integration user's domain). The integration user's profile is minimum
        access; the admin's is `admin_profile`: "minimum", or "standard" (Standard User, as the
        Apex tests' admin has)."""
        self.schema = schema
        # Undo steps of the changes made since the lock was taken, oldest first (`savepoint`).
        self._undo: list[Callable[[], None]] = []
        # Change events of the transaction in hand, each with the journal position of its change:
        # a rollback drops those it undoes, the outermost release publishes the rest.
        self._pending_changes: list[tuple[int, RecordChange]] = []
        # Ids of the records the transaction in hand wrote, with their journal positions, and
        # when each record's last write was committed (epoch seconds, time.time()): the
        # benchmarks' exact clock (`commit_times`). SystemModstamp cannot serve: it is stamped
        # when the record is written, before the transaction's other records and its commit.
        self._written: list[tuple[int, str]] = []
        self._committed_at: dict[str, float] = {}
        self.change_events = ChangeEventBus()
        # Who made the transaction's changes and through which API (ChangeEventHeader's
        # commitUser and changeOrigin); the REST layer sets them per request.
        self.change_origin: Callable[[], tuple[str | None, str]] = lambda: (None, "")
        self.lock = _JournalLock(on_release=self._commit)
        self.clock = clock
        self.api_limit = api_limit
        self.api_usage = 0
        self._ids = ids.IdFactory()
        self.org_id = self._ids.new(ORG_ID_PREFIX)
        self._records: dict[str, dict[str, dict]] = {o.name: {} for o in schema.objects}
        self._deleted: dict[str, dict[str, dict]] = {o.name: {} for o in schema.objects}
        self._autonumbers: dict[str, int] = {}
        # object → field → match key (`_match_key`) → ids of live records: the unique and
        # external-id fields, which upserts, reference resolution and duplicate checks look up.
        self._indexed = self._indexed_fields(schema)
        self._indexes: dict[str, dict[str, dict[Any, set[str]]]] = {}
        domain = username.partition("@")[2] or "qbsync.example"
        self._logins: dict[str, _Login] = {}
        self._access: dict[tuple, Access] = {}
        self._permission_set_ids: dict[str, str] = {}
        self._add_permission_sets()
        for name, kind in schema.notification_types.items():
            type_id = self._ids.new(NOTIFICATION_TYPE_PREFIX)
            self._records["CustomNotificationType"][type_id] = self._system_values(
                type_id, self.clock(), type_id
            ) | {
                "DeveloperName": name,
                "MasterLabel": kind.label,
                "CustomNotifTypeName": kind.label,
                "Description": kind.description,
                "Desktop": kind.desktop,
                "Mobile": kind.mobile,
                "NamespacePrefix": None,
            }
        # What the invocable actions sent (emulators/salesforce/actions.py), oldest first.
        self.notifications: list[dict] = []
        self.emails: list[dict] = []
        for login, last_name, profile, permission_sets, all_data in (
            (username, "Integration", "minimum", (INTEGRATION_PERMISSION_SET,), False),
            (
                admin_username or f"admin@{domain}",
                "Admin",
                admin_profile,
                (ADMIN_PERMISSION_SET,),
                False,
            ),
            (
                sysadmin_username or f"sysadmin@{domain}",
                "System Administrator",
                "minimum",
                (),
                True,
            ),
        ):
            self._add_user(login, last_name, profile, permission_sets, all_data=all_data)
        self.user_id = self._logins[username.lower()].id
        self.username = username
        self._records["Organization"][self.org_id] = self._system_values(
            self.org_id, self.clock(), self.user_id
        ) | {
            "Name": "qbsync sandbox",
            "InstanceName": "EMU1",
            "IsSandbox": False,
            "OrganizationType": "Developer Edition",
            "NamespacePrefix": None,
            "TrialExpirationDate": None,
            "LanguageLocaleKey": "en_US",
            "DefaultLocaleSidKey": "en_US",
            "TimeZoneSidKey": "GMT",
        }
        self._reindex()

    def _add_user(
        self,
        username: str,
        last_name: str,
        profile: str,
        permission_sets: tuple[str, ...],
        *,
        all_data: bool,
    ) -> None:
        login = _Login(self._ids.new(USER_PREFIX), username, profile, all_data)
        self._logins[username.lower()] = login
        now = self.clock()
        self._records["User"][login.id] = self._system_values(login.id, now, login.id) | {
            "Username": username,
            "LastName": last_name,
            "FirstName": "QBSync",
            "Email": username,
            "IsActive": True,
        }
        for name in permission_sets:
            if name in self._permission_set_ids:
                assignment_id = self._ids.new(ASSIGNMENT_PREFIX)
                self._records["PermissionSetAssignment"][assignment_id] = self._system_values(
                    assignment_id, now, login.id
                ) | {"AssigneeId": login.id, "PermissionSetId": self._permission_set_ids[name]}

    def _add_permission_sets(self) -> None:
        """A PermissionSet record for each of the schema's permission sets that has none yet."""
        for name, grants in self.schema.permission_sets.items():
            set_id = self._permission_set_ids.get(name)
            if set_id is None:
                set_id = self._ids.new(PERMISSION_SET_PREFIX)
                self._permission_set_ids[name] = set_id
                self._records["PermissionSet"][set_id] = self._system_values(
                    set_id, self.clock(), set_id
                ) | {"Name": name, "NamespacePrefix": None, "IsOwnedByProfile": False}
            self._records["PermissionSet"][set_id]["Label"] = grants.label

    def install_schema(self, schema: Schema) -> None:
        """Make `schema` the org's (a deployed change): records stay, new objects start empty,
        new permission sets get their PermissionSet record and every user's access is recomputed
        from the permission sets as they are now."""
        with self.lock:
            self.schema = schema
            for obj in schema.objects:
                self._records.setdefault(obj.name, {})
                self._deleted.setdefault(obj.name, {})
            self._add_permission_sets()
            self._access.clear()
            # A deploy may add unique fields or change their case rule: index what is stored now.
            self._indexed = self._indexed_fields(schema)
            self._reindex()

    def user(self, username: str) -> User | None:
        """The user `username` logs in as, with the permission sets assigned to it now."""
        login = self._logins.get(username.lower())
        if login is None:
            return None
        with self.lock:
            names = sorted(self._assigned_names(login.id))
        key = (login.profile, login.all_data, *names)
        if key not in self._access:
            grants = [PROFILES[login.profile]] + [self.schema.permission_sets[n] for n in names]
            self._access[key] = Access(
                grants, all_data=login.all_data, standard_fields=login.profile == "standard"
            )
        return User(login.id, login.username, self._access[key])

    @property
    def integration_user(self) -> User:
        user = self.user(self.username)
        assert user is not None  # the org is made with it
        return user

    def _assigned_names(self, user_id: str) -> set[str]:
        sets = self._records["PermissionSet"]
        return {
            sets[row["PermissionSetId"]]["Name"]
            for row in self._records["PermissionSetAssignment"].values()
            if row["AssigneeId"] == user_id and row["PermissionSetId"] in sets
        }

    def new_id(self, key_prefix: str) -> str:
        """A fresh 18-character id with this key prefix (records, and jobs such as Bulk API's)."""
        return self._ids.new(key_prefix)

    # ----------------------------------------------------------------- lookups

    def object(self, name: str) -> ObjectDef:
        """The object definition, or ApiError NOT_FOUND (as the REST API answers)."""
        obj = self.schema.object(name)
        if obj is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return obj

    def locate(self, record_id: str) -> tuple[ObjectDef, dict] | None:
        """The live record with this 15- or 18-character id."""
        full = ids.normalize(record_id)
        if full is None:
            return None
        obj = self.schema.by_prefix(full[:3])
        if obj is None:
            return None
        record = self._records[obj.name].get(full)
        return (obj, record) if record is not None else None

    def is_deleted(self, record_id: str) -> bool:
        full = ids.normalize(record_id) or ""
        obj = self.schema.by_prefix(full[:3])
        return obj is not None and full in self._deleted[obj.name]

    def rows(self, sobject: str, *, include_deleted: bool = False) -> list[dict]:
        """Stored records of an object in insertion order (not copies; hold `lock`)."""
        obj = self.object(sobject)
        rows = list(self._records[obj.name].values())
        if include_deleted:
            rows += list(self._deleted[obj.name].values())
        return rows

    def value(self, obj: ObjectDef, record: dict, path: str) -> Any:
        """A field value by path (`Company__r.Realm_Id__c`), computing roll-ups and formulas."""
        parts = path.split(".")
        for part in parts[:-1]:
            reference = obj.parent_relationship(part)
            if reference is None or record is None:
                return None
            parent = self.locate(record.get(reference.name) or "")
            if parent is None:
                return None
            obj, record = parent
        definition = obj.field(parts[-1])
        if definition is None:
            raise formula.FormulaError(f"unknown field {path} on {obj.name}")
        return self.field_value(obj, record, definition)

    def field_value(self, obj: ObjectDef, record: dict, definition: FieldDef) -> Any:
        if definition.type == "Summary":
            return self._summary(record, definition)
        if definition.formula is not None:
            tree = formula.parse(definition.formula)
            return formula.evaluate(tree, self._context(obj, record))
        if definition.type == "Address":
            prefix = definition.name[: -len("Address")]
            return {key: to_json(record.get(prefix + part)) for part, key in ADDRESS_PARTS.items()}
        return record.get(definition.name)

    def record_json(self, obj: ObjectDef, record: dict) -> dict:
        """Every field of a record, as stored values (roll-ups and formulas computed)."""
        return {d.name: self.field_value(obj, record, d) for d in obj.fields.values()}

    def find(self, obj: ObjectDef, definition: FieldDef, value: Any) -> list[str]:
        """Ids of live records whose `definition` equals `value` (the field's case rule), oldest
        first."""
        wanted = self._match_key(definition, value)
        index = self._indexes[obj.name].get(definition.name)
        if index is not None:
            # Ids grow with creation time (ids.IdFactory), so sorting gives the scan's order.
            return sorted(index.get(wanted, ()))
        return [
            record_id
            for record_id, record in self._records[obj.name].items()
            if record.get(definition.name) is not None
            and self._match_key(definition, record[definition.name]) == wanted
        ]

    def indexed_rows(self, obj: ObjectDef, definition: FieldDef, values: list) -> list[dict] | None:
        """Live records whose `definition` is one of the strings `values` (the index's case
        rule), in stored order, if an index answers that (Id or an indexed field); else None."""
        rows = self._records[obj.name]
        if definition.name == "Id":
            found = {full for v in values if (full := ids.normalize(v)) in rows}
        else:
            index = self._indexes[obj.name].get(definition.name)
            if index is None:
                return None
            found = set().union(*(index.get(self._match_key(definition, v), ()) for v in values))
        return [rows[record_id] for record_id in sorted(found)]

    def query(self, text: str, *, include_deleted: bool = False, version: str = "66.0"):
        """Run SOQL; returns (totalSize, records shaped as the REST API answers them)."""
        from qbsync_sandbox.emulators.salesforce import soql

        with self.lock:
            return soql.Executor(self, text, version).run(
                soql.parse(text), include_deleted=include_deleted
            )

    # ----------------------------------------------------------------- transactions

    def savepoint(self) -> int:
        """A point `rollback` returns the records to; valid while the caller holds `lock`."""
        return len(self._undo)

    def rollback(self, savepoint: int) -> None:
        """Undo every change made since `savepoint`, newest first."""
        with self.lock:
            while len(self._undo) > savepoint:
                self._undo.pop()()
            self._pending_changes = [
                (position, change)
                for position, change in self._pending_changes
                if position < savepoint
            ]
            self._written = [entry for entry in self._written if entry[0] < savepoint]

    def commit_times(self, record_ids: list[str]) -> dict[str, float | None]:
        """When each record's last write was committed (epoch seconds; None: not written
        through the API since the org started or was reset)."""
        with self.lock:
            return {
                record_id: self._committed_at.get(ids.normalize(record_id) or record_id)
                for record_id in record_ids
            }

    def _commit(self) -> None:
        """The outermost holder let go: what it changed is committed. Publish the change events
        of the selected objects (change_events.py) and empty the undo journal."""
        self._undo.clear()
        if self._written:
            committed = time.time()
            for _, record_id in self._written:
                self._committed_at[record_id] = committed
            self._written = []
        if not self._pending_changes:
            return
        changes = [change for _, change in self._pending_changes]
        self._pending_changes = []
        user_id, origin = self.change_origin()
        self.change_events.publish(
            changes, user_id=user_id or self.user_id, origin=origin, committed=self.clock()
        )

    def _note_change(
        self, name: str, prior: dict | None, record: dict, *, deleted: bool = False
    ) -> None:
        """Keep the change event of a change just journaled, if the object is selected for
        Change Data Capture."""
        if name not in self.schema.change_events:
            return
        obj = self.schema.object(name)
        in_body = [
            d.name
            for d in obj.fields.values()
            if d.formula is None and d.type not in ("Summary", "Address")
        ]
        change = record_change(
            name,
            prior,
            record,
            deleted=deleted,
            undeleted=False,
            in_body=in_body,
            to_json=lambda _name, value: to_json(value),
        )
        self._pending_changes.append((len(self._undo) - 1, change))

    def reset(self) -> None:
        """Remove every record except the org's own (the organization, its users, the permission
        sets and their assignments, the notification types), and forget what was sent."""
        with self.lock:
            kept = {
                name: dict(self._records[name])
                for name in (
                    "User",
                    "Organization",
                    "PermissionSet",
                    "PermissionSetAssignment",
                    "CustomNotificationType",
                )
            }
            self.notifications.clear()
            self.emails.clear()
            for rows in (*self._records.values(), *self._deleted.values()):
                rows.clear()
            for name, rows in kept.items():
                self._records[name].update(rows)
            self._autonumbers.clear()
            # A reset is not undoable: no savepoint taken before it stays meaningful.
            self._undo.clear()
            self._pending_changes = []
            self._written = []
            self._committed_at.clear()
            self.change_events.clear()
            self._reindex()

    # ----------------------------------------------------------------- DML

    def check_body(self, obj: ObjectDef, body: dict) -> None:
        """Raise the request-level errors a body causes (unknown field, wrong JSON type)."""
        self._convert(obj, body)

    def create(self, sobject: str, body: dict, user: User | None = None) -> str:
        """Insert one record as `user` (None: system mode, as the integration user); returns its
        18-character id."""
        with self.lock:
            obj = self.object(sobject)
            if obj.name in NOT_CREATEABLE:
                # UNCONFIRMED wording; the describe of Organization says createable false.
                raise DmlFailure(
                    [
                        RecordError(
                            "INVALID_TYPE_FOR_OPERATION",
                            f"entity type cannot be inserted: {obj.name}",
                        )
                    ]
                )
            actor, access = self._actor(user)
            values, references = self._convert(obj, body)
            if not access.object(obj).create:
                raise DmlFailure([_INSUFFICIENT_ACCESS])
            unwritable = [
                obj.field(name).name
                for name in (*values, *references)
                if name != "Id" and not access.createable(obj, obj.field(name))
            ]
            if "Id" in values:
                raise DmlFailure(
                    [
                        RecordError(
                            "INVALID_FIELD_FOR_INSERT_UPDATE",
                            "cannot specify Id in an insert call",
                            ["Id"],
                        )
                    ]
                )
            if unwritable:
                raise DmlFailure(
                    [
                        RecordError(
                            "INVALID_FIELD_FOR_INSERT_UPDATE",
                            _UNWRITABLE.format(", ".join(unwritable)),
                            unwritable,
                        )
                    ]
                )
            values.update(self._resolve_references(obj, references))
            record = {}
            for definition in obj.fields.values():
                if definition.default is not None and definition.name not in values:
                    record[definition.name] = definition.default
            if obj.field("OwnerId") is not None:
                record["OwnerId"] = actor
            record.update(values)
            self._validate(obj, record, prior=None)
            if obj.name == "PermissionSetAssignment":
                self._check_new_assignment(record)
            savepoint = self.savepoint()
            new_id = self._ids.new(obj.key_prefix)
            record.update(self._system_values(new_id, self.clock(), actor))
            name = obj.field("Name")
            if name is not None and name.type == "AutoNumber":
                record["Name"] = self._next_autonumber(obj)
            elif name is not None and name.createable and not record.get("Name"):
                record["Name"] = new_id[:15]  # custom objects name unnamed records by their id
            self._put(obj.name, record)
            self._recheck_masters(obj, record, savepoint)
            return new_id

    def update(self, sobject: str, record_id: str, body: dict, user: User | None = None) -> None:
        """Update one record by id as `user` (None: system mode)."""
        with self.lock:
            obj = self.object(sobject)
            actor, access = self._actor(user)
            values, references = self._convert(obj, body)
            values.pop("Id", None)
            current = self._existing(obj, record_id)
            if not access.object(obj).edit:
                raise DmlFailure([_INSUFFICIENT_ACCESS])
            unwritable = [
                obj.field(name).name
                for name in (*values, *references)
                if not access.updateable(obj, obj.field(name))
            ]
            if unwritable:
                raise DmlFailure(
                    [
                        RecordError(
                            "INVALID_FIELD_FOR_INSERT_UPDATE",
                            _UNWRITABLE.format(", ".join(unwritable)),
                            unwritable,
                        )
                    ]
                )
            values.update(self._resolve_references(obj, references))
            record = dict(current) | values
            self._validate(obj, record, prior=current)
            savepoint = self.savepoint()
            now = self.clock()
            record["LastModifiedDate"] = record["SystemModstamp"] = now
            record["LastModifiedById"] = actor
            self._put(obj.name, record)
            self._recheck_masters(obj, record, savepoint)

    def upsert(
        self, sobject: str, external_field: str, value: Any, body: dict, user: User | None = None
    ) -> tuple[str, bool]:
        """Insert or update by external id as `user` (None: system mode); returns (id, created).
        Raises MultipleMatches."""
        with self.lock:
            obj = self.object(sobject)
            definition = self.external_id_field(obj, external_field, user)
            key = from_json(definition, value)
            matches = self.find(obj, definition, key)
            if len(matches) > 1:
                raise MultipleMatches(matches)
            body = {k: v for k, v in body.items() if k.lower() != definition.name.lower()}
            if matches:
                self.update(obj.name, matches[0], body, user)
                return matches[0], False
            return self.create(obj.name, body | {definition.name: value}, user), True

    def delete(self, record_id: str, user: User | None = None, *, hard: bool = False) -> None:
        """Delete a record as `user` (None: system mode); master-detail children go too and
        lookups to it are cleared. `hard` (Bulk API hardDelete) leaves the record out of the
        recycle bin."""
        with self.lock:
            found = self.locate(record_id)
            if found is not None and not self._actor(user)[1].object(found[0]).delete:
                raise DmlFailure([_INSUFFICIENT_ACCESS])
            if found is None:
                if self.is_deleted(record_id):
                    raise DmlFailure([RecordError("ENTITY_IS_DELETED", "entity is deleted")])
                raise DmlFailure(
                    [RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")]
                )
            obj, record = found
            if obj.name in NOT_CREATEABLE:
                raise DmlFailure(
                    [
                        RecordError(
                            "INVALID_TYPE_FOR_OPERATION",
                            f"entity type cannot be deleted: {obj.name}",
                        )
                    ]
                )
            savepoint = self.savepoint()
            self._remove(obj, record)
            self._recheck_masters(obj, record, savepoint)
            if hard:
                self._forget_deleted(obj.name, record["Id"])

    def external_id_field(self, obj: ObjectDef, name: str, user: User | None = None) -> FieldDef:
        definition = obj.field(name)
        if (
            definition is None
            or not (definition.external_id or definition.name == "Id")
            or not self._actor(user)[1].readable(obj, definition)
        ):
            raise ApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {name}",
            )
        return definition

    # ----------------------------------------------------------------- internals

    def _check_new_assignment(self, record: dict) -> None:
        """A user has a permission set once. Code DUPLICATE_VALUE as Salesforce reports a second
        assignment; the wording is UNCONFIRMED."""
        for row in self._records["PermissionSetAssignment"].values():
            if (row["AssigneeId"], row["PermissionSetId"]) == (
                record["AssigneeId"],
                record["PermissionSetId"],
            ):
                raise DmlFailure(
                    [
                        RecordError(
                            "DUPLICATE_VALUE",
                            f"Duplicate PermissionSetAssignment. Assignee: {record['AssigneeId']}; "
                            f"Permission Set: {record['PermissionSetId']}",
                        )
                    ]
                )

    def _actor(self, user: User | None) -> tuple[str, Access]:
        """(the id written to CreatedById/OwnerId, the access checked) of a DML call."""
        if user is None:
            return self.user_id, SYSTEM
        return user.id, user.access

    def _system_values(self, record_id: str, now: datetime, user_id: str) -> dict:
        return {
            "Id": record_id,
            "IsDeleted": False,
            "CreatedDate": now,
            "LastModifiedDate": now,
            "SystemModstamp": now,
            "CreatedById": user_id,
            "LastModifiedById": user_id,
        }

    def _next_autonumber(self, obj: ObjectDef) -> str:
        prior = self._autonumbers.get(obj.name, 0)
        number = prior + 1
        self._autonumbers[obj.name] = number
        self._undo.append(lambda: self._autonumbers.__setitem__(obj.name, prior))
        return re.sub(
            r"\{(0+)\}", lambda m: str(number).zfill(len(m.group(1))), obj.name_format or "{0}"
        )

    def _existing(self, obj: ObjectDef, record_id: str) -> dict:
        full = ids.normalize(record_id)
        if full is None or full[:3] != obj.key_prefix:
            raise DmlFailure(
                [
                    RecordError(
                        "MALFORMED_ID",
                        f"{obj.label} ID: id value of incorrect type: {record_id}",
                        ["Id"],
                    )
                ]
            )
        record = self._records[obj.name].get(full)
        if record is None:
            if full in self._deleted[obj.name]:
                raise DmlFailure([RecordError("ENTITY_IS_DELETED", "entity is deleted")])
            raise DmlFailure(
                [RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")]
            )
        return record

    def _convert(self, obj: ObjectDef, body: dict) -> tuple[dict, dict]:
        """(field values, relationship references) of a body; ApiError for unknown fields/types."""
        values, references = {}, {}
        for key, raw in body.items():
            if key == "attributes":
                continue
            definition = obj.field(key)
            if definition is None and isinstance(raw, dict):
                reference = obj.parent_relationship(key)
                if reference is not None:
                    references[reference.name] = raw
                    continue
            if definition is None:
                raise ApiError(
                    400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}"
                )
            values[definition.name] = from_json(definition, raw)
        return values, references

    def _resolve_references(self, obj: ObjectDef, references: dict) -> dict:
        """Turn `"Parent": {"Ext__c": "v"}` into ParentId (errors as Salesforce words them)."""
        resolved, errors = {}, []
        for field_name, reference in references.items():
            definition = obj.field(field_name)
            target = self.schema.object(
                (reference.get("attributes") or {}).get("type") or definition.reference_to[0]
            )
            keys = [k for k in reference if k != "attributes"]
            if target is None or len(keys) != 1:
                errors.append(
                    RecordError(
                        "INVALID_FIELD",
                        f"Invalid foreign key relationship: {definition.relationship_name}",
                        [],
                    )
                )
                continue
            external = target.field(keys[0])
            if external is None or not (external.external_id or external.name == "Id"):
                errors.append(
                    RecordError(
                        "INVALID_FIELD",
                        f"Field name provided, {keys[0]} is not an External ID or indexed field for {target.name}",
                        [],
                    )
                )
                continue
            value = reference[keys[0]]
            matches = self.find(target, external, from_json(external, value))
            if len(matches) == 1:
                resolved[definition.name] = matches[0]
                continue
            verb = "not found" if not matches else "matched more than one record"
            errors.append(
                RecordError(
                    "INVALID_FIELD",
                    f"Foreign key external ID: {value} {verb} for field {external.name} in entity {target.name}",
                    [],
                )
            )
        if errors:
            raise DmlFailure(errors)
        return resolved

    def _match_key(self, definition: FieldDef, value: Any) -> Any:
        if definition.is_reference and isinstance(value, str):
            return ids.normalize(value) or value
        if isinstance(value, str) and not definition.case_sensitive:
            return value.lower()
        return value

    def _field_errors(self, obj: ObjectDef, record: dict) -> list[RecordError]:
        errors, missing = [], []
        for definition in obj.fields.values():
            value = record.get(definition.name)
            if definition.required and definition.createable and value in (None, ""):
                missing.append(definition.name)
                continue
            if value in (None, ""):
                continue
            errors += self._value_errors(obj, definition, value)
        if missing:
            errors.append(
                RecordError(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    missing,
                )
            )
        return errors

    def _value_errors(self, obj: ObjectDef, definition: FieldDef, value: Any) -> list[RecordError]:
        label, name = definition.label, definition.name
        if definition.type in TEXT_TYPES and definition.length and len(value) > definition.length:
            return [
                RecordError(
                    "STRING_TOO_LONG",
                    f"{label}: data value too large: {value} (max length={definition.length})",
                    [name],
                )
            ]
        if definition.restricted and definition.type in {"Picklist", MULTI_SELECT}:
            chosen = value.split(";") if definition.type == MULTI_SELECT else [value]
            unknown = [v for v in chosen if v not in definition.picklist_values]
            if unknown:
                return [
                    RecordError(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f"{label}: bad value for restricted picklist field: {unknown[0]}",
                        [name],
                    )
                ]
        if definition.type == "Email" and not _EMAIL.match(value):
            return [
                RecordError(
                    "INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {value}", [name]
                )
            ]
        if definition.type in NUMBER_TYPES and definition.precision:
            whole_digits = definition.precision - (definition.scale or 0)
            if abs(value) >= 10**whole_digits:
                return [
                    RecordError(
                        "NUMBER_OUTSIDE_VALID_RANGE",
                        f"{label}: value outside of valid range on numeric field: {value}",
                        [name],
                    )
                ]
        if definition.is_reference and definition.name != "Id":
            return self._reference_errors(definition, value)
        return []

    def _reference_errors(self, definition: FieldDef, value: str) -> list[RecordError]:
        full = ids.normalize(value)
        label = definition.label
        if full is None:
            return [
                RecordError(
                    "MALFORMED_ID",
                    f"{label}: id value of incorrect type: {value}",
                    [definition.name],
                )
            ]
        targets = [self.schema.object(t) for t in definition.reference_to]
        if not any(t is not None and t.key_prefix == full[:3] for t in targets):
            return [
                RecordError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    f"{label}: id value of incorrect type: {value}",
                    [definition.name],
                )
            ]
        if self.locate(full) is None:
            return [RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])]
        return []

    def _context(self, obj: ObjectDef, record: dict, prior: dict | None = None) -> formula.Context:
        return formula.Context(
            resolve=lambda path: self.value(obj, record, path),
            is_new=prior is None,
            resolve_prior=(lambda path: self.value(obj, prior, path)) if prior else None,
        )

    def _rule_errors(self, obj: ObjectDef, record: dict, prior: dict | None) -> list[RecordError]:
        errors = []
        for rule in obj.validation_rules:
            if rule.active and formula.evaluate(
                formula.parse(rule.formula), self._context(obj, record, prior)
            ):
                display = obj.field(rule.display_field) if rule.display_field else None
                errors.append(
                    RecordError(
                        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                        rule.message,
                        [display.name] if display else [],
                    )
                )
        return errors

    def _unique_errors(self, obj: ObjectDef, record: dict) -> list[RecordError]:
        errors = []
        for definition in obj.fields.values():
            value = record.get(definition.name)
            if not (definition.unique or definition.external_id and definition.unique) or value in (
                None,
                "",
            ):
                continue
            others = [i for i in self.find(obj, definition, value) if i != record.get("Id")]
            if others:
                errors.append(
                    RecordError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {definition.name} duplicates value on record with id: {others[0][:15]}",
                        [],
                    )
                )
        return errors

    def _validate(self, obj: ObjectDef, record: dict, prior: dict | None) -> None:
        for check in (
            lambda: self._field_errors(obj, record),
            lambda: self._rule_errors(obj, record, prior),
            lambda: self._unique_errors(obj, record),
        ):
            errors = check()
            if errors:
                raise DmlFailure(errors)

    def _summary(self, record: dict, definition: FieldDef) -> float:
        child_name, _, field_name = (definition.summary_foreign_key or "").partition(".")
        child = self.schema.object(child_name)
        if child is None or record.get("Id") is None:
            return 0.0
        return float(
            sum(1 for r in self._records[child.name].values() if r.get(field_name) == record["Id"])
        )

    def _masters(self, obj: ObjectDef, record: dict) -> list[tuple[ObjectDef, dict]]:
        """Master records whose roll-up summaries count `obj` through `record`."""
        found = []
        for definition in obj.fields.values():
            if definition.type != "MasterDetail" or not record.get(definition.name):
                continue
            master = self.locate(record[definition.name])
            if master is None:
                continue
            summary_key = f"{obj.name}.{definition.name}".lower()
            if any(
                (f.summary_foreign_key or "").lower() == summary_key
                for f in master[0].fields.values()
            ):
                found.append(master)
        return found

    def _recheck_masters(self, obj: ObjectDef, record: dict, savepoint: int) -> None:
        """A roll-up change saves the master again, so its validation rules run (and can fail)."""
        for master_obj, master in self._masters(obj, record):
            errors = self._rule_errors(master_obj, master, prior=master)
            if errors:
                self.rollback(savepoint)
                raise DmlFailure(errors)

    def _remove(self, obj: ObjectDef, record: dict) -> None:
        self._take(obj.name, record["Id"])
        # A delete is a change: Get Deleted reports SystemModstamp as the deletedDate.
        self._put_deleted(obj.name, record | {"IsDeleted": True, "SystemModstamp": self.clock()})
        for relationship in self.schema.child_relationships(obj.name):
            for child in list(self._records[relationship.child].values()):
                if child.get(relationship.field) != record["Id"]:
                    continue
                child_obj = self.schema.object(relationship.child)
                if relationship.cascade_delete:
                    self._remove(child_obj, child)
                else:
                    self._put(child_obj.name, child | {relationship.field: None})

    # ----------------------------------------------------------------- changes (journaled, indexed)
    # Every change to the stored records goes through these four, which keep the indexes right
    # and append the step that undoes it (`rollback`). Stored record dicts are never changed in
    # place: an update stores a new dict, so an undo step can hold the old one.

    def _put(self, name: str, record: dict) -> None:
        """Store a live record (new, or replacing the one with its id in the same position)."""
        rows, record_id = self._records[name], record["Id"]
        prior = rows.get(record_id)
        if prior is not None:
            self._unindex(name, prior)
        rows[record_id] = record
        self._index(name, record)
        if prior is None:
            self._undo.append(lambda: self._take(name, record_id, journal=False))
        else:
            self._undo.append(lambda: self._put_back(name, prior))
        self._written.append((len(self._undo) - 1, record_id))
        self._note_change(name, prior, record)

    def _take(self, name: str, record_id: str, *, journal: bool = True) -> None:
        """Remove a live record from the store (a delete then files it in the recycle bin)."""
        record = self._records[name].pop(record_id, None)
        if record is None:
            return
        self._unindex(name, record)
        if journal:
            self._undo.append(lambda: self._put_back(name, record))

    def _put_back(self, name: str, record: dict) -> None:
        """Undo step: restore a record where it was. Ids grow with creation time, so a record
        that comes back from a rolled-back delete is sorted back to its old position."""
        rows, record_id = self._records[name], record["Id"]
        prior = rows.get(record_id)
        if prior is not None:
            self._unindex(name, prior)
        last = next(reversed(rows), None)
        rows[record_id] = record
        self._index(name, record)
        if prior is None and last is not None and last > record_id:
            self._records[name] = dict(sorted(rows.items()))

    def _put_deleted(self, name: str, record: dict) -> None:
        deleted, record_id = self._deleted[name], record["Id"]
        prior = deleted.get(record_id)
        deleted[record_id] = record
        if prior is None:
            self._undo.append(lambda: deleted.pop(record_id, None))
        else:
            self._undo.append(lambda: deleted.__setitem__(record_id, prior))
        self._note_change(name, None, record, deleted=True)

    def _forget_deleted(self, name: str, record_id: str) -> None:
        """Take a record out of the recycle bin for good (hard delete)."""
        record = self._deleted[name].pop(record_id, None)
        if record is not None:
            self._undo.append(lambda: self._deleted[name].__setitem__(record_id, record))

    def _index(self, name: str, record: dict) -> None:
        indexes = self._indexes[name]
        for definition in self._indexed[name]:
            value = record.get(definition.name)
            if value is not None:
                key = self._match_key(definition, value)
                indexes[definition.name].setdefault(key, set()).add(record["Id"])

    def _unindex(self, name: str, record: dict) -> None:
        indexes = self._indexes[name]
        for definition in self._indexed[name]:
            value = record.get(definition.name)
            if value is None:
                continue
            key = self._match_key(definition, value)
            holders = indexes[definition.name].get(key)
            if holders is not None:
                holders.discard(record["Id"])
                if not holders:
                    del indexes[definition.name][key]

    @staticmethod
    def _indexed_fields(schema: Schema) -> dict[str, list[FieldDef]]:
        return {
            o.name: [f for f in o.fields.values() if f.unique or f.external_id]
            for o in schema.objects
        }

    def _reindex(self) -> None:
        self._indexes = {
            name: {d.name: {} for d in fields} for name, fields in self._indexed.items()
        }
        for name, rows in self._records.items():
            for record in rows.values():
                self._index(name, record)
