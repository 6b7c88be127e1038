"""Every Salesforce object and field the middleware reads or writes.

This is the middleware's half of the contract with the package in `force-app/`;
`tests/package/test_contract.py` proves each name exists there with a compatible type.
"""

from __future__ import annotations

import re

# An object or field API name (letters, digits, underscores; a letter first): the only names the
# middleware puts into a URL path or a SOQL statement.
_API_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def is_api_name(name: str | None) -> bool:
    return bool(name) and _API_NAME.fullmatch(name) is not None


# object API name -> {field API name: field type as declared in force-app metadata}
READS: dict[str, dict[str, str]] = {
    "QB_Company__c": {
        "Id": "Id",
        "Name": "Text",
        "Realm_Id__c": "Text",
        "Status__c": "Picklist",
        "Environment__c": "Picklist",
        # Sync-log retention per company (qbsync.log_retention); blank means the default.
        "Log_Retention_Success_Days__c": "Number",
        "Log_Retention_Failure_Days__c": "Number",
    },
    # Old sync logs are found by age and outcome, then deleted in bulk (qbsync.log_retention).
    "QB_Sync_Log__c": {
        "Id": "Id",
        "Company__c": "Lookup",
        "Status__c": "Picklist",
        "Synced_At__c": "DateTime",
    },
    "QB_Object_Mapping__c": {
        "Id": "Id",
        "Company__c": "MasterDetail",
        "QB_Object__c": "Text",
        "Salesforce_Object__c": "Text",
        "External_Id_Field__c": "Text",
        "Realtime_Enabled__c": "Checkbox",
        "Delete_Behavior__c": "Picklist",
        "Field_Mapping_Count__c": "Summary",
        # Line mappings (docs/data-model.md): set on a mapping of a parent record's collection.
        "Parent_Mapping__c": "Lookup",
        "Collection_Path__c": "Text",
        "Parent_Field__c": "Text",
        # Matching before creating in a historical sync (qbsync.matching).
        "Match_Rules__c": "MultiselectPicklist",
    },
    # Reviews of ambiguous matches: a page written again after a kill finds those its job has
    # already (qbsync.match_reviews); the admin's answer reads one (qbsync.match_review_api).
    "QB_Match_Review__c": {
        "Id": "Id",
        "Sync_Job__c": "Lookup",
        "Company__c": "Lookup",
        "Status__c": "Picklist",
        "QB_Object__c": "Text",
        "QB_Record_Id__c": "Text",
        "Candidate_Ids__c": "LongTextArea",
    },
    "QB_Sync_Job__c": {"Job_Key__c": "Text"},
    "QB_Field_Mapping__c": {
        "Id": "Id",
        "Object_Mapping__c": "MasterDetail",
        "QB_Field__c": "Text",
        "Salesforce_Field__c": "Text",
        "Transform__c": "Picklist",
        "Default_Value__c": "Text",
    },
}

