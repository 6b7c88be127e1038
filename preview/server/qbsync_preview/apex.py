"""The `@AuraEnabled` methods of `QBSetupController` for the LWC preview, over the REST API.

Each function mirrors the Apex method of the same name (force-app/main/default/classes:
QBSetupController → QBMappingService / QBMappingSelector): same parameters, same result shape, same
messages. They stay thin: the Salesforce emulator behind the REST API enforces the metadata itself
(required fields, restricted picklists, the unique Company_Object_Key__c, the validation rule
Realtime_Requires_Field_Mappings), so the preview refuses what an org would. The preview logs in as
the admin, so every query, describe and save runs with the admin's object permissions and
field-level security, as the Apex's `WITH USER_MODE` queries, `AccessLevel.USER_MODE` DML and
user-mode describes do: an object or field the admin cannot read is absent, one the admin cannot
write is neither createable nor updateable. The QuickBooks side is
checked against the object catalog with qbsync.catalog, whose rules and messages are QBCatalog's
(tests/fixtures/catalog/path_cases.json).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import SalesforceError as SimpleSalesforceError

from qbsync.catalog import Catalog, load_catalog

logger = logging.getLogger(__name__)

OBJECT_MAPPING = "QB_Object_Mapping__c"
FIELD_MAPPING = "QB_Field_Mapping__c"
_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
# QBMappingService.EDITABLE_OBJECT_MAPPING_FIELDS: the company of a saved mapping never changes.
EDITABLE_OBJECT_MAPPING_FIELDS = (
    "QB_Object__c",
    "Salesforce_Object__c",
    "External_Id_Field__c",
    "Delete_Behavior__c",
    "Realtime_Enabled__c",
    "Match_Rules__c",
)
# QBMappingService.EDITABLE_LINE_MAPPING_FIELDS: a line mapping keeps its parent, company and object.
EDITABLE_LINE_MAPPING_FIELDS = (
    "Collection_Path__c",
    "Salesforce_Object__c",
    "External_Id_Field__c",
    "Parent_Field__c",
)
DEFAULT_DELETE_BEHAVIOR = "Ignore"
# QBMappingService.PACKAGE_CONFIGURATION_OBJECTS: the package's configuration and log objects are
# never targets; its target objects (QB_Transaction__c, QB_Payment__c and their lines) are.
PACKAGE_CONFIGURATION_OBJECTS = frozenset(
    (
        "QB_Company__c",
        OBJECT_MAPPING,
        FIELD_MAPPING,
        "QB_Sync_Log__c",
        "QB_Sync_Job__c",
        "QB_Match_Review__c",
    )
)
# QBMappingService.FILLABLE_KINDS: QuickBooks catalog type → kinds of Salesforce field it can fill.
FILLABLE_KINDS = {
    "string": {"text", "decimal", "whole", "boolean", "date", "datetime"},
    "decimal": {"decimal", "whole", "text"},
    "integer": {"whole", "decimal", "text"},
    "boolean": {"boolean", "text"},
    "date": {"date", "datetime", "text"},
    "datetime": {"datetime", "date", "text"},
    "reference": {"reference", "text"},
}
# QBMappingService.kindOf, from the REST describe's field types.
_KINDS = {
    **dict.fromkeys(
        (
            "string",
            "textarea",
            "phone",
            "url",
            "email",
            "picklist",
            "multipicklist",
            "combobox",
            "encryptedstring",
        ),
        "text",
    ),
    **dict.fromkeys(("double", "currency", "percent"), "decimal"),
    **dict.fromkeys(("int", "long"), "whole"),
    **{kind: kind for kind in ("boolean", "date", "datetime", "reference")},
}
OBJECT_MAPPING_FIELDS = (
    "Id, Name, Company__c, QB_Object__c, Salesforce_Object__c, External_Id_Field__c, "
    "Realtime_Enabled__c, Delete_Behavior__c, Match_Rules__c, Field_Mapping_Count__c"
)
# QBMatchRules.RULES_BY_TARGET: the match rules a historical sync may use per target object.
MATCH_RULES_BY_TARGET = {"account": ("Name", "EmailDomain", "Phone"), "product2": ("SKU", "Name")}
# QBMappingSelector.objectMappingsById and lineMappings also read the line-mapping fields.
MAPPING_BY_ID_FIELDS = (
    OBJECT_MAPPING_FIELDS + ", Parent_Mapping__c, Collection_Path__c, Parent_Field__c"
)
LINE_MAPPING_FIELDS = (
    "Id, Name, Company__c, QB_Object__c, Salesforce_Object__c, External_Id_Field__c, "
    "Parent_Mapping__c, Collection_Path__c, Parent_Field__c, Field_Mapping_Count__c"
)
FIELD_MAPPING_FIELDS = (
    "Id, Object_Mapping__c, QB_Field__c, Salesforce_Field__c, Transform__c, Default_Value__c"
)
COMPANY_FIELDS = (
    "Id, Name, Realm_Id__c, Environment__c, Status__c, Connected_At__c, "
    "Refresh_Token_Expires_At__c, Refresh_Token_Hard_Expires_At__c, Renewed_At__c, "
    "Last_Event_At__c, "
    "Last_Error__c, Log_Retention_Success_Days__c, Log_Retention_Failure_Days__c"
)


class ApexError(Exception):
    """What an AuraHandledException carries to the component: a message for the admin."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def first_error_message(error: SimpleSalesforceError) -> str:
    """Salesforce's first error message (Apex's `DmlException.getDmlMessage(0)`)."""
    content = error.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("message") or content[0].get("errorCode"))
    return f"Salesforce answered HTTP {error.status}"


