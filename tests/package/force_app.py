"""A small reader of the force-app source tree, and the cross-reference checks run on it.

The Metadata API schema checks each file on its own; these checks look across files: the
middleware's objects and fields exist with the declared type, permission sets name only what the
package defines, validation rules and list views reference real fields.
"""

from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass, field

from lxml import etree

MD = "{http://soap.sforce.com/2006/04/metadata}"

# Field types whose value the platform computes: never writable through the API.
COMPUTED_TYPES = {"Summary", "AutoNumber", "Formula"}
# Fields every object has without metadata in force-app.
IMPLIED_FIELDS = {"Id": "Id", "Name": "Text"}
# Standard fields permission sets may name although force-app does not define them: the ones the
# recommended mappings write. Address components carry no FLS of their own; their compound field
# does (`Account.BillingAddress` covers BillingStreet … BillingCountry).
STANDARD_FLS_FIELDS = {
    "Account": {
        "BillingAddress",
        "Description",
        "Fax",
        "Phone",
        "ShippingAddress",
        "Website",
    },
    "Product2": {"Description", "IsActive", "ProductCode"},
}
# Standard fields without FLS: required name fields are editable with their object.
NO_FLS_STANDARD_FIELDS = {"Account": {"Name"}, "Product2": {"Name"}}
ADDRESS_COMPONENTS = ("Street", "City", "State", "PostalCode", "Country")


def fls_field(object_name: str, field_name: str) -> str | None:
    """The field whose FLS governs writing `object_name.field_name`; None when it has no FLS."""
    if field_name in NO_FLS_STANDARD_FIELDS.get(object_name, set()):
        return None
    for prefix in ("Billing", "Shipping", "Mailing", "Other"):
        if field_name.startswith(prefix) and field_name[len(prefix) :] in ADDRESS_COMPONENTS:
            return f"{object_name}.{prefix}Address"
    return f"{object_name}.{field_name}"


@dataclass
class Field:
    name: str
    type: str
    attrs: dict[str, str]
    picklist_values: list[str] = field(default_factory=list)

    def flag(self, name: str) -> bool:
        return self.attrs.get(name) == "true"


@dataclass
class SObject:
    name: str
    custom: bool
    name_field_type: str | None = None
    fields: dict[str, Field] = field(default_factory=dict)
    validation_rules: dict[str, dict[str, str]] = field(default_factory=dict)
    list_views: dict[str, etree._Element] = field(default_factory=dict)

    def field_type(self, name: str) -> str | None:
        if name in self.fields:
            return self.fields[name].type
        if name == "Name" and self.name_field_type:
            return self.name_field_type
        return IMPLIED_FIELDS.get(name)


@dataclass
class Package:
    objects: dict[str, SObject]
    permission_sets: dict[str, etree._Element]
    tabs: set[str]
    applications: set[str]
    classes: set[str]
    # "<External Credential>-<principal>", as permission sets name principals.
    credential_principals: set[str] = field(default_factory=set)


def _text(element: etree._Element, tag: str) -> str | None:
    child = element.find(MD + tag)
    return None if child is None else (child.text or "")


def _stem(path: pathlib.Path) -> str:
    return path.name.split(".")[0]


def _read_field(path: pathlib.Path) -> Field:
    root = etree.parse(str(path)).getroot()
    attrs = {etree.QName(child).localname: (child.text or "") for child in root}
    values = [
        v.findtext(MD + "fullName")
        for v in root.iterfind(f"{MD}valueSet/{MD}valueSetDefinition/{MD}value")
    ]
    return Field(
        name=attrs["fullName"], type=attrs.get("type", ""), attrs=attrs, picklist_values=values
    )


def _read_object(folder: pathlib.Path) -> SObject:
    name = folder.name
    sobject = SObject(name=name, custom=name.endswith("__c"))
    object_file = folder / f"{name}.object-meta.xml"
    if object_file.exists():
        root = etree.parse(str(object_file)).getroot()
        name_field = root.find(MD + "nameField")
        if name_field is not None:
            sobject.name_field_type = _text(name_field, "type")
    for path in sorted(folder.glob("fields/*.field-meta.xml")):
        parsed = _read_field(path)
        sobject.fields[parsed.name] = parsed
    for path in sorted(folder.glob("validationRules/*.validationRule-meta.xml")):
        root = etree.parse(str(path)).getroot()
        sobject.validation_rules[_stem(path)] = {
            etree.QName(child).localname: (child.text or "") for child in root
        }
    for path in sorted(folder.glob("listViews/*.listView-meta.xml")):
        sobject.list_views[_stem(path)] = etree.parse(str(path)).getroot()
    return sobject


