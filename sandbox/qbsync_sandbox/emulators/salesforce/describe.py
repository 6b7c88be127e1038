"""`sobjects/<Obj>/describe` and UI API `object-info`, built from the same schema the org enforces.

Both answer for the requesting user, as Salesforce's do: fields the user cannot read are absent,
`createable`/`updateable` are false where field-level security or the object permissions deny the
write, and the object's own flags follow its object permissions ("Understanding Describe
Information Permissions", Apex Developer Guide: a describe returns only the fields the running
user can access; https://developer.salesforce.com/docs/atlas.en-us.apexcode.meta/apexcode/apex_dynamic_permissions.htm).
"""

from __future__ import annotations

from qbsync_sandbox.emulators.salesforce.permissions import Access
from qbsync_sandbox.emulators.salesforce.schema import FieldDef, ObjectDef, Schema
from qbsync_sandbox.emulators.salesforce.standard import NOT_CREATEABLE

# metadata type -> (describe type, soapType)
_TYPES = {
    "Id": ("id", "tns:ID"),
    "Text": ("string", "xsd:string"),
    "TextArea": ("textarea", "xsd:string"),
    "LongTextArea": ("textarea", "xsd:string"),
    "Checkbox": ("boolean", "xsd:boolean"),
    "Number": ("double", "xsd:double"),
    "Currency": ("currency", "xsd:double"),
    "Percent": ("percent", "xsd:double"),
    "Summary": ("double", "xsd:double"),
    "Date": ("date", "xsd:date"),
    "DateTime": ("datetime", "xsd:dateTime"),
    "Picklist": ("picklist", "xsd:string"),
    "MultiselectPicklist": ("multipicklist", "xsd:string"),
    "Email": ("email", "xsd:string"),
    "Phone": ("phone", "xsd:string"),
    "Url": ("url", "xsd:string"),
    "Lookup": ("reference", "tns:ID"),
    "MasterDetail": ("reference", "tns:ID"),
    "AutoNumber": ("string", "xsd:string"),
    "Formula": ("string", "xsd:string"),
    "Address": ("address", "urn:address"),
}
# Every object has the master record type until record types are defined (REST API guide, "sObject
# Describe": recordTypeInfos; the id 012000000000000AAA is the master record type's).
MASTER_RECORD_TYPE_ID = "012000000000000AAA"
# UI API dataType names
_UI_TYPES = {
    "id": "Id", "string": "String", "textarea": "TextArea", "boolean": "Boolean", "double": "Double",
    "currency": "Currency", "percent": "Percent", "date": "Date", "datetime": "DateTime",
    "picklist": "Picklist", "email": "Email", "phone": "Phone", "url": "Url", "reference": "Reference",
    "address": "Address", "multipicklist": "MultiPicklist",
}  # fmt: skip


def describe_field(
    definition: FieldDef, createable: bool | None = None, updateable: bool | None = None
) -> dict:
    """A field's describe; `createable`/`updateable` for a user (default: the field's own)."""
    kind, soap_type = _TYPES.get(definition.type, ("string", "xsd:string"))
    is_text = soap_type == "xsd:string"
    length = definition.length if is_text else 0
    return {
        "name": definition.name,
        "label": definition.label,
        "type": kind,
        "compoundFieldName": definition.compound_field_name,
        "soapType": soap_type,
        "length": length or (18 if kind in {"id", "reference"} else 0),
        "byteLength": (length or 0) * 3 if is_text else (18 if kind in {"id", "reference"} else 0),
        "precision": definition.precision or 0,
        "scale": definition.scale or 0,
        "digits": 0,
        "nillable": definition.nillable,
        "createable": definition.createable if createable is None else createable,
        "updateable": definition.updateable if updateable is None else updateable,
        "defaultedOnCreate": definition.defaulted_on_create
        or definition.system
        or definition.type == "Checkbox",
        "defaultValue": definition.default if definition.type != "Checkbox" else None,
        "defaultValueFormula": None,
        "calculated": definition.type == "Summary" or definition.formula is not None,
        "calculatedFormula": definition.formula,
        "autoNumber": definition.type == "AutoNumber",
        "externalId": definition.external_id,
        "idLookup": definition.external_id or definition.name == "Id",
        "unique": definition.unique,
        "caseSensitive": definition.case_sensitive,
        "custom": definition.custom,
        "nameField": definition.name == "Name",
        "referenceTo": list(definition.reference_to),
        "relationshipName": definition.relationship_name,
        "cascadeDelete": False,
        "writeRequiresMasterRead": definition.type == "MasterDetail",
        "restrictedPicklist": definition.restricted,
        "picklistValues": [
            {
                "active": True,
                "defaultValue": value == definition.picklist_default,
                "label": value,
                "validFor": None,
                "value": value,
            }
            for value in definition.picklist_values
        ],
        "filterable": definition.type not in {"LongTextArea"},
        "sortable": definition.type not in {"LongTextArea"},
        "groupable": kind not in {"textarea", "double", "currency", "percent", "datetime"},
        "htmlFormatted": False,
        "inlineHelpText": None,
        "extraTypeInfo": "plaintextarea" if kind == "textarea" else None,
    }


