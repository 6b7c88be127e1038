"""The Metadata API's file-based deploy: a zip of package.xml and mdapi-format folders, loaded into
the running org all-or-nothing (Metadata API Developer Guide, "deploy()" and "DeployResult":
https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_deploy.htm,
https://developer.salesforce.com/docs/platform/api-metadata/references/result-objects/meta-deployresult.html).

What the emulator models is loaded: custom objects and their fields and validation rules (new and
changed ones, read by `qbsync_sandbox.force_app`, the reader the emulator's start-up uses) and
permission sets, whose grants apply to their users at once. Every other type the zip holds (Apex
classes, Lightning components, tabs, applications, layouts, static resources, …) is checked for
well-formed XML and recorded as deployed: the emulator runs no Apex and renders no UI.

A deploy runs on its own thread, as an org runs it asynchronously: Pending, then InProgress, then
Succeeded or Failed (or SucceededPartial with `rollbackOnError` false). `metadata_api.py` serves it
over REST (`deployRequest`) and SOAP (`deploy`, `checkDeployStatus`).
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath

from qbsync_sandbox import force_app as metadata
from qbsync_sandbox.emulators.salesforce.schema import (
    FIELD_TYPES,
    ObjectDef,
    Schema,
    SchemaError,
    check_rules,
    copy_schema,
    merge_object,
    selected_objects,
)
from qbsync_sandbox.emulators.salesforce.values import to_json

DEPLOY_PREFIX = "0Af"
# "You can deploy or retrieve up to 10,000 files at once … If the files are uncompressed in an
# unzipped folder, the size limit is 600 MB" (meta_rest_deploy.htm).
MAX_FILES = 10_000
MAX_UNZIPPED_BYTES = 600 * 1024 * 1024
_TEST_LEVELS_THAT_RUN = (
    "RunSpecifiedTests",
    "RunLocalTests",
    "RunAllTestsInOrg",
    "RunRelevantTests",
)
# mdapi folder -> (metadata type, file suffix). A bundle type's component is its folder.
FOLDERS = {
    "objects": ("CustomObject", ".object"),
    "permissionsets": ("PermissionSet", ".permissionset"),
    "classes": ("ApexClass", ".cls"),
    "triggers": ("ApexTrigger", ".trigger"),
    "pages": ("ApexPage", ".page"),
    "lwc": ("LightningComponentBundle", None),
    "aura": ("AuraDefinitionBundle", None),
    "tabs": ("CustomTab", ".tab"),
    "applications": ("CustomApplication", ".app"),
    "layouts": ("Layout", ".layout"),
    "flexipages": ("FlexiPage", ".flexipage"),
    "staticresources": ("StaticResource", ".resource"),
    "quickActions": ("QuickAction", ".quickAction"),
    "externalCredentials": ("ExternalCredential", ".externalCredential"),
    "namedCredentials": ("NamedCredential", ".namedCredential"),
    "remoteSiteSettings": ("RemoteSiteSetting", ".remoteSite"),
    "cspTrustedSites": ("CspTrustedSite", ".cspTrustedSite"),
    "customMetadata": ("CustomMetadata", ".md"),
    "labels": ("CustomLabels", ".labels"),
    "flows": ("Flow", ".flow"),
    "notificationtypes": ("CustomNotificationType", ".notiftype"),
    "platformEventChannelMembers": ("PlatformEventChannelMember", ".platformEventChannelMember"),
    "reports": ("Report", ".report"),
    "dashboards": ("Dashboard", ".dashboard"),
    "reportTypes": ("ReportType", ".reportType"),
    "email": ("EmailTemplate", ".email"),
}
# Files of the table's types that are not metadata XML (their `-meta.xml` beside them is).
NOT_XML = (".cls", ".trigger", ".page", ".resource", ".email")
# An object's children as package.xml names them (Object.Child), by their element in the .object.
CHILD_TYPES = {
    "fields": "CustomField",
    "validationRules": "ValidationRule",
    "listViews": "ListView",
}

# A clearly named subset of the limits scripts/package-checks/metadata-limits.mjs holds (that table
# is the reference; a deploy here checks only these): the developer-name rules and the 40-character
# API names and labels of custom objects and fields (customobject.htm, customfield.htm).
NAME_RULES = (
    (re.compile(r"^[A-Za-z0-9_]+$"), "may hold only letters, digits and underscores"),
    (re.compile(r"^[A-Za-z]"), "must begin with a letter"),
    (re.compile(r"[^_]$"), "must not end with an underscore"),
    (re.compile(r"^(?!.*__)"), "must not contain two consecutive underscores"),
)
NAME_LENGTH = 40
LABEL_LENGTH = 40


class DeployRequestError(Exception):
    """The request itself is unusable (not a zip): no deploy is created."""


@dataclass
class Component:
    """One component of the zip: its type, API name and the file that holds it."""

    type: str
    full_name: str
    file_name: str
    data: bytes = b""  # every file's bytes (what "changed" compares)
    xml_files: dict[str, bytes] = field(default_factory=dict)  # its metadata XML files by path


@dataclass
class Message:
    """One DeployMessage: a component's success or failure."""

    component: Component
    success: bool
    created: bool = False
    changed: bool = False
    problem: str | None = None
    line: int | None = None
    column: int | None = None

    def as_dict(self, created_date: datetime) -> dict:
        body = {
            "changed": self.changed,
            "componentType": self.component.type,
            "created": self.created,
            "createdDate": to_json(created_date),
            "deleted": False,
            "fileName": self.component.file_name,
            "fullName": self.component.full_name,
            "success": self.success,
        }
        if not self.success:
            body |= {"problem": self.problem, "problemType": "Error"}
            if self.line is not None:
                body |= {"lineNumber": self.line, "columnNumber": self.column or 1}
        return body