def apex_text(value: Any) -> str:
    """A value as Apex string concatenation writes it: null is "null", booleans are lower case."""
    if value is None:
        return "null"
    return str(value).lower() if isinstance(value, bool) else str(value)


def as_apex_record(record: dict) -> dict:
    """An SObject as Apex serializes it to a component: no `attributes`, no null fields."""
    return {k: v for k, v in record.items() if k != "attributes" and v is not None}


def id_param(params: dict, name: str, *, required: bool = True) -> str | None:
    value = params.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not _ID.match(value):
        # Apex refuses a malformed Id while deserializing the parameters.
        raise ApexError(f"Invalid id: {value}")
    return value


def _integer_param(params: dict, name: str) -> int | None:
    """An Integer parameter: null, or a whole number (Apex refuses anything else while
    deserializing the parameters)."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ApexError(f"Invalid integer: {apex_text(value)}")
    return int(value)


def _record_param(params: dict, name: str) -> dict | None:
    value = params.get(name)
    if value is not None and not isinstance(value, dict):
        raise ApexError(f"{name} must be a record (a JSON object).")
    return value


def _records_param(params: dict, name: str) -> list[dict]:
    value = params.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict | None) for v in value):
        raise ApexError(f"{name} must be a list of records.")
    return value


def _error_codes(error: SimpleSalesforceError) -> list[str]:
    content = error.content
    return (
        [e.get("errorCode") for e in content if isinstance(e, dict)]
        if isinstance(content, list)
        else []
    )


def match_rules_problem(mapping: dict) -> str | None:
    """QBMatchRules.problem: a chosen rule that does not apply to the mapping's target."""
    rules = mapping.get("Match_Rules__c")
    if blank(rules):
        return None
    target = mapping.get("Salesforce_Object__c")
    offered = MATCH_RULES_BY_TARGET.get(str(target).lower(), ())
    for rule in str(rules).split(";"):
        if rule not in offered:
            if not offered:
                return (
                    "Match rules apply to Account and Product2 only; clear them for "
                    f"{apex_text(target)}."
                )
            return (
                f"{rule} is not a match rule for {apex_text(target)}: choose from "
                f"{', '.join(offered)}."
            )
    return None


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class SetupController:
    """QBSetupController's contract on one org connection (`sf` returns a logged-in client)."""

    def __init__(
        self,
        sf: Callable[[], Salesforce],
        config_changed: Callable[[set[str]], object] | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        self._sf = sf
        # QBCatalog.load(): the catalog the package deploys (the same bytes as the middleware's).
        self._catalog = catalog or load_catalog()
        # QBConfigChangedNotifier.enqueueFor: told the companies whose enabled mappings changed.
        self._config_changed = config_changed
        self._describes: dict[str, dict] = {}

    # ------------------------------------------------------------------ selector

    def _query(self, soql: str) -> list[dict]:
        return [as_apex_record(r) for r in self._sf().query_all(soql)["records"]]

    def _object_mappings_by_id(self, ids: list[str]) -> dict[str, dict]:
        if not ids:
            return {}
        soql = format_soql(
            "SELECT {:literal} FROM QB_Object_Mapping__c WHERE Id IN {}", MAPPING_BY_ID_FIELDS, ids
        )
        return {r["Id"][:15]: r for r in self._query(soql)}

    def _require_object_mapping(self, mapping_id: str | None) -> dict:
        mapping = self._object_mappings_by_id([mapping_id] if mapping_id else []).get(
            (mapping_id or "")[:15]
        )
        if mapping is None:
            raise ApexError(
                f"The object mapping {apex_text(mapping_id)} does not exist or you cannot see it."
            )
        return mapping

    def _describe(self, sobject: str) -> dict | None:
        key = sobject.lower()
        if key not in self._describes:
            try:
                self._describes[key] = self._sf().restful(f"sobjects/{sobject}/describe")
            except SimpleSalesforceError as error:
                if error.status == 404:
                    return None
                raise
        return self._describes[key]

    def _require_describe(self, sobject: Any) -> dict:
        described = None
        if isinstance(sobject, str) and re.fullmatch(r"\w+", sobject):
            described = self._describe(sobject)
        if described is None:
            raise ApexError(f"Unknown Salesforce object: {apex_text(sobject)}.")
        return described

    @staticmethod
    def _is_mappable(described: dict) -> bool:
        name = described["name"]
        return (
            bool(described.get("createable"))
            and bool(described.get("queryable"))
            and not described.get("customSetting", False)
            and name not in PACKAGE_CONFIGURATION_OBJECTS
            # QBMappingService.NEVER_TARGET_ENDINGS, skipped before the describe in Apex.
            and not name.endswith(
                ("__mdt", "__e", "__b", "Share", "History", "Feed", "ChangeEvent")
            )
        )

    # ------------------------------------------------------------------ methods

    def get_companies(self, params: dict) -> list[dict]:
        return self._query(
            format_soql(
                "SELECT {:literal} FROM QB_Company__c "
                "ORDER BY Connected_At__c DESC NULLS LAST, Name LIMIT 200",
                COMPANY_FIELDS,
            )
        )

    def save_log_retention(self, params: dict) -> dict | None:
        company_id = id_param(params, "companyId", required=False)
        if company_id is None:
            raise ApexError("Choose the QuickBooks company whose sync logs to keep.")
        days = {
            field: _integer_param(params, name)
            for field, name in (
                ("Log_Retention_Success_Days__c", "successDays"),
                ("Log_Retention_Failure_Days__c", "failureDays"),
            )
        }
        try:
            self._sf().restful(f"sobjects/QB_Company__c/{company_id}", method="PATCH", json=days)
        except SimpleSalesforceError as error:
            raise ApexError(first_error_message(error)) from None
        found = self._query(
            format_soql(
                "SELECT {:literal} FROM QB_Company__c WHERE Id = {} LIMIT 1",
                COMPANY_FIELDS,
                company_id,
            )
        )
        return found[0] if found else None

    def get_createable_objects(self, params: dict) -> list[dict]:
        options = []
        for item in self._sf().describe()["sobjects"]:
            described = self._describe(item["name"])
            if described and self._is_mappable(described):
                options.append({"apiName": described["name"], "label": described["label"]})
        return sorted(options, key=lambda o: (o["label"].lower(), o["apiName"]))

    def get_object_mappings(self, params: dict) -> list[dict]:
        company_id = id_param(params, "companyId", required=False)
        soql = format_soql(
            "SELECT {:literal} FROM QB_Object_Mapping__c WHERE Company__c = {} "
            "AND Parent_Mapping__c = null ORDER BY QB_Object__c",
            OBJECT_MAPPING_FIELDS,
            company_id,
        )
        return self._query(soql)

    def get_line_mappings(self, params: dict) -> list[dict]:
        parent_id = id_param(params, "parentMappingId", required=False)
        return self._line_mappings(parent_id) if parent_id else []

    def _line_mappings(self, parent_id: str) -> list[dict]:
        soql = format_soql(
            "SELECT {:literal} FROM QB_Object_Mapping__c WHERE Parent_Mapping__c = {} "
            "ORDER BY Collection_Path__c",
            LINE_MAPPING_FIELDS,
            parent_id,
        )
        return self._query(soql)

    def save_object_mapping(self, params: dict) -> dict:
        mapping = _record_param(params, "mapping")
        if mapping is None:
            raise ApexError("The object mapping to save is missing.")
        if self._is_line_mapping(mapping):
            return self._save_line_mapping(mapping)
        if blank(mapping.get("Id")):
            company_id = mapping.get("Company__c")
            if blank(company_id):
                raise ApexError("Choose the QuickBooks company the object mapping belongs to.")
            record: dict = {}
            mapping_id = None
            was_enabled = False
        else:
            existing = self._require_object_mapping(id_param(mapping, "Id"))
            company_id, mapping_id = existing["Company__c"], existing["Id"]
            was_enabled = existing.get("Realtime_Enabled__c") is True
            record = {f: existing.get(f) for f in EDITABLE_OBJECT_MAPPING_FIELDS}
        for field in EDITABLE_OBJECT_MAPPING_FIELDS:
            if field in mapping:
                record[field] = mapping[field]
        self._validate_target(record)
        if blank(record.get("Delete_Behavior__c")):
            # A blank value sent by the caller would otherwise override the field default.
            record["Delete_Behavior__c"] = DEFAULT_DELETE_BEHAVIOR
        company = self._company(company_id)
        # QBMappingService.companyObjectKey: the 18-character company id + ':' + QuickBooks object.
        record["Company_Object_Key__c"] = f"{company['Id']}:{record['QB_Object__c']}"
        return self._write_object_mapping(
            mapping_id,
            record,
            {"Company__c": company["Id"]},
            duplicate=f"{record['QB_Object__c']} is already mapped for this company.",
            notify=was_enabled or record.get("Realtime_Enabled__c") is True,
        )

    def _is_line_mapping(self, mapping: dict) -> bool:
        if blank(mapping.get("Id")):
            return not blank(mapping.get("Parent_Mapping__c"))
        existing = self._require_object_mapping(id_param(mapping, "Id"))
        return existing.get("Parent_Mapping__c") is not None

    def _governing_switch(self, mapping: dict) -> bool:
        """The real-time switch of a mapping, or of its parent for a line mapping."""
        parent_id = mapping.get("Parent_Mapping__c")
        if parent_id is None:
            return mapping.get("Realtime_Enabled__c") is True
        parent = self._object_mappings_by_id([parent_id]).get(parent_id[:15])
        return parent is not None and parent.get("Realtime_Enabled__c") is True

    def _save_line_mapping(self, mapping: dict) -> dict:
        """QBMappingService.saveLineMapping: the items of one collection of the parent's
        QuickBooks object, written to a child object whose Parent_Field__c refers to the parent's
        Salesforce object; company and QuickBooks object are the parent's."""
        if blank(mapping.get("Id")):
            parent = self._require_object_mapping(id_param(mapping, "Parent_Mapping__c"))
            record: dict = {}
            mapping_id = None
        else:
            existing = self._require_object_mapping(id_param(mapping, "Id"))
            parent = self._require_object_mapping(existing["Parent_Mapping__c"])
            record = {f: existing.get(f) for f in EDITABLE_LINE_MAPPING_FIELDS}
            mapping_id = existing["Id"]
        if parent.get("Parent_Mapping__c") is not None:
            raise ApexError(
                "A line mapping belongs to a top-level object mapping, not to another line mapping."
            )
        for field in EDITABLE_LINE_MAPPING_FIELDS:
            if field in mapping:
                record[field] = mapping[field]
        path = record.get("Collection_Path__c")
        unknown = self._catalog.validate_collection(
            parent["QB_Object__c"], path if isinstance(path, str) else ""
        )
        if unknown is not None:
            raise ApexError(unknown)
        target = self._validate_salesforce_target(record)
        self._validate_parent_field(record, target, parent["Salesforce_Object__c"])
        company = self._company(parent["Company__c"])
        record |= {
            "QB_Object__c": parent["QB_Object__c"],
            # Not used on a line: the parent's switch governs, removed lines are deleted.
            "Realtime_Enabled__c": False,
            "Delete_Behavior__c": DEFAULT_DELETE_BEHAVIOR,
            # QBMappingService.lineMappingKey: the parent's key, ':' and the collection.
            "Company_Object_Key__c": f"{company['Id']}:{parent['QB_Object__c']}:{path}",
        }
        return self._write_object_mapping(
            mapping_id,
            record,
            {"Company__c": company["Id"], "Parent_Mapping__c": parent["Id"]},
            duplicate=f"{path} of {parent['QB_Object__c']} is already mapped for this company.",
            notify=parent.get("Realtime_Enabled__c") is True,
        )

    def _write_object_mapping(
        self,
        mapping_id: str | None,
        record: dict,
        on_create: dict,
        *,
        duplicate: str,
        notify: bool,
    ) -> dict:
        """Insert (with `on_create`, the master-detail and parent fields) or update one
        QB_Object_Mapping__c; a duplicate company-object key reads as `duplicate`; `notify`
        tells the middleware (as QBConfigChangedNotifier does) of its company."""
        try:
            if mapping_id is None:
                mapping_id = self._sf().restful(
                    f"sobjects/{OBJECT_MAPPING}", method="POST", json={**on_create, **record}
                )["id"]
            else:
                self._sf().restful(
                    f"sobjects/{OBJECT_MAPPING}/{mapping_id}", method="PATCH", json=record
                )
        except SimpleSalesforceError as error:
            if "DUPLICATE_VALUE" in _error_codes(error):
                raise ApexError(duplicate) from None
            raise ApexError(first_error_message(error)) from None
        if notify:
            self._notify({on_create["Company__c"]})
        return self._require_object_mapping(mapping_id)

    @staticmethod
    def _validate_parent_field(record: dict, target: dict, parent_object: str) -> None:
        """The parent field is a reference of the line object to the parent's object."""
        name = record.get("Parent_Field__c")
        if blank(name):
            raise ApexError(
                f"Choose the field of {target['name']} that refers to the {parent_object} record."
            )
        field = next(
            (
                f
                for f in target["fields"]
                if isinstance(name, str) and f["name"].lower() == name.lower()
            ),
            None,
        )
        refers = field is not None and any(
            str(r).lower() == parent_object.lower() for r in field.get("referenceTo") or ()
        )
        if not refers or not field.get("createable"):
            raise ApexError(
                f"{target['name']}.{apex_text(name)} is not a field of {target['name']} that "
                f"refers to {parent_object}."
            )
        record["Parent_Field__c"] = field["name"]

    def _company(self, company_id: Any) -> dict:
        if not isinstance(company_id, str) or not _ID.match(company_id):
            raise ApexError(f"Invalid id: {company_id}")
        records = self._query(format_soql("SELECT Id FROM QB_Company__c WHERE Id = {}", company_id))
        if not records:
            raise ApexError(f"The QuickBooks company {company_id} does not exist.")
        return records[0]

    def _validate_target(self, record: dict) -> None:
        if blank(record.get("QB_Object__c")):
            raise ApexError("Choose the QuickBooks object to map.")
        qb_object = record["QB_Object__c"]
        if not isinstance(qb_object, str) or self._catalog.entity(qb_object) is None:
            raise ApexError(self._catalog.validate_object(str(qb_object)))
        # The catalog spelling, so the company key refuses `customer` next to `Customer`.
        record["QB_Object__c"] = self._catalog.entity(qb_object).name
        self._validate_salesforce_target(record)
        problem = match_rules_problem(record)
        if problem is not None:
            raise ApexError(problem)

    def _validate_salesforce_target(self, record: dict) -> dict:
        """The target object is mappable and External_Id_Field__c is one of its external ids."""
        target = self._require_describe(record.get("Salesforce_Object__c"))
        if not self._is_mappable(target):
            raise ApexError(f"QuickBooks records cannot be written to {target['name']}.")
        wanted = (record.get("External_Id_Field__c") or "").lower()
        external_id = next(
            (f for f in target["fields"] if wanted and f["name"].lower() == wanted), None
        )
        if external_id is None or not external_id.get("externalId"):
            raise ApexError(
                f"{apex_text(record.get('External_Id_Field__c'))} is not an external-id field of "
                f"{target['name']}."
            )
        # Store the canonical API names, whatever case the caller used.
        record["Salesforce_Object__c"] = target["name"]
        record["External_Id_Field__c"] = external_id["name"]
        return target

    def delete_object_mapping(self, params: dict) -> None:
        mapping_id = params.get("mappingId")
        prefix = (self._describe(OBJECT_MAPPING) or {}).get("keyPrefix")
        if (
            not isinstance(mapping_id, str)
            or not _ID.match(mapping_id)
            or (prefix and not mapping_id.startswith(prefix))
        ):
            raise ApexError("Choose the object mapping to delete.")
        # Read before the delete: afterwards the record no longer says its company and switch.
        existing = self._object_mappings_by_id([mapping_id]).get(mapping_id[:15])
        # Parent_Mapping__c is a Restrict lookup: the line mappings go first, all or none.
        doomed = [r["Id"] for r in self._line_mappings(mapping_id)] + [mapping_id]
        self._delete_collection(doomed)
        if existing and self._governing_switch(existing):
            self._notify({existing["Company__c"]})

    def get_field_mappings(self, params: dict) -> list[dict]:
        mapping_id = id_param(params, "objectMappingId", required=False)
        return self._field_mappings(mapping_id)

    def _field_mappings(self, mapping_id: str | None) -> list[dict]:
        soql = format_soql(
            "SELECT {:literal} FROM QB_Field_Mapping__c WHERE Object_Mapping__c = {} "
            "ORDER BY QB_Field__c",
            FIELD_MAPPING_FIELDS,
            mapping_id,
        )
        return self._query(soql)

    def save_field_mappings(self, params: dict) -> list[dict]:
        parent = self._require_object_mapping(id_param(params, "objectMappingId"))
        rows = _records_param(params, "mappings")
        target = self._require_describe(parent["Salesforce_Object__c"])
        fields = {f["name"].lower(): f for f in target["fields"]}
        self._validate_field_rows(rows, parent, fields, target["name"])
        # The worker sets the external id, and on a line the parent field, itself.
        filled_by_sync = {parent["External_Id_Field__c"], parent.get("Parent_Field__c") or ""}
        missing = self._missing_required(rows, fields, filled_by_sync)
        if missing:
            raise ApexError("Required Salesforce fields are not mapped: " + ", ".join(missing))

        stored = {r["Id"][:15]: r for r in self._field_mappings(parent["Id"])}
        inserts, updates = [], []
        for row in rows:
            values = {
                "QB_Field__c": row.get("QB_Field__c"),
                "Salesforce_Field__c": row["Salesforce_Field__c"],
                "Transform__c": row.get("Transform__c"),
                "Default_Value__c": row.get("Default_Value__c"),
            }
            row_id = row.get("Id")
            if blank(row_id):
                inserts.append({"Object_Mapping__c": parent["Id"], **values})
            elif stored.pop(str(row_id)[:15], None) is not None:
                updates.append({"Id": row_id, **values})
            else:
                raise ApexError(f"Field mapping {row_id} does not belong to this object mapping.")
        # Inserts and updates first, so the roll-up count never drops to zero on a real-time
        # mapping (its validation rule), as in QBMappingService.
        inserted = self._collection("POST", inserts)
        try:
            self._collection("PATCH", updates)
            if stored:
                self._delete_collection([r["Id"] for r in stored.values()])
        except ApexError:
            # Apex rolls back to a savepoint; over REST the inserts are undone by hand.
            if inserted:
                self._delete_collection(inserted)
            raise
        if self._governing_switch(parent):
            self._notify({parent["Company__c"]})
        return self._field_mappings(parent["Id"])

    def _validate_field_rows(
        self, rows: list[dict | None], mapping: dict, fields: dict, object_name: str
    ) -> None:
        qb_object = mapping["QB_Object__c"]
        # A line mapping's rows are paths relative to one item of its collection.
        collection = mapping.get("Collection_Path__c")
        seen: set[str] = set()
        for row in rows:
            if row is None or blank(row.get("QB_Field__c")):
                raise ApexError("Every field mapping needs a QuickBooks field.")
            if not isinstance(row["QB_Field__c"], str):
                raise ApexError("QB_Field__c must be text.")
            unknown_path = (
                self._catalog.validate_mapping(qb_object, row["QB_Field__c"])
                if collection is None
                else self._catalog.validate_line_mapping(qb_object, collection, row["QB_Field__c"])
            )
            if unknown_path is not None:
                raise ApexError(unknown_path)
            name = row.get("Salesforce_Field__c")
            field = fields.get(name.lower()) if isinstance(name, str) and name else None
            if field is None:
                raise ApexError(
                    f"Unknown Salesforce field for {row['QB_Field__c']}: "
                    f"{object_name}.{apex_text(name)}."
                )
            if not field["createable"] and not field["updateable"]:
                raise ApexError(f"{object_name}.{field['name']} cannot be written.")
            if field["name"].lower() == (mapping.get("Parent_Field__c") or "").lower():
                raise ApexError(
                    f"{object_name}.{field['name']} refers to the parent record: the sync fills "
                    "it, so it cannot be mapped."
                )
            if field["name"].lower() in seen:
                raise ApexError(f"{object_name}.{field['name']} is mapped more than once.")
            seen.add(field["name"].lower())
            entity = self._catalog.entity(qb_object)
            entries = entity if collection is None else entity.collection(collection)
            qb_type = entries.match(row["QB_Field__c"]).type
            if _KINDS.get(field["type"], "other") not in FILLABLE_KINDS.get(qb_type, ()):
                raise ApexError(
                    f"{row['QB_Field__c']} is a QuickBooks {qb_type}, which "
                    f"{object_name}.{field['name']} cannot hold: the sync would refuse these records."
                )
            row["Salesforce_Field__c"] = field["name"]

    @staticmethod
    def _missing_required(rows: list[dict], fields: dict, filled_by_sync: set[str]) -> list[str]:
        """Required = createable, not nillable, not defaulted on create (QBMappingService)."""
        covered = {f.lower() for f in filled_by_sync} | {
            r["Salesforce_Field__c"].lower() for r in rows
        }
        return sorted(
            f["name"]
            for f in fields.values()
            if f["createable"]
            and not f["nillable"]
            and not f["defaultedOnCreate"]
            and f["name"].lower() not in covered
        )

    def _collection(self, method: str, records: list[dict]) -> list[str]:
        """sObject Collections, all or none; returns the ids; ApexError with the first message."""
        if not records:
            return []
        body = {
            "allOrNone": True,
            "records": [{"attributes": {"type": FIELD_MAPPING}, **r} for r in records],
        }
        results = self._sf().restful("composite/sobjects", method=method, json=body)
        failed = [r for r in results if not r["success"]]
        if failed:
            # The first real error, not the "rolled back" notes of the other records.
            errors = [e for r in failed for e in r["errors"]]
            real = [e for e in errors if e["statusCode"] != "ALL_OR_NONE_OPERATION_ROLLED_BACK"]
            raise ApexError((real or errors)[0]["message"])
        return [r["id"] for r in results]

    def _delete_collection(self, ids: list[str]) -> None:
        results = self._sf().restful(
            "composite/sobjects",
            method="DELETE",
            params={"ids": ",".join(ids), "allOrNone": "true"},
        )
        failed = [e for r in results if not r["success"] for e in r["errors"]]
        if failed:
            raise ApexError(failed[0]["message"])

    def save_realtime_settings(self, params: dict) -> list[dict]:
        changes = _records_param(params, "changes")
        if not changes:
            return []
        updates, seen = [], set()
        for change in changes:
            if change is None or blank(change.get("Id")):
                raise ApexError("Every real-time change needs the Id of its object mapping.")
            mapping_id = id_param(change, "Id")
            if mapping_id[:15] in seen:
                raise ApexError(
                    f"Object mapping {mapping_id} appears more than once in the changes."
                )
            seen.add(mapping_id[:15])
            # Only the switch is written, whatever else the caller sent.
            updates.append(
                {
                    "attributes": {"type": OBJECT_MAPPING},
                    "Id": mapping_id,
                    "Realtime_Enabled__c": change.get("Realtime_Enabled__c") is True,
                }
            )
        known = self._object_mappings_by_id([u["Id"] for u in updates])
        results = self._sf().restful(
            "composite/sobjects", method="PATCH", json={"allOrNone": False, "records": updates}
        )
        rows, changed_companies = [], set()
        for change, update, result in zip(changes, updates, results, strict=True):
            mapping = known.get(update["Id"][:15])
            rows.append(
                {
                    "id": mapping["Id"] if mapping else update["Id"],
                    "qbObject": mapping["QB_Object__c"] if mapping else change.get("QB_Object__c"),
                    "success": result["success"],
                    "message": None
                    if result["success"]
                    else " ".join(e["message"] for e in result["errors"]),
                }
            )
            if result["success"] and mapping:
                changed_companies.add(mapping["Company__c"])
        self._notify(changed_companies)
        return rows

    def _notify(self, company_ids: set[str]) -> None:
        """QBConfigChangedNotifier.enqueueFor: tell the middleware these companies' mappings
        changed. In Apex a Queueable does it after the save; its failure never reaches the save
        (it is recorded on the company)."""
        if not company_ids or not self._config_changed:
            return
        try:
            self._config_changed(company_ids)
        except (SimpleSalesforceError, ApexError) as error:
            logger.warning("configuration-change notification failed: %s", error)


def controller_methods(controller: SetupController) -> dict[str, Callable[[dict], Any]]:
    """`@AuraEnabled` method name → implementation (the dispatch table of /apex/QBSetupController)."""
    return {
        "getCompanies": controller.get_companies,
        "getCreateableObjects": controller.get_createable_objects,
        "getObjectMappings": controller.get_object_mappings,
        "getLineMappings": controller.get_line_mappings,
        "saveObjectMapping": controller.save_object_mapping,
        "deleteObjectMapping": controller.delete_object_mapping,
        "getFieldMappings": controller.get_field_mappings,
        "saveFieldMappings": controller.save_field_mappings,
        "saveRealtimeSettings": controller.save_realtime_settings,
        "saveLogRetention": controller.save_log_retention,
    }
