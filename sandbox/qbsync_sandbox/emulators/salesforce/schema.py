"""The emulated org's schema: objects, fields and validation rules.

Built from the package's source as `qbsync_sandbox.force_app` reads it, on top of the standard
objects in `standard.py`, so the emulator accepts and rejects what an org with the package deployed
would.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from qbsync_sandbox import force_app as metadata

TEXT_TYPES = {
    "Text", "TextArea", "LongTextArea", "Email", "Phone", "Url", "Picklist", "MultiselectPicklist",
    "AutoNumber",
}  # fmt: skip
# A multi-select picklist holds its values joined by ";" (SOQL and SOSL Reference, "Query
# Multi-Select Picklists").
MULTI_SELECT = "MultiselectPicklist"
NUMBER_TYPES = {"Number", "Currency", "Percent", "Summary"}
REFERENCE_TYPES = {"Lookup", "MasterDetail", "Id"}
# Fields the platform fills in; never createable or updateable through the API.
# An `Address` is a compound field: read-only, its value built from its component fields.
READ_ONLY_TYPES = {"Id", "AutoNumber", "Summary", "Formula", "Address"}
# The FieldType values a CustomField may declare (Metadata API Developer Guide, "Metadata Field
# Types": https://developer.salesforce.com/docs/atlas.en-us.api_meta.meta/api_meta/meta_field_types.htm).
FIELD_TYPES = {
    "AutoNumber", "Lookup", "MasterDetail", "MetadataRelationship", "Checkbox", "Currency", "Date",
    "DateTime", "Time", "Email", "EncryptedText", "ExternalLookup", "IndirectLookup", "Number",
    "Percent", "Phone", "Picklist", "MultiselectPicklist", "Summary", "Text", "TextArea",
    "LongTextArea", "Html", "Url", "Hierarchy", "File", "CustomDataType", "Location",
}  # fmt: skip


class SchemaError(Exception):
    """The metadata could not be read (names the file and what is wrong)."""


@dataclass
class FieldDef:
    """One field as the emulator enforces it (metadata type names, e.g. `Text`, `MasterDetail`)."""

    name: str
    label: str
    type: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    required: bool = False
    unique: bool = False
    external_id: bool = False
    case_sensitive: bool = False
    default: object = None  # Python value used when the field is omitted on create
    reference_to: list[str] = field(default_factory=list)
    relationship_name: str | None = None  # parent side, e.g. "Company__r", "Parent"
    child_relationship_name: str | None = None  # e.g. "Field_Mappings__r"
    delete_constraint: str = "SetNull"
    picklist_values: list[str] = field(default_factory=list)
    picklist_default: str | None = None
    restricted: bool = False
    summary_foreign_key: str | None = None  # "Child__c.Master__c"
    summary_operation: str | None = None
    formula: str | None = None
    custom: bool = False
    system: bool = False  # platform audit fields (CreatedDate, …)
    defaulted_on_create: bool = False
    compound_field_name: str | None = None  # e.g. "BillingAddress" for BillingCity

    @property
    def createable(self) -> bool:
        return not self.system and self.type not in READ_ONLY_TYPES and self.formula is None

    @property
    def updateable(self) -> bool:
        return self.createable and self.type != "MasterDetail"

    @property
    def is_reference(self) -> bool:
        return self.type in REFERENCE_TYPES

    @property
    def nillable(self) -> bool:
        if self.type in {"Checkbox", "Id", "Summary"} or self.system:
            return False
        return not self.required


@dataclass
class ValidationRule:
    name: str
    formula: str
    message: str
    display_field: str | None
    active: bool = True


@dataclass
class ObjectDef:
    name: str
    label: str
    plural_label: str
    key_prefix: str
    custom: bool
    fields: dict[str, FieldDef] = field(default_factory=dict)  # lower-case name -> field
    validation_rules: list[ValidationRule] = field(default_factory=list)
    name_format: str | None = None  # AutoNumber display format, e.g. "OM-{0000}"

    def field(self, name: str) -> FieldDef | None:
        return self.fields.get(name.lower())

    def add(self, definition: FieldDef) -> None:
        self.fields[definition.name.lower()] = definition

    def parent_relationship(self, name: str) -> FieldDef | None:
        """The reference field behind a parent relationship name (`Company__r`, `Parent`)."""
        lowered = name.lower()
        for definition in self.fields.values():
            if definition.relationship_name and definition.relationship_name.lower() == lowered:
                return definition
        return None


@dataclass(frozen=True)
class ChildRelationship:
    name: str  # e.g. "Field_Mappings__r"
    child: str  # child object API name
    field: str  # reference field on the child
    cascade_delete: bool


class Schema:
    """Every object of the emulated org, looked up case-insensitively."""

    def __init__(
        self,
        objects: list[ObjectDef],
        permission_sets: dict[str, metadata.PermissionSetGrants] | None = None,
        notification_types: dict[str, metadata.NotificationType] | None = None,
        change_events: set[str] | None = None,
    ) -> None:
        self._objects = {obj.name.lower(): obj for obj in objects}
        # The package's permission sets by API name (what the sandbox users are assigned).
        self.permission_sets = permission_sets or {}
        # The package's custom notification types by API name (CustomNotificationType records).
        self.notification_types = notification_types or {}
        # The objects selected for Change Data Capture (PlatformEventChannelMember of the
        # ChangeEvents channel), by API name as the schema spells it.
        self.change_events: set[str] = set(change_events or ())

    @property
    def objects(self) -> list[ObjectDef]:
        return list(self._objects.values())

    def object(self, name: str) -> ObjectDef | None:
        return self._objects.get(name.lower())

    def add(self, obj: ObjectDef) -> None:
        self._objects[obj.name.lower()] = obj

    def by_prefix(self, key_prefix: str) -> ObjectDef | None:
        return next((o for o in self._objects.values() if o.key_prefix == key_prefix), None)

    def child_relationships(self, parent: str) -> list[ChildRelationship]:
        found = []
        for obj in self._objects.values():
            for definition in obj.fields.values():
                if definition.child_relationship_name and parent.lower() in (
                    r.lower() for r in definition.reference_to
                ):
                    found.append(
                        ChildRelationship(
                            definition.child_relationship_name,
                            obj.name,
                            definition.name,
                            definition.type == "MasterDetail",
                        )
                    )
        return found

    def child_relationship(self, parent: str, name: str) -> ChildRelationship | None:
        return next(
            (r for r in self.child_relationships(parent) if r.name.lower() == name.lower()), None
        )


def _int(raw: metadata.Field, tag: str) -> int | None:
    value = raw.get(tag)
    return int(value) if value else None


def _literal_default(raw: str | None, field_type: str) -> object:
    """The value of a simple `defaultValue` (a formula literal); complex formulas are ignored."""
    if raw is None:
        return None
    if field_type == "Checkbox":
        return raw.lower() == "true"
    stripped = raw.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
        return stripped[1:-1]
    try:
        return float(stripped)
    except ValueError:
        return None


def field_def(raw: metadata.Field) -> FieldDef:
    """One field as the package's metadata declares it."""
    name = raw.name
    field_type = raw.type
    formula = raw.get("formula")
    if field_type is None and formula is None:
        raise SchemaError(f"{raw.path}: missing <type>")
    field_type = field_type or "Text"
    if field_type not in FIELD_TYPES:
        raise SchemaError(f"{raw.path}: {name}: unknown field type {field_type!r}")
    definition = FieldDef(
        name=name,
        label=raw.get("label") or name,
        type=field_type,
        length=_int(raw, "length"),
        precision=_int(raw, "precision"),
        scale=_int(raw, "scale"),
        required=raw.flag("required") or field_type == "MasterDetail",
        unique=raw.flag("unique"),
        external_id=raw.flag("externalId"),
        case_sensitive=raw.flag("caseSensitive"),
        reference_to=[raw.attrs["referenceTo"]] if raw.get("referenceTo") else [],
        delete_constraint=raw.get("deleteConstraint") or "SetNull",
        summary_foreign_key=raw.get("summaryForeignKey"),
        summary_operation=(raw.get("summaryOperation") or "").lower() or None,
        formula=formula,
        custom=name.endswith("__c"),
        picklist_values=list(raw.picklist_values),
        picklist_default=raw.picklist_default,
        restricted=raw.restricted,
    )
    if definition.is_reference:
        definition.relationship_name = name[:-3] + "__r" if name.endswith("__c") else None
        child = raw.get("relationshipName")
        definition.child_relationship_name = f"{child}__r" if child else None
    if field_type == "LongTextArea" and definition.length is None:
        definition.length = 32768
    if field_type == "TextArea":
        definition.length = 255  # a custom TextArea always holds 255 characters
    if field_type == "Picklist" and definition.length is None:
        definition.length = 255
    if field_type == MULTI_SELECT and definition.length is None:
        definition.length = 4099  # UNCONFIRMED: the describe length orgs report for one
    if field_type == "Email":
        definition.length = 80
    if field_type == "Phone":
        definition.length = 40
    if field_type == "Url":
        definition.length = 255
    definition.default = _literal_default(raw.get("defaultValue"), field_type)
    if field_type == "Checkbox" and definition.default is None:
        definition.default = False
    if definition.picklist_default is not None:
        definition.default = definition.picklist_default
    definition.defaulted_on_create = definition.default is not None
    return definition