@dataclass
class Deployment:
    """One deploy request and its DeployResult as it stands."""

    id: str
    options: dict
    user_id: str
    user_name: str
    created_date: datetime
    status: str = "Pending"
    start_date: datetime | None = None
    completed_date: datetime | None = None
    total: int = 0
    deployed: int = 0
    messages: list[Message] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict, repr=False)
    error: str | None = None  # errorMessage: the deploy failed as a whole
    finished: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def done(self) -> bool:
        return self.status in ("Succeeded", "SucceededPartial", "Failed", "Canceled")

    def option(self, name: str, default: bool) -> bool:
        value = self.options.get(name, default)
        return value if isinstance(value, bool) else str(value).lower() == "true"

    def result(self, *, include_details: bool) -> dict:
        failures = [m.as_dict(self.created_date) for m in self.messages if not m.success]
        successes = [m.as_dict(self.created_date) for m in self.messages if m.success]
        body: dict = {
            "id": self.id,
            "canceledBy": None,
            "canceledByName": None,
            "checkOnly": self.option("checkOnly", False),
            "completedDate": to_json(self.completed_date) if self.completed_date else None,
            "createdBy": self.user_id,
            "createdByName": self.user_name,
            "createdDate": to_json(self.created_date),
            "details": None,
            "done": self.done,
            "errorMessage": self.error,
            "errorStatusCode": "UNKNOWN_EXCEPTION" if self.error else None,
            "ignoreWarnings": self.option("ignoreWarnings", False),
            "lastModifiedDate": to_json(
                self.completed_date or self.start_date or self.created_date
            ),
            "numberComponentErrors": len(failures),
            "numberComponentsDeployed": self.deployed,
            "numberComponentsTotal": self.total,
            "numberTestErrors": 0,
            "numberTestsCompleted": 0,
            "numberTestsTotal": 0,
            "rollbackOnError": self.option("rollbackOnError", True),
            # A test level that runs tests enables them, but the emulator runs no Apex: none run.
            "runTestsEnabled": self.options.get("testLevel") in _TEST_LEVELS_THAT_RUN,
            "startDate": to_json(self.start_date) if self.start_date else None,
            "stateDetail": None,
            "status": self.status,
            "success": self.status in ("Succeeded", "SucceededPartial"),
        }
        if include_details:
            body["details"] = {
                "componentFailures": failures,
                "componentSuccesses": successes,
                "runTestResult": {
                    "numFailures": 0,
                    "numTestsRun": 0,
                    "totalTime": 0,
                    "codeCoverage": [],
                    "failures": [],
                    "successes": [],
                },
            }
        return body