def load_package(force_app: pathlib.Path) -> Package:
    """Reads objects, permission sets, tabs, applications and Apex classes under `force_app`."""
    default = force_app / "main" / "default"
    objects = {
        folder.name: _read_object(folder)
        for folder in sorted((default / "objects").iterdir())
        if folder.is_dir()
    }
    permission_sets = {
        _stem(p): etree.parse(str(p)).getroot()
        for p in sorted((default / "permissionsets").glob("*.permissionset-meta.xml"))
    }
    return Package(
        objects=objects,
        permission_sets=permission_sets,
        tabs={_stem(p) for p in (default / "tabs").glob("*.tab-meta.xml")},
        applications={_stem(p) for p in (default / "applications").glob("*.app-meta.xml")},
        classes={_stem(p) for p in force_app.rglob("*.cls")},
        credential_principals=_credential_principals(default),
    )


def _credential_principals(default: pathlib.Path) -> set[str]:
    principals = set()
    for path in (default / "externalCredentials").glob("*.externalCredential-meta.xml"):
        root = etree.parse(str(path)).getroot()
        for parameter in root.iterfind(MD + "externalCredentialParameters"):
            if _text(parameter, "parameterType") in ("NamedPrincipal", "PerUserPrincipal"):
                principals.add(f"{_stem(path)}-{_text(parameter, 'parameterName')}")
    return principals


def contract_problems(
    package: Package, reads: dict[str, dict[str, str]], writes: dict[str, dict[str, str]]
) -> list[str]:
    """Objects and fields the middleware uses that are missing, typed differently or not writable."""
    problems = []
    for access, spec in (("reads", reads), ("writes", writes)):
        for object_name, fields in spec.items():
            sobject = package.objects.get(object_name)
            if sobject is None:
                problems.append(f"middleware {access} {object_name}: no such object in force-app")
                continue
            for field_name, expected in fields.items():
                actual = sobject.field_type(field_name)
                where = f"middleware {access} {object_name}.{field_name}"
                if actual is None:
                    problems.append(f"{where}: no such field in force-app")
                elif actual != expected:
                    problems.append(f"{where}: declared {expected}, force-app has {actual}")
                elif access == "writes" and actual in COMPUTED_TYPES:
                    problems.append(f"{where}: {actual} fields cannot be written")
    return problems


def permission_set_problems(package: Package) -> list[str]:
    """Names in permission sets that force-app does not define, and FLS that cannot be granted."""
    problems = []
    for name, root in package.permission_sets.items():
        for fp in root.iterfind(MD + "fieldPermissions"):
            object_name, _, field_name = (_text(fp, "field") or "").partition(".")
            sobject = package.objects.get(object_name)
            custom_field = sobject.fields.get(field_name) if sobject else None
            where = f"{name}: field {object_name}.{field_name}"
            if custom_field is None:
                if field_name not in STANDARD_FLS_FIELDS.get(object_name, set()):
                    problems.append(f"{where} is not defined in force-app")
            elif custom_field.type == "MasterDetail" or custom_field.flag("required"):
                problems.append(f"{where} is required or master-detail: it carries no FLS")
            elif _text(fp, "editable") == "true" and custom_field.type in COMPUTED_TYPES:
                problems.append(f"{where} is {custom_field.type}: it cannot be editable")
        for op in root.iterfind(MD + "objectPermissions"):
            object_name = _text(op, "object")
            if object_name not in package.objects:
                problems.append(f"{name}: object {object_name} is not defined in force-app")
        for ts in root.iterfind(MD + "tabSettings"):
            if _text(ts, "tab") not in package.tabs:
                problems.append(f"{name}: tab {_text(ts, 'tab')} is not defined in force-app")
        for av in root.iterfind(MD + "applicationVisibilities"):
            if _text(av, "application") not in package.applications:
                problems.append(f"{name}: application {_text(av, 'application')} is not defined")
        for access in root.iterfind(MD + "externalCredentialPrincipalAccesses"):
            principal = _text(access, "externalCredentialPrincipal")
            if principal not in package.credential_principals:
                problems.append(f"{name}: external credential principal {principal} is not defined")
        for ca in root.iterfind(MD + "classAccesses"):
            if _text(ca, "apexClass") not in package.classes:
                problems.append(f"{name}: Apex class {_text(ca, 'apexClass')} is not defined")
    return problems


FIELD_REFERENCE = re.compile(r"\b[A-Za-z][A-Za-z0-9_]*__c\b")


def reference_problems(package: Package) -> list[str]:
    """Fields that validation rules and list views reference but the object does not define."""
    problems = []
    for sobject in package.objects.values():
        for rule_name, rule in sobject.validation_rules.items():
            referenced = set(FIELD_REFERENCE.findall(rule.get("errorConditionFormula", "")))
            if rule.get("errorDisplayField"):
                referenced.add(rule["errorDisplayField"])
            for name in sorted(referenced - set(sobject.fields)):
                problems.append(f"{sobject.name} rule {rule_name}: no field {name}")
        for view_name, view in sobject.list_views.items():
            names = [c.text for c in view.iterfind(MD + "columns")]
            names += [f.findtext(MD + "field") for f in view.iterfind(MD + "filters")]
            for name in names:
                if name and name.endswith("__c") and name not in sobject.fields:
                    problems.append(f"{sobject.name} list view {view_name}: no field {name}")
    return problems
