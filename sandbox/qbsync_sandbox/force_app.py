"""The one reader of the package's metadata XML: objects, fields, validation rules, list views,
permission sets, tabs, applications, Apex classes, External Credential principals, custom
notification types, report types, reports and dashboards.

It reads two layouts of the same XML. The source format of `force-app` (one file per field, rule and
list view under `objects/<Name>/`), at the emulator's start; and the Metadata API format of a deploy
zip (`objects/<Name>.object` holding its `fields`, `validationRules` and `listViews` as child
elements), read by the emulator's deploy (`emulators/salesforce/deploy.py`) through
`object_from_element` and `parse_bytes`. The Salesforce emulator builds its schema from what this
returns (`emulators/salesforce/schema.py`) and the package tests check across files with it
(`tests/package/metadata_checks.py`). It reads the metadata as written and interprets nothing: what a
field type means is the reader's caller's business.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET  # noqa: S405 - parses our own repository's metadata only
from dataclasses import dataclass, field
from pathlib import Path

MD = "{http://soap.sforce.com/2006/04/metadata}"
# Where the tree is when the caller does not say: `QBSYNC_FORCE_APP`, else `force-app` beside the
# `sfdx-project.json` of the working directory or its nearest parent that has one.
FORCE_APP_ENV = "QBSYNC_FORCE_APP"
# Fields every object has without metadata in force-app.
IMPLIED_FIELDS = {"Id": "Id", "Name": "Text"}


class MetadataError(Exception):
    """A metadata file could not be read (names the file and what is wrong)."""


def force_app_dir(start: Path | None = None) -> Path:
    """The package's source tree: `$QBSYNC_FORCE_APP`, else found from `start` (the cwd) upwards."""
    configured = os.environ.get(FORCE_APP_ENV)
    if configured:
        path = Path(configured)
        if not path.is_dir():
            raise MetadataError(f"{FORCE_APP_ENV}={configured}: no such directory")
        return path
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "sfdx-project.json").is_file() and (directory / "force-app").is_dir():
            return directory / "force-app"
    raise MetadataError(
        f"no force-app found from {here} upwards (no sfdx-project.json beside a force-app "
        f"folder); run from the repository or set {FORCE_APP_ENV}"
    )


def local_name(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]


def text(element: ET.Element, tag: str) -> str | None:
    """The stripped text of the child `tag`; None when there is no such child or it is empty."""
    found = element.find(MD + tag)
    return found.text.strip() if found is not None and found.text else None


def flag(element: ET.Element, tag: str) -> bool:
    return (text(element, tag) or "false").lower() == "true"


def parse(path: Path) -> ET.Element:
    return parse_bytes(path.read_bytes(), str(path))


def parse_bytes(data: bytes, where: str) -> ET.Element:
    """The root element of one metadata file's bytes; `where` names the file in the error."""
    try:
        return ET.fromstring(data)  # noqa: S314 - metadata files, no entity expansion in expat
    except ET.ParseError as error:
        raise MetadataError(f"{where}: not well-formed XML ({error})") from None


def _children(root: ET.Element) -> dict[str, str]:
    """Each simple child element's text by its name (`type`, `length`, `externalId`, …)."""
    return {local_name(child): (child.text or "").strip() for child in root if len(child) == 0}


@dataclass
class Field:
    """One `fields/<Name>.field-meta.xml`: its simple elements as written, and its value set."""

    name: str
    type: str | None
    attrs: dict[str, str]
    path: Path
    picklist_values: list[str] = field(default_factory=list)
    picklist_default: str | None = None
    restricted: bool = False

    def flag(self, name: str) -> bool:
        return self.attrs.get(name, "").lower() == "true"

    def get(self, name: str) -> str | None:
        return self.attrs.get(name) or None


@dataclass
class SObject:
    """One `objects/<Name>/` folder (a standard object's folder holds only what the package adds)."""

    name: str
    custom: bool
    label: str | None = None
    plural_label: str | None = None
    name_field: dict[str, str] | None = None  # `nameField` of a custom object: label, type, …
    fields: dict[str, Field] = field(default_factory=dict)
    validation_rules: dict[str, dict[str, str]] = field(default_factory=dict)
    list_views: dict[str, ET.Element] = field(default_factory=dict)

    @property
    def name_field_type(self) -> str | None:
        return (self.name_field or {}).get("type")

    def field_type(self, name: str) -> str | None:
        """The declared type of `name`; `Id` and `Name` exist on every object without metadata."""
        if name in self.fields:
            return self.fields[name].type
        if name == "Name" and self.name_field_type:
            return self.name_field_type
        return IMPLIED_FIELDS.get(name)