class Deployments:
    """The org's deploy requests by id; each runs on its own thread."""

    def __init__(self, org) -> None:
        self.org = org
        self._by_id: dict[str, Deployment] = {}
        self._lock = threading.Lock()
        # (type, full name) -> digest of what was last deployed: created vs changed vs unchanged.
        self._deployed: dict[tuple[str, str], str] = {}

    def start(self, zip_bytes: bytes, options: dict, user) -> Deployment:
        """A Pending deploy of the zip; it runs once `launch` is called (after the caller has
        answered with its Pending state)."""
        deployment = Deployment(
            id=self.org.new_id(DEPLOY_PREFIX),
            options=options,
            user_id=user.id,
            user_name=user.username,
            created_date=datetime.now(UTC),
            files=read_zip(zip_bytes),
        )
        with self._lock:
            self._by_id[deployment.id] = deployment
        return deployment

    def launch(self, deployment: Deployment) -> None:
        threading.Thread(
            target=self._run, args=(deployment,), name=f"deploy-{deployment.id}", daemon=True
        ).start()

    def wait(self, deploy_id: str, timeout: float = 30.0) -> Deployment:
        """The deploy once it is done (for tests and tools that wait for the outcome)."""
        deployment = self.get(deploy_id)
        if deployment is None or not deployment.finished.wait(timeout):
            raise TimeoutError(f"deploy {deploy_id} is not done after {timeout} s")
        return deployment

    def get(self, deploy_id: str) -> Deployment | None:
        with self._lock:
            return self._by_id.get(deploy_id) or next(
                (d for i, d in self._by_id.items() if i[:15] == deploy_id[:15]), None
            )

    def _run(self, deployment: Deployment) -> None:
        try:
            self._deploy(deployment)
        except Exception as error:  # a gap in the emulator: the deploy fails and says so
            deployment.error = f"Emulator: {type(error).__name__}: {error}"
            deployment.completed_date = datetime.now(UTC)
            deployment.status = "Failed"
        finally:
            deployment.files = {}
            deployment.finished.set()

    def _deploy(self, deployment: Deployment) -> None:
        deployment.start_date = datetime.now(UTC)
        deployment.status = "InProgress"
        with self.org.lock:  # one deploy at a time; records wait while the schema changes
            plan = plan_deploy(self.org.schema, deployment.files, self._deployed)
            deployment.total = len(plan.messages)
            deployment.messages = plan.messages
            failed = any(not m.success for m in plan.messages)
            rollback = deployment.option("rollbackOnError", True)
            apply = not deployment.option("checkOnly", False) and not (failed and rollback)
            apply = apply and not plan.fatal
            if apply:
                self.org.install_schema(plan.schema)
                for message in plan.messages:
                    if message.success:
                        key = (message.component.type, message.component.full_name)
                        self._deployed[key] = _digest(message.component.data)
                # A rolled-back deploy deployed nothing, so it counts 0 (UNCONFIRMED: the
                # guide defines the count, not its value after a rollback).
                deployment.deployed = sum(m.success for m in plan.messages)
        deployment.completed_date = datetime.now(UTC)
        if not failed:
            deployment.status = "Succeeded"
        else:
            deployment.status = "SucceededPartial" if apply and deployment.deployed else "Failed"


def read_zip(zip_bytes: bytes) -> dict[str, bytes]:
    """The zip's files by path, with a single top folder (`unpackaged/`) taken off."""
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
            if unzipped > MAX_UNZIPPED_BYTES or len(archive.infolist()) > MAX_FILES:
                raise DeployRequestError(
                    f"the deploy zip holds {len(archive.infolist())} files, {unzipped} bytes "
                    f"unzipped: at most {MAX_FILES} files and {MAX_UNZIPPED_BYTES} bytes"
                )
            files = {
                info.filename: archive.read(info)
                for info in archive.infolist()
                if not info.is_dir()
            }
    except (zipfile.BadZipFile, ValueError) as error:
        raise DeployRequestError(f"the deploy file is not a valid zip file ({error})") from None
    if "package.xml" not in files:
        tops = {name.split("/", 1)[0] for name in files}
        if len(tops) == 1 and f"{next(iter(tops))}/package.xml" in files:
            cut = len(next(iter(tops))) + 1
            files = {name[cut:]: data for name, data in files.items()}
    return files


@dataclass
class Plan:
    """What a deploy would do: the org's schema afterwards and a message per component."""

    schema: Schema
    messages: list[Message]
    fatal: bool = False  # nothing may be installed, even with rollbackOnError false


