"""Who may do what in the emulated org: a profile plus permission sets, read from force-app.

Every REST call runs as the session's user and is checked here, as an org checks it:

- **Object permissions** (Read, Create, Edit, Delete, View All, Modify All) are the union of the
  user's permission sets over the profile. Create, Edit and Delete need Read; Delete needs Edit;
  Modify All implies every other, View All implies Read (Salesforce Help, "Object Permissions").
- **Field-level security** is the union of the `fieldPermissions` entries; Edit needs Read.
  Fields that have no field-level security are readable whenever the object is, and writable
  whenever the object is creatable/editable and the field itself is: Id, the audit fields,
  OwnerId, the Name field, required fields and master-detail fields (Salesforce Help, "Field-Level
  Security": required fields cannot be hidden, so permission sets never list them; a deploy of a
  permission set naming one fails). The parts of a compound address (`BillingCity`, …) follow the
  address's entry (`Account.BillingAddress`), as Setup shows one row per address.

What the emulator assumes for the **minimum-access profile** the sandbox users have (the profile
"Minimum Access - API Only Integrations" docs/operating.md prescribes): no object permission on
any custom or standard object except Read on User and Organization with their fields (every
profile can see users' names and the org's; the Salesforce CLI reads both after a login) and
CustomNotificationType (whose Object Reference page names no special access rule), the API
Enabled user permission. Of the user permissions a permission set enables, the emulator acts on
Bulk API Hard Delete (`bulk.py`) and these two: View Setup and Configuration (`ViewSetup`) reads PermissionSet and PermissionSetAssignment
(Object Reference, both pages: "As of Summer '20 and later, only users who have one of these
permissions can access this object: View Setup and Configuration, …"), and Send Custom
Notifications (`SendCustomNotifications`) is required by the Send Custom Notification action
over REST ("In orgs created in Winter '21 or later", API Actions guide, Custom Notification
Actions). The emulator does not model record sharing (every record the user can read by object
permission is visible) or the System Administrator's other
permissions beyond "Modify All Data" (`all_data`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from qbsync_sandbox.emulators.salesforce.schema import FieldDef, ObjectDef
from qbsync_sandbox.force_app import FieldGrant, ObjectGrant, PermissionSetGrants

# Fields whose access follows the object's (no field-level security): see the module docstring.
_NO_FLS = {"id", "name", "ownerid", "isdeleted", "createddate", "createdbyid", "lastmodifieddate",
           "lastmodifiedbyid", "systemmodstamp"}  # fmt: skip
_ADDRESS_PARTS = ("Street", "City", "State", "PostalCode", "Country")
# The package's permission sets the sandbox users are assigned.
INTEGRATION_PERMISSION_SET = "QuickBooks_Sync_Integration"
ADMIN_PERMISSION_SET = "QuickBooks_Sync_Admin"
# The minimum-access profile: read on User, Organization and CustomNotificationType and their
# fields, nothing else.
_EVERYONE_READS = ("User", "Organization", "CustomNotificationType")
VIEW_SETUP = "ViewSetup"
SEND_CUSTOM_NOTIFICATIONS = "SendCustomNotifications"
# Objects View Setup and Configuration reads (see the module docstring).
_SETUP_OBJECTS = frozenset({"permissionset", "permissionsetassignment"})
MINIMUM_ACCESS = PermissionSetGrants(
    "Minimum Access - API Only Integrations",
    objects={name: ObjectGrant(read=True) for name in _EVERYONE_READS},
)
_USER_FIELDS_READABLE = FieldGrant(readable=True)
# Salesforce's "Standard User" profile, which the Apex tests' admin has under QuickBooks_Sync_Admin
# (QBTestFactory.createAdminUser), for the twin's runs of the shared rule cases. Assumed: Read,
# Create, Edit, Delete on Account and Contact, Read on Product2, and every standard field of those
# readable and editable (standard profiles show standard fields).
_CRED = ObjectGrant(read=True, create=True, edit=True, delete=True)
STANDARD_USER = PermissionSetGrants(
    "Standard User",
    objects={
        "Account": _CRED,
        "Contact": _CRED,
        "Product2": ObjectGrant(read=True),
        **{name: ObjectGrant(read=True) for name in _EVERYONE_READS},
    },
)
PROFILES = {"minimum": MINIMUM_ACCESS, "standard": STANDARD_USER}


@dataclass(frozen=True)
class ObjectAccess:
    read: bool = False
    create: bool = False
    edit: bool = False
    delete: bool = False


class Access:
    """A user's effective object permissions and field-level security."""

    def __init__(
        self,
        grants: Iterable[PermissionSetGrants],
        *,
        all_data: bool = False,
        standard_fields: bool = False,
    ) -> None:
        self.all_data = all_data
        # A standard profile's users see and edit the standard fields of the objects they access.
        self.standard_fields = standard_fields
        self.names = [g.name for g in grants]
        # Enabled user permissions (e.g. BulkApiHardDelete, which Bulk API's hardDelete needs).
        self.user_permissions: set[str] = set()
        self._objects: dict[str, ObjectGrant] = {}
        self._fields: dict[str, FieldGrant] = {}
        for grant in grants:
            self.user_permissions |= grant.user_permissions
            for name, permission in grant.objects.items():
                self._objects[name.lower()] = _union_object(
                    self._objects.get(name.lower()), permission
                )
            for name, permission in grant.fields.items():
                previous = self._fields.get(name.lower(), FieldGrant())
                self._fields[name.lower()] = FieldGrant(
                    readable=previous.readable or permission.readable or permission.editable,
                    editable=previous.editable or permission.editable,
                )

    def object(self, obj: ObjectDef) -> ObjectAccess:
        if self.all_data:
            return ObjectAccess(True, True, True, True)
        grant = self._objects.get(obj.name.lower(), ObjectGrant())
        if obj.name.lower() in _SETUP_OBJECTS and VIEW_SETUP in self.user_permissions:
            grant = _union_object(grant, ObjectGrant(read=True))
        if grant.modify_all:
            return ObjectAccess(True, True, True, True)
        read = grant.read or grant.view_all
        return ObjectAccess(
            read=read,
            create=read and grant.create,
            edit=read and grant.edit,
            delete=read and grant.edit and grant.delete,
        )

    def views_all(self, obj: ObjectDef) -> bool:
        """ "View All Records" on `obj` (or View All Data, Modify All): what a Change Data Capture
        subscriber needs to receive the object's change events (cdc_security_perms.htm)."""
        if self.all_data:
            return True
        grant = self._objects.get(obj.name.lower(), ObjectGrant())
        return grant.view_all or grant.modify_all

    def field(self, obj: ObjectDef, definition: FieldDef) -> FieldGrant:
        """Field-level security of `definition` (before the field's own writability)."""
        objects = self.object(obj)
        if not objects.read:
            return FieldGrant()
        if self.all_data or _without_fls(definition):
            return FieldGrant(readable=True, editable=objects.create or objects.edit)
        if obj.name in _EVERYONE_READS:
            return _USER_FIELDS_READABLE
        if self.standard_fields and not definition.custom:
            return FieldGrant(readable=True, editable=objects.create or objects.edit)
        grant = self._fields.get(_fls_key(obj, definition), FieldGrant())
        return FieldGrant(readable=grant.readable, editable=grant.readable and grant.editable)

    def readable(self, obj: ObjectDef, definition: FieldDef) -> bool:
        return self.field(obj, definition).readable

    def createable(self, obj: ObjectDef, definition: FieldDef) -> bool:
        """describe's `createable`: the field takes a value on insert for this user."""
        return (
            definition.createable
            and self.object(obj).create
            and self.field(obj, definition).editable
        )

    def updateable(self, obj: ObjectDef, definition: FieldDef) -> bool:
        """describe's `updateable`: the field takes a value on update for this user."""
        return (
            definition.updateable and self.object(obj).edit and self.field(obj, definition).editable
        )


SYSTEM = Access([], all_data=True)


@dataclass(frozen=True)
class User:
    """A user of the emulated org: who a session runs as and what it may do."""

    id: str
    username: str
    access: Access


def _union_object(first: ObjectGrant | None, second: ObjectGrant) -> ObjectGrant:
    if first is None:
        return second
    return ObjectGrant(
        *(a or b for a, b in zip(_flags(first), _flags(second), strict=True))  # type: ignore[arg-type]
    )


def _flags(grant: ObjectGrant) -> tuple[bool, ...]:
    return (grant.read, grant.create, grant.edit, grant.delete, grant.view_all, grant.modify_all)


def _without_fls(definition: FieldDef) -> bool:
    return (
        definition.name.lower() in _NO_FLS
        or definition.system
        or definition.required
        or definition.type == "MasterDetail"
    )


def _fls_key(obj: ObjectDef, definition: FieldDef) -> str:
    name = definition.name
    for part in _ADDRESS_PARTS:
        prefix = name[: -len(part)]
        if name.endswith(part) and prefix and not definition.custom:
            name = prefix + "Address"
            break
    return f"{obj.name}.{name}".lower()
