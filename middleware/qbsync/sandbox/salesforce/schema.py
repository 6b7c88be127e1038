"""The emulated org's schema: objects, fields and validation rules.

Read from the package's SFDX source (`force-app/**/objects/<Obj>/…`) on top of the standard objects in
`standard.py`, so the emulator accepts and rejects what an org with the package deployed would.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405 - parses our own repository's metadata only
from dataclasses import dataclass, field
from pathlib import Path

_NS = "{http://soap.sforce.com/2006/04/metadata}"

TEXT_TYPES = {"Text", "TextArea", "LongTextArea", "Email", "Phone", "Url", "Picklist", "AutoNumber"}
NUMBER_TYPES = {"Number", "Currency", "Percent", "Summary"}
REFERENCE_TYPES = {"Lookup", "MasterDetail", "Id"}
# Fields the platform fills in; never createable or updateable through the API.
READ_ONLY_TYPES = {"Id", "AutoNumber", "Summary", "Formula"}


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

    def __init__(self, objects: list[ObjectDef]) -> None:
        self._objects = {obj.name.lower(): obj for obj in objects}

    @property
    def objects(self) -> list[ObjectDef]:
        return list(self._objects.values())

    def object(self, name: str) -> ObjectDef | None:
        return self._objects.get(name.lower())

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


def _text(element: ET.Element, tag: str) -> str | None:
    found = element.find(_NS + tag)
    return found.text.strip() if found is not None and found.text else None


def _flag(element: ET.Element, tag: str) -> bool:
    return (_text(element, tag) or "false").lower() == "true"


def _int(element: ET.Element, tag: str) -> int | None:
    value = _text(element, tag)
    return int(value) if value else None


def _parse(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()  # noqa: S314 - our own repository's metadata files
    except ET.ParseError as error:
        raise SchemaError(f"{path}: not well-formed XML ({error})") from None


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


def parse_field(path: Path) -> FieldDef:
    """One `fields/<Name>.field-meta.xml` file."""
    root = _parse(path)
    name = _text(root, "fullName") or path.name.split(".")[0]
    field_type = _text(root, "type")
    formula = _text(root, "formula")
    if field_type is None and formula is None:
        raise SchemaError(f"{path}: missing <type>")
    field_type = field_type or "Text"
    definition = FieldDef(
        name=name,
        label=_text(root, "label") or name,
        type=field_type,
        length=_int(root, "length"),
        precision=_int(root, "precision"),
        scale=_int(root, "scale"),
        required=_flag(root, "required") or field_type == "MasterDetail",
        unique=_flag(root, "unique"),
        external_id=_flag(root, "externalId"),
        case_sensitive=_flag(root, "caseSensitive"),
        reference_to=[_text(root, "referenceTo")] if _text(root, "referenceTo") else [],
        delete_constraint=_text(root, "deleteConstraint") or "SetNull",
        summary_foreign_key=_text(root, "summaryForeignKey"),
        summary_operation=(_text(root, "summaryOperation") or "").lower() or None,
        formula=formula,
        custom=name.endswith("__c"),
    )
    if definition.is_reference:
        definition.relationship_name = name[:-3] + "__r" if name.endswith("__c") else None
        child = _text(root, "relationshipName")
        definition.child_relationship_name = f"{child}__r" if child else None
    if field_type == "LongTextArea" and definition.length is None:
        definition.length = 32768
    if field_type == "TextArea":
        definition.length = 255  # a custom TextArea always holds 255 characters
    if field_type == "Picklist" and definition.length is None:
        definition.length = 255
    if field_type == "Email":
        definition.length = 80
    if field_type == "Phone":
        definition.length = 40
    if field_type == "Url":
        definition.length = 255
    value_set = root.find(_NS + "valueSet")
    if value_set is not None:
        definition.restricted = _flag(value_set, "restricted")
        for value in value_set.iter(_NS + "value"):
            api_name = _text(value, "fullName")
            if api_name:
                definition.picklist_values.append(api_name)
                if _flag(value, "default"):
                    definition.picklist_default = api_name
    definition.default = _literal_default(_text(root, "defaultValue"), field_type)
    if field_type == "Checkbox" and definition.default is None:
        definition.default = False
    if definition.picklist_default is not None:
        definition.default = definition.picklist_default
    definition.defaulted_on_create = definition.default is not None
    return definition


def parse_validation_rule(path: Path) -> ValidationRule:
    root = _parse(path)
    formula = _text(root, "errorConditionFormula")
    message = _text(root, "errorMessage")
    if not formula or not message:
        raise SchemaError(f"{path}: a validation rule needs errorConditionFormula and errorMessage")
    return ValidationRule(
        name=_text(root, "fullName") or path.name.split(".")[0],
        formula=formula,
        message=message,
        display_field=_text(root, "errorDisplayField"),
        active=_flag(root, "active"),
    )


def _apply_object_meta(obj: ObjectDef, path: Path) -> None:
    root = _parse(path)
    obj.label = _text(root, "label") or obj.label
    obj.plural_label = _text(root, "pluralLabel") or obj.plural_label
    name_field = root.find(_NS + "nameField")
    if name_field is None or not obj.custom:
        return
    name = obj.field("Name")
    assert name is not None
    name.label = _text(name_field, "label") or name.label
    if _text(name_field, "type") == "AutoNumber":
        name.type = "AutoNumber"
        name.required = False
        name.defaulted_on_create = True
        obj.name_format = _text(name_field, "displayFormat") or "{0}"


def load_schema(force_app: Path | str | None) -> Schema:
    """Standard objects plus everything under `force_app` (None: standard objects only)."""
    from qbsync.sandbox.salesforce.standard import custom_object, standard_objects

    objects = {obj.name.lower(): obj for obj in standard_objects()}
    if force_app is None:
        return Schema(list(objects.values()))
    root = Path(force_app)
    if not root.is_dir():
        raise SchemaError(f"force-app directory not found: {root}")
    object_dirs = sorted(
        (d for d in root.glob("**/objects/*") if d.is_dir()), key=lambda d: d.name.lower()
    )
    custom_index = 0
    for directory in object_dirs:
        name = directory.name
        obj = objects.get(name.lower())
        if obj is None:
            if not name.endswith("__c"):
                raise SchemaError(f"{directory}: unknown standard object {name!r}")
            obj = custom_object(name, custom_index)
            custom_index += 1
            objects[name.lower()] = obj
        meta = directory / f"{name}.object-meta.xml"
        if meta.exists():
            _apply_object_meta(obj, meta)
        for field_path in sorted(directory.glob("fields/*.field-meta.xml")):
            definition = parse_field(field_path)
            if definition.type == "MasterDetail" and obj.field("OwnerId"):
                del obj.fields["ownerid"]  # detail records take their owner from the master
            obj.add(definition)
        for rule_path in sorted(directory.glob("validationRules/*.validationRule-meta.xml")):
            obj.validation_rules.append(parse_validation_rule(rule_path))
    schema = Schema(list(objects.values()))
    for obj in schema.objects:
        for rule in obj.validation_rules:
            _check_rule(schema, obj, rule)
    return schema


def _check_rule(schema: Schema, obj: ObjectDef, rule: ValidationRule) -> None:
    """Fail at start-up, naming the rule, if the emulator cannot evaluate it."""
    from qbsync.sandbox.salesforce import formula

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