def plan_deploy(schema: Schema, files: dict[str, bytes], deployed: dict) -> Plan:
    """Check every component of `files` against a copy of `schema` and load what passes into it.
    A failed component leaves the copy as it was before that component."""
    working = copy_schema(schema)
    manifest = files.get("package.xml")
    if manifest is None:
        package_xml = Component("", "package.xml", "package.xml")
        return Plan(working, [Message(package_xml, False, problem="No package.xml found")])
    named, problem = _manifest(manifest)
    if problem:
        return Plan(working, [_failure(Component("", "package.xml", "package.xml"), problem)])
    components = _components(files, named)
    messages: list[Message] = []
    found = {(c.type, c.full_name) for c in components}
    for type_name, members in sorted(named.items()):
        for member in sorted(members - {"*"}):
            if (type_name, member) not in found:
                missing = Component(type_name, member, "package.xml")
                messages.append(
                    _failure(
                        missing,
                        f"An object '{member}' of type {type_name} was named in package.xml, "
                        "but was not found in zipped directory",
                    )
                )
    wanted = [c for c in components if _named(named, c)]
    object_files = [c for c in components if c.type == "CustomObject"]
    merged: list[tuple[str, list[Message]]] = []
    deploying = {c.full_name.lower() for c in object_files if _named(named, c)}
    for component in object_files:
        children = [c for c in wanted if c.type in CHILD_TYPES.values()]
        children = [c for c in children if c.file_name == component.file_name]
        if _named(named, component) or children:
            loaded, messages_of_object = _load_object(
                working, component, children, _named(named, component), deploying, deployed
            )
            if loaded is not None:
                working = loaded
                merged.append((component.full_name, messages_of_object))
            messages += messages_of_object
    # Validation rules are checked once every object is in: a rule may reach a parent deployed
    # after its object. A rule the emulator cannot evaluate fails its object and the whole deploy
    # (the schema already holds it), whatever rollbackOnError says.
    fatal = False
    for name, messages_of_object in merged:
        try:
            check_rules(working, working.object(name))
        except SchemaError as error:
            fatal = True
            failing = {id(m) for m in messages_of_object}
            messages = [
                _failure(m.component, str(error)) if id(m) in failing else m for m in messages
            ]
    for component in wanted:
        if component.type == "PermissionSet":
            messages.append(_load_permission_set(working, component, deployed))
        elif component.type == "PlatformEventChannelMember":
            messages.append(_load_channel_member(working, component, deployed))
        elif component.type not in ("CustomObject", *CHILD_TYPES.values()):
            messages.append(_record_only(component, deployed))
    return Plan(working, messages, fatal)


def _manifest(data: bytes) -> tuple[dict[str, set[str]], str | None]:
    try:
        root = metadata.parse_bytes(data, "package.xml")
    except metadata.MetadataError as error:
        return {}, f"Error parsing file: {error}"
    named: dict[str, set[str]] = {}
    for types in root.iterfind(metadata.MD + "types"):
        type_name = metadata.text(types, "name")
        if type_name:
            members = {(m.text or "").strip() for m in types.iterfind(metadata.MD + "members")}
            named.setdefault(type_name, set()).update(members)
    return named, None


def _named(named: dict[str, set[str]], component: Component) -> bool:
    members = named.get(component.type, set())
    return "*" in members or component.full_name in members


def _components(files: dict[str, bytes], named: dict[str, set[str]]) -> list[Component]:
    """Every component the zip's folders hold; an object's fields, validation rules and list views
    are components of their own, in the object's file. A component's name is its path under its
    type's folder without the suffix: `QBCatalog`, or `QB_Sync_Reports/QB_Sync_Failures` for a
    type kept in folders, whose folder (`reports/QB_Sync_Reports-meta.xml`) is `QB_Sync_Reports/`.
    """
    components: dict[tuple[str, str], Component] = {}
    for name in sorted(files):
        parts = PurePosixPath(name).parts
        if len(parts) < 2:
            continue
        type_name, suffix = FOLDERS.get(parts[0], (None, ""))
        if suffix is None:  # a bundle: lwc/<name>/...
            full_name, file_name = parts[1], f"{parts[0]}/{parts[1]}"
        else:
            full_name, file_name = _name_in_folder(parts, suffix)
        if type_name is None:  # a folder not in the table: the type package.xml names it under
            type_name = next((t for t, m in sorted(named.items()) if full_name in m), None)
        if type_name is None or full_name is None:
            continue
        component = components.setdefault(
            (type_name, full_name), Component(type_name, full_name, file_name)
        )
        component.data += files[name]
        if name.endswith("-meta.xml") or (suffix and not name.endswith(NOT_XML)):
            component.xml_files[name] = files[name]
        if type_name == "CustomObject" and name.endswith(".object"):
            components.update(_object_children(component, files[name]))
    return list(components.values())