WRITES: dict[str, dict[str, str]] = {
    "QB_Company__c": {
        "Name": "Text",
        "Realm_Id__c": "Text",
        "Status__c": "Picklist",
        "Environment__c": "Picklist",
        "Connected_At__c": "DateTime",
        "Refresh_Token_Expires_At__c": "DateTime",
        "Refresh_Token_Hard_Expires_At__c": "DateTime",
        "Last_Event_At__c": "DateTime",
        "Renewed_At__c": "DateTime",
        "Last_Error__c": "LongTextArea",
    },
    "QB_Sync_Log__c": {
        "Event_Key__c": "Text",
        "Company__c": "Lookup",
        "QB_Object__c": "Text",
        "QB_Record_Id__c": "Text",
        "Operation__c": "Text",
        "Status__c": "Picklist",
        "Salesforce_Object__c": "Text",
        "Salesforce_Record_Id__c": "Text",
        "Message__c": "LongTextArea",
        "Record_Name__c": "Text",
        "Detail__c": "LongTextArea",
        "Reason__c": "Text",
        "Event_Time__c": "DateTime",
        "Synced_At__c": "DateTime",
        "Latency_Ms__c": "Number",
        "Attempts__c": "Number",
    },
    # Realm-scoped external ids on the default targets (Customer/Vendor -> Account, Item -> Product2).
    "Account": {"QB_External_Id__c": "Text", "QB_Active__c": "Checkbox"},
    "Product2": {"QB_External_Id__c": "Text"},
    # The transaction targets the package ships (docs/data-model.md): what the recommended
    # mappings write, the parent fields of lines, and Voided__c (set on a QuickBooks Void).
    "QB_Transaction__c": {
        "Name": "Text",
        "Account__c": "Lookup",
        "Txn_Date__c": "Date",
        "Due_Date__c": "Date",
        "Total_Amount__c": "Currency",
        "Balance__c": "Currency",
        "Currency_Code__c": "Text",
        "Exchange_Rate__c": "Number",
        "Txn_Status__c": "Text",
        "Voided__c": "Checkbox",
        "Memo__c": "LongTextArea",
        "Private_Note__c": "LongTextArea",
        "Bill_Email__c": "Email",
        "QB_External_Id__c": "Text",
    },
    "QB_Transaction_Line__c": {
        "Transaction__c": "MasterDetail",
        "Product__c": "Lookup",
        "Line_Number__c": "Number",
        "Detail_Type__c": "Text",
        "Description__c": "LongTextArea",
        "Quantity__c": "Number",
        "Unit_Price__c": "Currency",
        "Amount__c": "Currency",
        "Service_Date__c": "Date",
        "QB_External_Id__c": "Text",
    },
    "QB_Payment__c": {
        "Account__c": "Lookup",
        "Txn_Date__c": "Date",
        "Total_Amount__c": "Currency",
        "Unapplied_Amount__c": "Currency",
        "Reference_Number__c": "Text",
        "Currency_Code__c": "Text",
        "Exchange_Rate__c": "Number",
        "Voided__c": "Checkbox",
        "QB_External_Id__c": "Text",
    },
    "QB_Payment_Line__c": {
        "Payment__c": "MasterDetail",
        "Transaction__c": "Lookup",
        "Amount__c": "Currency",
        "QB_External_Id__c": "Text",
    },
    # Historical sync (issue 17): the job record (qbsync.job_record), upserted on Job_Key__c, and
    # the reviews of ambiguous matches (qbsync.match_reviews).
    "QB_Sync_Job__c": {
        "Job_Key__c": "Text",
        "Company__c": "Lookup",
        "QB_Object__c": "Text",
        "Salesforce_Object__c": "Text",
        "State__c": "Picklist",
        "Since__c": "DateTime",
        "Total__c": "Number",
        "Processed__c": "Number",
        "Created__c": "Number",
        "Updated__c": "Number",
        "Matched__c": "Number",
        "Ambiguous__c": "Number",
        "Failed__c": "Number",
        "Started_At__c": "DateTime",
        "Finished_At__c": "DateTime",
        "ETA__c": "DateTime",
        "Write_Mode__c": "Picklist",
        "Message__c": "LongTextArea",
    },
    "QB_Match_Review__c": {
        "Sync_Job__c": "Lookup",
        "Company__c": "Lookup",
        "QB_Object__c": "Text",
        "QB_Record_Id__c": "Text",
        "QB_Record_Name__c": "Text",
        "Salesforce_Object__c": "Text",
        "Candidate_Ids__c": "LongTextArea",
        "Matched_By__c": "Text",
        "Status__c": "Picklist",
        # The admin's answer (qbsync.match_review_api).
        "Resolved_Record_Id__c": "Text",
    },
}

# The child relationship the configuration query walks (QB_Object_Mapping__c -> field mappings).
FIELD_MAPPINGS_RELATIONSHIP = "Field_Mappings__r"
COMPANY_RELATIONSHIP = "Company__r"

COMPANY_STATUSES = ("Connected", "Reconnect Required", "Disconnected")
SYNC_LOG_STATUSES = ("Success", "Failed", "Skipped", "Retrying")
DELETE_BEHAVIORS = ("Delete", "Deactivate", "Ignore")
TRANSFORMS = ("Trim", "Uppercase", "Lowercase", "Digits Only")

# The sync-log Event_Key__c is unique: writes upsert on it, so a retried batch never duplicates a row.
SYNC_LOG_EXTERNAL_ID = "Event_Key__c"


def external_id(realm_id: str, entity: str, entity_id: str) -> str:
    """Realm-scoped external id of a QuickBooks record on its Salesforce target.

    Two companies, or a Customer and a Vendor with the same QuickBooks id, never collide.
    """
    return f"{realm_id}-{entity}-{entity_id}"


def parse_external_id(realm_id: str, key: str) -> tuple[str, str] | None:
    """(entity, QuickBooks id) of a realm-scoped external id of `realm_id`, else None.

    Entity names are letters only (catalog), so the first `-` after the realm ends the entity;
    a line's external id (`…-Invoice-130-1`) parses to its parent's entity and `130-1`.
    """
    prefix = f"{realm_id}-"
    if not key.startswith(prefix):
        return None
    entity, _, entity_id = key[len(prefix) :].partition("-")
    if not entity.isalpha() or not entity_id:
        return None
    return entity, entity_id


# The alerts (qbsync.alerts): the package's custom notification type, and the permission set
# whose assignees are the admins who receive them.
ALERT_NOTIFICATION_TYPE = "QBSync_Alert"
ADMIN_PERMISSION_SET = "QuickBooks_Sync_Admin"