@dataclass
class Package:
    objects: dict[str, SObject]
    permission_sets: dict[str, ET.Element]
    tabs: set[str]
    applications: set[str]
    classes: set[str]
    # "<External Credential>-<principal>", as permission sets name principals.
    credential_principals: set[str] = field(default_factory=set)
    notification_types: dict[str, NotificationType] = field(default_factory=dict)
    # Change event entities selected on the standard ChangeEvents channel
    # (`QB_Sync_Log__ChangeEvent`): the objects with Change Data Capture on.
    change_event_entities: set[str] = field(default_factory=set)
    report_types: dict[str, ET.Element] = field(default_factory=dict)
    # Reports and dashboards by "<folder>/<name>", as dashboards name their reports.
    reports: dict[str, ET.Element] = field(default_factory=dict)
    dashboards: dict[str, ET.Element] = field(default_factory=dict)


@dataclass(frozen=True)
class NotificationType:
    """One `notificationtypes/<Name>.notiftype-meta.xml` (CustomNotificationType)."""

    name: str
    label: str
    desktop: bool
    mobile: bool
    description: str | None = None


def stem(path: Path) -> str:
    return path.name.split(".")[0]


def read_field(path: Path) -> Field:
    return field_from_element(parse(path), path, stem(path))


def field_from_element(root: ET.Element, path: Path, default_name: str | None = None) -> Field:
    """One field: a source-format field file's root, or a `fields` element of an mdapi object."""
    attrs = _children(root)
    name = attrs.get("fullName") or default_name
    if not name:
        raise MetadataError(f"{path}: a field without <fullName>")
    definition = Field(name=name, type=attrs.get("type"), attrs=attrs, path=path)
    value_set = root.find(MD + "valueSet")
    if value_set is not None:
        definition.restricted = flag(value_set, "restricted")
        for value in value_set.iter(MD + "value"):
            api_name = text(value, "fullName")
            if api_name:
                definition.picklist_values.append(api_name)
                if flag(value, "default"):
                    definition.picklist_default = api_name
    return definition


def read_object(folder: Path) -> SObject:
    name = folder.name
    sobject = SObject(name=name, custom=name.endswith("__c"))
    object_file = folder / f"{name}.object-meta.xml"
    if object_file.exists():
        object_from_element(sobject, parse(object_file), object_file)
    for path in sorted(folder.glob("fields/*.field-meta.xml")):
        parsed = read_field(path)
        sobject.fields[parsed.name] = parsed
    for path in sorted(folder.glob("validationRules/*.validationRule-meta.xml")):
        sobject.validation_rules[stem(path)] = _children(parse(path))
    for path in sorted(folder.glob("listViews/*.listView-meta.xml")):
        sobject.list_views[stem(path)] = parse(path)
    return sobject


def object_from_element(sobject: SObject, root: ET.Element, path: Path) -> SObject:
    """Fill `sobject` from a CustomObject root: a source-format `.object-meta.xml` (object-level
    elements only) or an mdapi `.object`, whose fields, validation rules and list views are child
    elements with their `fullName`."""
    sobject.label = text(root, "label")
    sobject.plural_label = text(root, "pluralLabel")
    name_field = root.find(MD + "nameField")
    if name_field is not None:
        sobject.name_field = _children(name_field)
    for element in root.iterfind(MD + "fields"):
        parsed = field_from_element(element, path)
        sobject.fields[parsed.name] = parsed
    for element in root.iterfind(MD + "validationRules"):
        attrs = _children(element)
        if not attrs.get("fullName"):
            raise MetadataError(f"{path}: a validation rule without <fullName>")
        sobject.validation_rules[attrs["fullName"]] = attrs
    for element in root.iterfind(MD + "listViews"):
        name = text(element, "fullName")
        if not name:
            raise MetadataError(f"{path}: a list view without <fullName>")
        sobject.list_views[name] = element
    return sobject