def _readable_fields(obj: ObjectDef, access: Access) -> list[tuple[FieldDef, dict]]:
    return [
        (
            d,
            describe_field(d, access.createable(obj, d), access.updateable(obj, d)),
        )
        for d in obj.fields.values()
        if access.readable(obj, d)
    ]


def _child_relationships(schema: Schema, obj: ObjectDef, access: Access):
    return [
        r
        for r in schema.child_relationships(obj.name)
        if access.object(schema.object(r.child)).read
    ]


def describe(schema: Schema, obj: ObjectDef, version: str, access: Access) -> dict:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    permissions = access.object(obj)
    return {
        "name": obj.name,
        "label": obj.label,
        "labelPlural": obj.plural_label,
        "keyPrefix": obj.key_prefix,
        "custom": obj.custom,
        "createable": obj.name not in NOT_CREATEABLE and permissions.create,
        "updateable": permissions.edit,
        "deletable": obj.name not in NOT_CREATEABLE and permissions.delete,
        "queryable": True,
        "searchable": True,
        "retrieveable": True,
        "undeletable": True,
        "childRelationships": [
            {
                "childSObject": r.child,
                "field": r.field,
                "relationshipName": r.name,
                "cascadeDelete": r.cascade_delete,
                "restrictedDelete": False,
            }
            for r in _child_relationships(schema, obj, access)
        ],
        "fields": [described for _, described in _readable_fields(obj, access)],
        "recordTypeInfos": [
            {
                "active": True,
                "available": True,
                "defaultRecordTypeMapping": True,
                "developerName": "Master",
                "master": True,
                "name": "Master",
                "recordTypeId": MASTER_RECORD_TYPE_ID,
                "urls": {"layout": f"{base}/describe/layouts/{MASTER_RECORD_TYPE_ID}"},
            }
        ],
        "urls": {
            "sobject": base,
            "describe": f"{base}/describe",
            "rowTemplate": f"{base}/{{ID}}",
        },
    }


def object_info(schema: Schema, obj: ObjectDef, access: Access) -> dict:
    """UI API `object-info/<Obj>` (what `lightning/uiObjectInfoApi` getObjectInfo returns)."""
    fields = {}
    permissions = access.object(obj)
    for definition, described in _readable_fields(obj, access):
        fields[definition.name] = {
            "apiName": definition.name,
            "label": definition.label,
            "dataType": _UI_TYPES.get(described["type"], "String"),
            # A Checkbox is never null (false by default), so a form never has to ask for it.
            "required": not definition.nillable
            and definition.createable
            and not described["defaultedOnCreate"],
            "createable": described["createable"],
            "updateable": described["updateable"],
            "calculated": described["calculated"],
            "custom": definition.custom,
            "externalId": definition.external_id,
            "unique": definition.unique,
            "length": described["length"],
            "precision": described["precision"],
            "scale": described["scale"],
            "nameField": definition.name == "Name",
            "reference": definition.is_reference and definition.name != "Id",
            "referenceToInfos": [
                {"apiName": target, "nameFields": ["Name"]} for target in definition.reference_to
            ],
            "relationshipName": definition.relationship_name,
            "sortable": described["sortable"],
            "filterable": described["filterable"],
        }
    return {
        "apiName": obj.name,
        "label": obj.label,
        "labelPlural": obj.plural_label,
        "keyPrefix": obj.key_prefix,
        "custom": obj.custom,
        "createable": permissions.create,
        "updateable": permissions.edit,
        "deletable": permissions.delete,
        "queryable": True,
        "nameFields": ["Name"] if obj.field("Name") else [],
        "fields": fields,
        "childRelationships": [
            {"childObjectApiName": r.child, "fieldName": r.field, "relationshipName": r.name}
            for r in _child_relationships(schema, obj, access)
        ],
        "recordTypeInfos": {},
        "defaultRecordTypeId": MASTER_RECORD_TYPE_ID,
    }


def picklist_values(definition: FieldDef) -> dict:
    """UI API `picklist-values/<recordTypeId>/<field>`."""
    default = definition.picklist_default
    return {
        "controllerValues": {},
        "defaultValue": {"label": default, "value": default} if default else None,
        "values": [
            {"attributes": None, "label": v, "validFor": [], "value": v}
            for v in definition.picklist_values
        ],
    }