def _name_in_folder(parts: tuple[str, ...], suffix: str) -> tuple[str | None, str]:
    """(full name, file) of a file under a type's folder; `suffix` "" when the type is unknown
    (then everything after the last segment's first dot is the suffix)."""
    relative = "/".join(parts[1:])
    file_name = "/".join(parts)
    meta = relative.endswith("-meta.xml")
    if meta:
        relative, file_name = relative[:-9], file_name[:-9]
    last = relative.rpartition("/")[2]
    if suffix and relative.endswith(suffix):
        return relative[: -len(suffix)], file_name
    if not suffix and "." in last:
        return relative[: len(relative) - len(last) + last.index(".")], file_name
    if meta and "." not in last:  # a folder's own metadata: reports/<Folder>-meta.xml
        return relative + "/", file_name
    return None, file_name


def _object_children(obj: Component, data: bytes) -> dict[tuple[str, str], Component]:
    try:
        root = metadata.parse_bytes(data, obj.file_name)
    except metadata.MetadataError:
        return {}  # reported on the object itself
    children = {}
    for element_name, type_name in CHILD_TYPES.items():
        for element in root.iterfind(metadata.MD + element_name):
            name = metadata.text(element, "fullName")
            if name:
                full_name = f"{obj.full_name}.{name}"
                children[(type_name, full_name)] = Component(type_name, full_name, obj.file_name)
    return children


def _load_object(
    working: Schema,
    component: Component,
    children: list[Component],
    whole: bool,
    deploying: set[str],
    deployed: dict,
) -> tuple[Schema | None, list[Message]]:
    """`working` with one object file merged into a copy of it, or None and why not (reported on
    the object, when package.xml names it, and on its named children). When package.xml names only
    some fields, rules or list views of the object, only those are loaded."""
    reported = [component, *children] if whole else children
    name = component.full_name
    try:
        root = metadata.parse_bytes(component.data, component.file_name)
        source = metadata.object_from_element(
            metadata.SObject(name=name, custom=name.endswith("__c")),
            root,
            PurePosixPath(component.file_name),
        )
    except metadata.MetadataError as error:
        line, column = _position(str(error))
        problem = f"Error parsing file: {_reason(error)}"
        return None, [_failure(c, problem, line, column) for c in reported]
    if not whole:
        listed = {c.full_name.partition(".")[2] for c in children}
        source.fields = {k: v for k, v in source.fields.items() if k in listed}
        source.validation_rules = {k: v for k, v in source.validation_rules.items() if k in listed}
    existing = working.object(name)
    problems: dict[str, str] = {}
    if existing is None and whole and not source.label:
        problems[name] = "Must specify a non-empty label for the CustomObject"
    elif existing is None and not whole:
        # Only fields of an object the org does not have. UNCONFIRMED wording (it follows the
        # platform's "In field: … - no … named … found" messages for a missing reference).
        for child in children:
            problems[child.full_name] = f"In field: fullName - no CustomObject named {name} found"
    if source.custom and whole:
        problems.update(_name_problems(name, name, source.label))
    for field_name, raw in source.fields.items():
        full_name = f"{name}.{field_name}"
        if field_name.endswith("__c"):
            problems.update(_name_problems(full_name, field_name, raw.get("label")))
        if raw.type and raw.type not in FIELD_TYPES:
            # UNCONFIRMED wording: the XML schema's enumeration check, as a deploy reports it.
            problems[full_name] = (
                f"Error parsing file: '{raw.type}' is not a valid value for the enum 'FieldType'"
            )
        target = raw.get("referenceTo")
        if target and working.object(target) is None and target.lower() not in deploying:
            problems[full_name] = f"In field: referenceTo - no CustomObject named {target} found"
    trial = None
    if not problems:
        trial = copy_schema(working)
        try:
            merge_object(trial, source, component.file_name)
        except SchemaError as error:
            problems[name if whole else children[0].full_name] = str(error)
    if problems:
        first = next(iter(problems.values()))
        return None, [
            _failure(c, problems.get(c.full_name, f"Not deployed: {first}")) for c in reported
        ]
    return trial, [_success(c, deployed, existed=_existed(existing, c)) for c in reported]


