"""`sobjects/<Obj>/describe` and UI API `object-info`, built from the same schema the org enforces."""

from __future__ import annotations

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
    "address": "Address",
}  # fmt: skip


def describe_field(definition: FieldDef) -> dict:
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
        "createable": definition.createable,
        "updateable": definition.updateable,
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


def describe(schema: Schema, obj: ObjectDef, version: str) -> dict:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {
        "name": obj.name,
        "label": obj.label,
        "labelPlural": obj.plural_label,
        "keyPrefix": obj.key_prefix,
        "custom": obj.custom,
        "createable": obj.name not in NOT_CREATEABLE,
        "updateable": True,
        "deletable": obj.name not in NOT_CREATEABLE,
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
            for r in schema.child_relationships(obj.name)
        ],
        "fields": [describe_field(d) for d in obj.fields.values()],
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


def object_info(schema: Schema, obj: ObjectDef) -> dict:
    """UI API `object-info/<Obj>` (what `lightning/uiObjectInfoApi` getObjectInfo returns)."""
    fields = {}
    for definition in obj.fields.values():
        described = describe_field(definition)
        fields[definition.name] = {
            "apiName": definition.name,
            "label": definition.label,
            "dataType": _UI_TYPES.get(described["type"], "String"),
            # A Checkbox is never null (false by default), so a form never has to ask for it.
            "required": not definition.nillable
            and definition.createable
            and not described["defaultedOnCreate"],
            "createable": definition.createable,
            "updateable": definition.updateable,
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
        "createable": True,
        "updateable": True,
        "deletable": True,
        "queryable": True,
        "nameFields": ["Name"] if obj.field("Name") else [],
        "fields": fields,
        "childRelationships": [
            {"childObjectApiName": r.child, "fieldName": r.field, "relationshipName": r.name}
            for r in schema.child_relationships(obj.name)
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