def validation_rule(name: str, attrs: dict[str, str], where: str) -> ValidationRule:
    formula = attrs.get("errorConditionFormula")
    message = attrs.get("errorMessage")
    if not formula or not message:
        raise SchemaError(
            f"{where}: a validation rule needs errorConditionFormula and errorMessage"
        )
    return ValidationRule(
        name=attrs.get("fullName") or name,
        formula=formula,
        message=message,
        display_field=attrs.get("errorDisplayField") or None,
        active=attrs.get("active", "").lower() == "true",
    )


def _apply_object_meta(obj: ObjectDef, source: metadata.SObject) -> None:
    obj.label = source.label or obj.label
    obj.plural_label = source.plural_label or obj.plural_label
    if source.name_field is None or not obj.custom:
        return
    name = obj.field("Name")
    assert name is not None
    name.label = source.name_field.get("label") or name.label
    if source.name_field.get("type") == "AutoNumber":
        name.type = "AutoNumber"
        name.required = False
        name.defaulted_on_create = True
        obj.name_format = source.name_field.get("displayFormat") or "{0}"


def load_schema(force_app: Path | str | None) -> Schema:
    """Standard objects plus everything under `force_app` (None: standard objects only)."""
    from qbsync_sandbox.emulators.salesforce.standard import standard_objects

    schema = Schema(standard_objects())
    if force_app is None:
        return schema
    try:
        package = metadata.load_package(force_app)
    except metadata.MetadataError as error:
        raise SchemaError(str(error)) from None
    for name in sorted(package.objects, key=str.lower):
        merge_object(schema, package.objects[name], str(force_app))
    for name, root in package.permission_sets.items():
        schema.permission_sets[name] = metadata.permission_set_grants(name, root)
    schema.notification_types = dict(package.notification_types)
    schema.change_events = selected_objects(schema, package.change_event_entities)
    for obj in schema.objects:
        check_rules(schema, obj)
    return schema