def load_package(force_app: Path | str) -> Package:
    """Everything under `force_app`, in every package directory it holds."""
    root = Path(force_app)
    if not root.is_dir():
        raise MetadataError(f"force-app directory not found: {root}")
    folders = sorted((d for d in root.glob("**/objects/*") if d.is_dir()), key=lambda d: d.name)
    return Package(
        objects={folder.name: read_object(folder) for folder in folders},
        permission_sets={
            stem(p): parse(p) for p in sorted(root.glob("**/*.permissionset-meta.xml"))
        },
        tabs={stem(p) for p in root.glob("**/*.tab-meta.xml")},
        applications={stem(p) for p in root.glob("**/*.app-meta.xml")},
        classes={stem(p) for p in root.rglob("*.cls")},
        credential_principals=_credential_principals(root),
        notification_types=_notification_types(root),
        change_event_entities=_change_event_entities(root),
        report_types={stem(p): parse(p) for p in sorted(root.glob("**/*.reportType-meta.xml"))},
        reports=_in_folders(root, "reports", ".report-meta.xml"),
        dashboards=_in_folders(root, "dashboards", ".dashboard-meta.xml"),
    )


def _in_folders(root: Path, kind: str, suffix: str) -> dict[str, ET.Element]:
    """Files of `kind` (reports, dashboards) by "<folder>/<name>"."""
    return {
        f"{path.parent.name}/{stem(path)}": parse(path)
        for path in sorted(root.glob(f"**/{kind}/*/*{suffix}"))
    }


@dataclass(frozen=True)
class ObjectGrant:
    """One `objectPermissions` entry of a permission set."""

    read: bool = False
    create: bool = False
    edit: bool = False
    delete: bool = False
    view_all: bool = False
    modify_all: bool = False


@dataclass(frozen=True)
class FieldGrant:
    """One `fieldPermissions` entry of a permission set."""

    readable: bool = False
    editable: bool = False


@dataclass
class PermissionSetGrants:
    """What a permission set grants on data: object permissions by object name and field
    permissions by `Object.Field`, both as written in the file (case kept), and the enabled user
    permissions by name (`ApiEnabled`, `BulkApiHardDelete`)."""

    name: str
    objects: dict[str, ObjectGrant] = field(default_factory=dict)
    fields: dict[str, FieldGrant] = field(default_factory=dict)
    label: str = ""
    user_permissions: set[str] = field(default_factory=set)


def permission_set_grants(name: str, root: ET.Element) -> PermissionSetGrants:
    """The object, field and user permissions of a parsed `*.permissionset-meta.xml`."""
    grants = PermissionSetGrants(name, label=text(root, "label") or name)
    for entry in root.iterfind(MD + "objectPermissions"):
        sobject = text(entry, "object")
        if sobject:
            grants.objects[sobject] = ObjectGrant(
                read=flag(entry, "allowRead"),
                create=flag(entry, "allowCreate"),
                edit=flag(entry, "allowEdit"),
                delete=flag(entry, "allowDelete"),
                view_all=flag(entry, "viewAllRecords"),
                modify_all=flag(entry, "modifyAllRecords"),
            )
    for entry in root.iterfind(MD + "fieldPermissions"):
        name_of_field = text(entry, "field")
        if name_of_field:
            grants.fields[name_of_field] = FieldGrant(
                readable=flag(entry, "readable"), editable=flag(entry, "editable")
            )
    for entry in root.iterfind(MD + "userPermissions"):
        if text(entry, "name") and flag(entry, "enabled"):
            grants.user_permissions.add(text(entry, "name"))
    return grants


def _credential_principals(root: Path) -> set[str]:
    principals = set()
    for path in root.glob("**/*.externalCredential-meta.xml"):
        for parameter in parse(path).iterfind(MD + "externalCredentialParameters"):
            if text(parameter, "parameterType") in ("NamedPrincipal", "PerUserPrincipal"):
                principals.add(f"{stem(path)}-{text(parameter, 'parameterName')}")
    return principals


def change_event_entity(element: ET.Element) -> str | None:
    """The entity a PlatformEventChannelMember selects on the standard ChangeEvents channel, or
    None for a member of another channel (Change Data Capture Developer Guide, "Select Objects for
    Change Notifications with the Metadata API")."""
    if text(element, "eventChannel") != "ChangeEvents":
        return None
    return text(element, "selectedEntity")


def _change_event_entities(root: Path) -> set[str]:
    entities = set()
    for path in root.glob("**/*.platformEventChannelMember-meta.xml"):
        entity = change_event_entity(parse(path))
        if entity:
            entities.add(entity)
    return entities


def _notification_types(root: Path) -> dict[str, NotificationType]:
    types = {}
    for path in sorted(root.glob("**/*.notiftype-meta.xml")):
        element = parse(path)
        name = stem(path)
        types[name] = NotificationType(
            name=name,
            label=text(element, "masterLabel") or name,
            desktop=flag(element, "desktop"),
            mobile=flag(element, "mobile"),
            description=text(element, "description"),
        )
    return types