def _existed(obj: ObjectDef | None, component: Component) -> bool | None:
    """Whether the org had the component before this deploy (None: only earlier deploys know)."""
    child = component.full_name.partition(".")[2]
    if component.type == "CustomObject":
        return obj is not None
    if component.type == "CustomField":
        return obj is not None and obj.field(child) is not None
    if component.type == "ValidationRule":
        return obj is not None and any(r.name == child for r in obj.validation_rules)
    return None


def _load_permission_set(working: Schema, component: Component, deployed: dict) -> Message:
    name = component.full_name
    try:
        root = metadata.parse_bytes(component.data, component.file_name)
    except metadata.MetadataError as error:
        line, column = _position(str(error))
        return _failure(component, f"Error parsing file: {_reason(error)}", line, column)
    grants = metadata.permission_set_grants(name, root)
    # Custom objects and fields must exist; a standard object the emulator does not model
    # (UserExternalCredential, …) exists in every org and is taken as granted.
    for sobject in grants.objects:
        if sobject.endswith("__c") and working.object(sobject) is None:
            return _failure(component, f"In field: object - no CustomObject named {sobject} found")
    for path in grants.fields:
        sobject, _, field_name = path.partition(".")
        obj = working.object(sobject)
        if obj is None and not sobject.endswith("__c"):
            continue
        if obj is None or obj.field(field_name) is None:
            # The platform's wording for a permission set granting a field the org lacks.
            return _failure(component, f"In field: field - no CustomField named {path} found")
    existed = name in working.permission_sets
    working.permission_sets[name] = grants
    return _success(component, deployed, existed=existed)


def _load_channel_member(working: Schema, component: Component, deployed: dict) -> Message:
    """A member of the ChangeEvents channel turns Change Data Capture on for its object
    (change_events.py); members of other channels are recorded. UNCONFIRMED wording of the
    failure for an entity the org lacks."""
    message = _record_only(component, deployed)
    if not message.success:
        return message
    data = next(iter(component.xml_files.values()))
    entity = metadata.change_event_entity(metadata.parse_bytes(data, component.file_name))
    if entity is None:
        return message
    selected = selected_objects(working, {entity})
    if not selected:
        return _failure(component, f"selectedEntity: no change event entity named {entity}")
    working.change_events |= selected
    return message


def _record_only(component: Component, deployed: dict) -> Message:
    """A type the emulator does not model: its XML files must be well-formed; then it is
    recorded."""
    for path, data in component.xml_files.items():
        try:
            metadata.parse_bytes(data, path)
        except metadata.MetadataError as error:
            line, column = _position(str(error))
            return _failure(component, f"Error parsing file: {_reason(error)}", line, column)
    return _success(component, deployed, existed=None)


def _name_problems(full_name: str, api_name: str, label: str | None) -> dict[str, str]:
    """The developer-name rules and lengths (UNCONFIRMED wording; the rules are
    metadata-limits.mjs's, with their sources)."""
    bare = api_name.removesuffix("__c")
    for pattern, rule in NAME_RULES:
        if not pattern.search(bare):
            return {full_name: f"The API name {api_name} {rule}"}
    if len(bare) > NAME_LENGTH:
        return {full_name: f"The API name {api_name} is longer than {NAME_LENGTH} characters"}
    if label and len(label) > LABEL_LENGTH:
        return {full_name: f"The label of {full_name} is longer than {LABEL_LENGTH} characters"}
    return {}


def _success(component: Component, deployed: dict, *, existed: bool | None) -> Message:
    """`existed` None: the org knows the component only from earlier deploys."""
    key = (component.type, component.full_name)
    previous = deployed.get(key)
    known = existed if existed is not None else previous is not None
    return Message(
        component,
        True,
        created=not known,
        changed=known and previous != _digest(component.data),
    )


def _failure(
    component: Component, problem: str, line: int | None = None, column: int | None = None
) -> Message:
    return Message(component, False, problem=problem, line=line, column=column)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_POSITION = re.compile(r"line (\d+), column (\d+)")


def _position(message: str) -> tuple[int | None, int | None]:
    match = _POSITION.search(message)
    return (int(match.group(1)), int(match.group(2)) + 1) if match else (None, None)


def _reason(error: metadata.MetadataError) -> str:
    """The parser's reason without the file name MetadataError starts with. A deploy reports it
    as "Error parsing file: <reason>" with the line and column: UNCONFIRMED wording (the prefix as
    orgs' messages for unreadable files are commonly quoted; the reason is expat's)."""
    return str(error).split(": ", 1)[-1]