def copy_schema(schema: Schema) -> Schema:
    """An independent copy to change (a deploy changes a copy and swaps it in when all is well)."""
    return Schema(
        copy.deepcopy(schema.objects),
        dict(schema.permission_sets),
        dict(schema.notification_types),
        set(schema.change_events),
    )


def selected_objects(schema: Schema, entities: set[str]) -> set[str]:
    """The objects of `schema` the change event entities (`QB_Sync_Log__ChangeEvent`) select."""
    from qbsync_sandbox.emulators.salesforce.change_events import object_of_entity

    selected = set()
    for entity in entities:
        name = object_of_entity(entity)
        obj = schema.object(name) if name else None
        if obj is not None:
            selected.add(obj.name)
    return selected


def merge_object(schema: Schema, source: metadata.SObject, where: str) -> ObjectDef:
    """Add `source` (an object's metadata) to `schema`: a new custom object, or new and changed
    fields, labels and validation rules of an existing one (fields it does not name stay, as a
    Metadata API deploy leaves them). Raises SchemaError naming what is wrong."""
    from qbsync_sandbox.emulators.salesforce.standard import custom_object

    obj = schema.object(source.name)
    if obj is None:
        if not source.name.endswith("__c"):
            raise SchemaError(f"{where}: unknown standard object {source.name!r}")
        obj = custom_object(source.name, sum(o.custom for o in schema.objects))
        schema.add(obj)
    _apply_object_meta(obj, source)
    for raw in sorted(source.fields.values(), key=lambda f: (f.path.name, f.name)):
        definition = field_def(raw)
        if definition.type == "MasterDetail" and obj.field("OwnerId"):
            del obj.fields["ownerid"]  # detail records take their owner from the master
        obj.add(definition)
    for rule_name, attrs in source.validation_rules.items():
        rule = validation_rule(rule_name, attrs, f"{source.name}.{rule_name}")
        obj.validation_rules = [r for r in obj.validation_rules if r.name != rule.name] + [rule]
    return obj


def check_rules(schema: Schema, obj: ObjectDef) -> None:
    """Fail, naming the rule, if the emulator cannot evaluate one of `obj`'s validation rules."""
    for rule in obj.validation_rules:
        _check_rule(schema, obj, rule)


def _check_rule(schema: Schema, obj: ObjectDef, rule: ValidationRule) -> None:
    """Fail at start-up, naming the rule, if the emulator cannot evaluate it."""
    from qbsync_sandbox.emulators.salesforce import formula

    try:
        tree = formula.parse(rule.formula)
    except formula.FormulaError as error:
        raise SchemaError(f"validation rule {obj.name}.{rule.name}: {error}") from None
    for path in formula.field_references(tree):
        current = obj
        *relationships, name = path.split(".")
        for relationship in relationships:
            reference = current.parent_relationship(relationship)
            target = schema.object(reference.reference_to[0]) if reference else None
            if target is None:
                raise SchemaError(f"validation rule {obj.name}.{rule.name}: unknown {path}")
            current = target
        if current.field(name) is None:
            raise SchemaError(f"validation rule {obj.name}.{rule.name}: unknown field {path}")
