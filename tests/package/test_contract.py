"""The package's data model is the contract with the middleware (brief: "Salesforce data model").

These tests read force-app and fail when an object or field the middleware reads or writes is
missing or typed differently, when a permission set names something the package lacks, or when a
validation rule or list view references a field that does not exist.
"""

from __future__ import annotations

import pathlib
import re
import shutil

import pytest
from lxml import etree

from qbsync.catalog import load_catalog
from qbsync.salesforce import schema
from qbsync_sandbox.force_app import MD, Package, load_package

from .conftest import DEFAULT, FORCE_APP
from .metadata_checks import (
    STANDARD_FLS_FIELDS,
    contract_problems,
    fls_field,
    permission_set_problems,
    reference_problems,
)


@pytest.fixture(scope="module")
def package() -> Package:
    return load_package(FORCE_APP)


def _field(package: Package, qualified: str):
    object_name, field_name = qualified.split(".")
    return package.objects[object_name].fields[field_name]


# ---------------------------------------------------------------- the checks on the real tree


def test_every_field_the_middleware_uses_exists_with_its_type(package: Package) -> None:
    assert contract_problems(package, schema.READS, schema.WRITES) == []


def test_permission_sets_name_only_what_the_package_defines(package: Package) -> None:
    assert set(package.permission_sets) == {
        "QuickBooks_Sync_Admin",
        "QuickBooks_Sync_Integration",
    }
    assert permission_set_problems(package) == []


def test_validation_rules_and_list_views_reference_existing_fields(package: Package) -> None:
    assert reference_problems(package) == []


# ---------------------------------------------------------------- the data model of the brief

TEXT_FIELDS = {
    # field: (length, required, unique, externalId, caseSensitive or None when not unique)
    "QB_Company__c.Realm_Id__c": (32, True, True, True, False),
    "QB_Object_Mapping__c.QB_Object__c": (80, True, False, False, None),
    "QB_Object_Mapping__c.Salesforce_Object__c": (80, True, False, False, None),
    "QB_Object_Mapping__c.External_Id_Field__c": (80, True, False, False, None),
    "QB_Object_Mapping__c.Company_Object_Key__c": (120, True, True, False, False),
    "QB_Field_Mapping__c.QB_Field__c": (255, True, False, False, None),
    "QB_Field_Mapping__c.Salesforce_Field__c": (80, True, False, False, None),
    "QB_Field_Mapping__c.Default_Value__c": (255, False, False, False, None),
    "QB_Sync_Log__c.Event_Key__c": (255, False, True, True, True),
    "QB_Sync_Log__c.QB_Object__c": (80, False, False, False, None),
    "QB_Sync_Log__c.QB_Record_Id__c": (64, False, False, False, None),
    "QB_Sync_Log__c.Operation__c": (20, False, False, False, None),
    "QB_Sync_Log__c.Salesforce_Object__c": (80, False, False, False, None),
    "QB_Sync_Log__c.Salesforce_Record_Id__c": (18, False, False, False, None),
    "Account.QB_External_Id__c": (255, False, True, True, True),
    "Product2.QB_External_Id__c": (255, False, True, True, True),
    # Issue #17's jobs and match reviews (docs/data-model.md).
    "QB_Sync_Job__c.Job_Key__c": (64, False, True, True, True),
    "QB_Sync_Job__c.QB_Object__c": (80, False, False, False, None),
    "QB_Sync_Job__c.Salesforce_Object__c": (80, False, False, False, None),
    "QB_Match_Review__c.QB_Object__c": (80, False, False, False, None),
    "QB_Match_Review__c.QB_Record_Id__c": (64, False, False, False, None),
    "QB_Match_Review__c.QB_Record_Name__c": (255, False, False, False, None),
    "QB_Match_Review__c.Salesforce_Object__c": (80, False, False, False, None),
    "QB_Match_Review__c.Matched_By__c": (255, False, False, False, None),
    "QB_Match_Review__c.Resolved_Record_Id__c": (18, False, False, False, None),
}


@pytest.mark.parametrize("qualified", sorted(TEXT_FIELDS))
def test_text_fields_match_the_brief(package: Package, qualified: str) -> None:
    length, required, unique, external_id, case_sensitive = TEXT_FIELDS[qualified]
    field = _field(package, qualified)
    assert field.type == "Text"
    assert field.attrs.get("length") == str(length)
    assert field.flag("required") is required
    assert field.flag("unique") is unique
    assert field.flag("externalId") is external_id
    if case_sensitive is not None:
        assert field.flag("caseSensitive") is case_sensitive


def field_xml(qualified: str) -> etree._Element:
    object_name, field_name = qualified.split(".")
    path = DEFAULT / "objects" / object_name / "fields" / f"{field_name}.field-meta.xml"
    return etree.parse(str(path)).getroot()


@pytest.mark.parametrize(
    ("qualified", "values", "default"),
    [
        ("QB_Company__c.Status__c", schema.COMPANY_STATUSES, None),
        ("QB_Company__c.Environment__c", ("sandbox", "production"), None),
        ("QB_Object_Mapping__c.Delete_Behavior__c", schema.DELETE_BEHAVIORS, "Ignore"),
        ("QB_Field_Mapping__c.Transform__c", schema.TRANSFORMS, None),
        ("QB_Sync_Log__c.Status__c", schema.SYNC_LOG_STATUSES, None),
        ("QB_Sync_Job__c.State__c", ("Queued", "Running", "Done", "Failed", "Cancelled"), None),
        ("QB_Sync_Job__c.Write_Mode__c", ("Collections", "Bulk API 2.0"), None),
        ("QB_Match_Review__c.Status__c", ("Open", "Linked", "Created", "Skipped"), "Open"),
    ],
)
def test_picklists_hold_the_values_the_middleware_uses(
    package: Package, qualified: str, values: tuple[str, ...], default: str | None
) -> None:
    field = _field(package, qualified)
    assert field.type == "Picklist"
    _assert_restricted_values(qualified, field, values, default)


def _assert_restricted_values(qualified, field, values, default) -> None:
    assert tuple(field.picklist_values) == tuple(values)
    # Restricted: a value the middleware does not know can never be stored.
    root = field_xml(qualified)
    assert root.findtext(f"{MD}valueSet/{MD}restricted") == "true"
    defaults = [
        v.findtext(MD + "fullName")
        for v in root.iterfind(f"{MD}valueSet/{MD}valueSetDefinition/{MD}value")
        if v.findtext(MD + "default") == "true"
    ]
    assert defaults == ([default] if default else [])


def test_match_rules_are_a_multi_select_picklist(package: Package) -> None:
    # Several rules per object, stored as "Name;Phone" (docs/data-model.md).
    field = _field(package, "QB_Object_Mapping__c.Match_Rules__c")
    assert field.type == "MultiselectPicklist"
    _assert_restricted_values(
        "QB_Object_Mapping__c.Match_Rules__c", field, ("Name", "EmailDomain", "Phone", "SKU"), None
    )
    assert field.attrs["visibleLines"] == "4"


@pytest.mark.parametrize(
    ("qualified", "field_type"),
    [
        ("QB_Company__c.Connected_At__c", "DateTime"),
        ("QB_Company__c.Refresh_Token_Expires_At__c", "DateTime"),
        ("QB_Company__c.Refresh_Token_Hard_Expires_At__c", "DateTime"),
        ("QB_Company__c.Last_Event_At__c", "DateTime"),
        ("QB_Company__c.Renewed_At__c", "DateTime"),
        ("QB_Sync_Log__c.Event_Time__c", "DateTime"),
        ("QB_Sync_Log__c.Synced_At__c", "DateTime"),
        ("QB_Company__c.Last_Error__c", "LongTextArea"),
        ("QB_Sync_Log__c.Message__c", "LongTextArea"),
        ("QB_Sync_Job__c.Since__c", "DateTime"),
        ("QB_Sync_Job__c.Started_At__c", "DateTime"),
        ("QB_Sync_Job__c.Finished_At__c", "DateTime"),
        ("QB_Sync_Job__c.ETA__c", "DateTime"),
        ("QB_Sync_Job__c.Message__c", "LongTextArea"),
    ],
)
def test_datetime_and_long_text_fields(package: Package, qualified: str, field_type: str) -> None:
    field = _field(package, qualified)
    assert field.type == field_type
    if field_type == "LongTextArea":
        assert field.attrs["length"] == "32768"


JOB_COUNTS = (
    "Total__c",
    "Processed__c",
    "Created__c",
    "Updated__c",
    "Matched__c",
    "Ambiguous__c",
    "Failed__c",
)


def test_number_and_checkbox_fields(package: Package) -> None:
    latency = _field(package, "QB_Sync_Log__c.Latency_Ms__c")
    attempts = _field(package, "QB_Sync_Log__c.Attempts__c")
    assert (latency.type, latency.attrs["precision"], latency.attrs["scale"]) == (
        "Number",
        "18",
        "0",
    )
    assert (attempts.type, attempts.attrs["precision"], attempts.attrs["scale"]) == (
        "Number",
        "4",
        "0",
    )
    for name in JOB_COUNTS:
        count = _field(package, f"QB_Sync_Job__c.{name}")
        assert (count.type, count.attrs["precision"], count.attrs["scale"]) == ("Number", "10", "0")
    for name, default in (("Success", "14"), ("Failure", "90")):
        days = _field(package, f"QB_Company__c.Log_Retention_{name}_Days__c")
        assert (days.type, days.attrs["precision"], days.attrs["scale"]) == ("Number", "4", "0")
        assert days.attrs["defaultValue"] == default
    realtime = _field(package, "QB_Object_Mapping__c.Realtime_Enabled__c")
    active = _field(package, "Account.QB_Active__c")
    assert (realtime.type, realtime.attrs["defaultValue"]) == ("Checkbox", "false")
    assert (active.type, active.attrs["defaultValue"]) == ("Checkbox", "true")


def test_names_and_relationships_match_the_configuration_query(package: Package) -> None:
    objects = package.objects
    assert objects["QB_Company__c"].name_field_type == "Text"
    assert objects["QB_Object_Mapping__c"].name_field_type == "AutoNumber"
    company = _field(package, "QB_Object_Mapping__c.Company__c")
    assert (company.type, company.attrs["referenceTo"]) == ("MasterDetail", "QB_Company__c")
    assert company.attrs["relationshipName"] == "Object_Mappings"
    assert schema.COMPANY_RELATIONSHIP == company.name.removesuffix("__c") + "__r"
    parent = _field(package, "QB_Field_Mapping__c.Object_Mapping__c")
    assert (parent.type, parent.attrs["referenceTo"]) == ("MasterDetail", "QB_Object_Mapping__c")
    assert schema.FIELD_MAPPINGS_RELATIONSHIP == parent.attrs["relationshipName"] + "__r"
    count = _field(package, "QB_Object_Mapping__c.Field_Mapping_Count__c")
    assert (count.type, count.attrs["summaryOperation"]) == ("Summary", "count")
    assert count.attrs["summaryForeignKey"] == "QB_Field_Mapping__c.Object_Mapping__c"
    log_company = _field(package, "QB_Sync_Log__c.Company__c")
    assert (log_company.type, log_company.attrs["referenceTo"]) == ("Lookup", "QB_Company__c")
    sync_log_key = _field(package, f"QB_Sync_Log__c.{schema.SYNC_LOG_EXTERNAL_ID}")
    assert sync_log_key.flag("externalId") and sync_log_key.flag("unique")
    # A job belongs to a company: a required lookup, so Restrict (Salesforce clears a SetNull
    # lookup on delete, which a required field cannot be). A review found by a job names it;
    # one found by real-time sync has none, so the lookup is optional (and still Restrict: a job
    # is not deleted from under its reviews).
    for qualified, target, required in (
        ("QB_Sync_Job__c.Company__c", "QB_Company__c", True),
        ("QB_Match_Review__c.Sync_Job__c", "QB_Sync_Job__c", False),
    ):
        lookup = _field(package, qualified)
        assert (lookup.type, lookup.attrs["referenceTo"]) == ("Lookup", target)
        assert (lookup.flag("required"), lookup.attrs["deleteConstraint"]) == (required, "Restrict")
    review_company = _field(package, "QB_Match_Review__c.Company__c")
    assert (review_company.type, review_company.flag("required")) == ("Lookup", False)
    candidates = _field(package, "QB_Match_Review__c.Candidate_Ids__c")
    assert (candidates.type, candidates.attrs["length"]) == ("LongTextArea", "4000")


def test_auto_number_formats() -> None:
    formats = {}
    for name in (
        "QB_Object_Mapping__c",
        "QB_Field_Mapping__c",
        "QB_Sync_Log__c",
        "QB_Sync_Job__c",
        "QB_Match_Review__c",
    ):
        path = DEFAULT / "objects" / name / f"{name}.object-meta.xml"
        formats[name] = (
            etree.parse(str(path)).getroot().findtext(f"{MD}nameField/{MD}displayFormat")
        )
    assert formats == {
        "QB_Object_Mapping__c": "OM-{0000}",
        "QB_Field_Mapping__c": "FM-{00000}",
        "QB_Sync_Log__c": "SL-{0000000}",
        "QB_Sync_Job__c": "JOB-{00000}",
        "QB_Match_Review__c": "MR-{00000}",
    }


def test_validation_rules(package: Package) -> None:
    rules = package.objects["QB_Object_Mapping__c"].validation_rules
    realtime = rules["Realtime_Requires_Field_Mappings"]
    assert realtime["active"] == "true"
    # Line mappings follow their parent's switch (docs/data-model.md), so the rule skips them.
    assert realtime["errorConditionFormula"] == (
        "AND(ISBLANK(Parent_Mapping__c), Realtime_Enabled__c, Field_Mapping_Count__c = 0)"
    )
    assert realtime["errorMessage"] == "Add field mappings before enabling real-time sync."
    assert realtime["errorDisplayField"] == "Realtime_Enabled__c"
    key = rules["Company_Object_Key_Matches"]
    assert key["active"] == "true"
    formula = " ".join(key["errorConditionFormula"].split())
    assert formula == (
        "Company_Object_Key__c <> IF(ISBLANK(Parent_Mapping__c), "
        'CASESAFEID(Company__c) & ":" & QB_Object__c, '
        'Parent_Mapping__r.Company_Object_Key__c & ":" & Collection_Path__c)'
    )


def test_sync_log_list_views(package: Package) -> None:
    views = package.objects["QB_Sync_Log__c"].list_views
    assert set(views) == {"Failed", "All"}
    filters = {
        (f.findtext(MD + "field"), f.findtext(MD + "operation"), f.findtext(MD + "value"))
        for f in views["Failed"].iterfind(MD + "filters")
    }
    # Every failure, not only today's: an older one is as much in need of a fix.
    assert filters == {("Status__c", "equals", "Failed")}
    assert views["All"].find(MD + "filters") is None
    for view in views.values():
        assert view.findtext(MD + "filterScope") == "Everything"
        # What an admin needs to act on a log without opening it.
        columns = [c.text for c in view.iterfind(MD + "columns")]
        assert {"Message__c", "Record_Name__c", "Salesforce_Record__c"} <= set(columns)


# ---------------------------------------------------------------- what the permission sets grant

TRANSACTION_OBJECTS = (
    "QB_Transaction__c",
    "QB_Transaction_Line__c",
    "QB_Payment__c",
    "QB_Payment_Line__c",
)


def _object_access(package: Package, permission_set: str) -> dict[str, tuple[bool, ...]]:
    root = package.permission_sets[permission_set]
    keys = ("allowRead", "allowCreate", "allowEdit", "allowDelete")
    return {
        op.findtext(MD + "object"): tuple(op.findtext(MD + k) == "true" for k in keys)
        for op in root.iterfind(MD + "objectPermissions")
    }


def _field_access(package: Package, permission_set: str) -> dict[str, tuple[bool, bool]]:
    root = package.permission_sets[permission_set]
    return {
        fp.findtext(MD + "field"): (
            fp.findtext(MD + "readable") == "true",
            fp.findtext(MD + "editable") == "true",
        )
        for fp in root.iterfind(MD + "fieldPermissions")
    }


def _fls_fields(package: Package) -> set[str]:
    """Every custom field in force-app that can carry field-level security."""
    return {
        f"{o.name}.{f.name}"
        for o in package.objects.values()
        for f in o.fields.values()
        if f.type != "MasterDetail" and not f.flag("required")
    }


def test_admin_permission_set(package: Package) -> None:
    root = package.permission_sets["QuickBooks_Sync_Admin"]
    # Only the admin's Apex calls the middleware, so only the admin may use the key's principal.
    assert [
        (a.findtext(MD + "externalCredentialPrincipal"), a.findtext(MD + "enabled"))
        for a in root.iterfind(MD + "externalCredentialPrincipalAccesses")
    ] == [("QBSync_Middleware-Middleware", "true")]
    assert package.credential_principals == {"QBSync_Middleware-Middleware"}
    assert {"QBSetupController", "QBConnectionController"} <= {
        c.findtext(MD + "apexClass") for c in root.iterfind(MD + "classAccesses")
    }
    assert [
        a.findtext(MD + "application") for a in root.iterfind(MD + "applicationVisibilities")
    ] == ["QuickBooks_Sync"]
    assert {t.findtext(MD + "tab") for t in root.iterfind(MD + "tabSettings")} == {
        "QB_Setup",
        "QB_Sync_Log__c",
        "QB_Transaction__c",
        "QB_Payment__c",
    }
    assert "QBSetupController" in {
        c.findtext(MD + "apexClass") for c in root.iterfind(MD + "classAccesses")
    }
    crud = (True, True, True, True)
    read_create_edit = (True, True, True, False)
    read_only = (True, False, False, False)
    assert _object_access(package, "QuickBooks_Sync_Admin") == {
        "QB_Company__c": crud,
        "QB_Object_Mapping__c": crud,
        "QB_Field_Mapping__c": crud,
        "QB_Sync_Log__c": read_only,
        # Jobs are the middleware's to write; the admin resolves reviews (through the middleware,
        # which writes the record, or by editing Status__c in a list view).
        "QB_Sync_Job__c": read_only,
        "QB_Match_Review__c": (True, False, True, False),
        # Mapping targets: QBMappingService offers objects the admin can create and fields the
        # admin can write (the describe in user mode), nothing comes through the profile.
        "Account": read_create_edit,
        "Product2": read_create_edit,
        **dict.fromkeys(TRANSACTION_OBJECTS, read_create_edit),
        # Callouts through the QBSync_Middleware External Credential (Connect, Notify, Retry).
        "UserExternalCredential": read_only,
    }
    fls = _field_access(package, "QuickBooks_Sync_Admin")
    custom_fls = {name for name in fls if name.split(".")[1].endswith("__c")}
    assert custom_fls == _fls_fields(package), "the admin sees every custom field with FLS"
    assert all(readable for readable, _ in fls.values())
    for name in (
        "QB_Object_Mapping__c.Realtime_Enabled__c",
        "QB_Object_Mapping__c.Delete_Behavior__c",
        "QB_Field_Mapping__c.Transform__c",
        "QB_Field_Mapping__c.Default_Value__c",
        "QB_Object_Mapping__c.Match_Rules__c",
        "QB_Match_Review__c.Status__c",
    ):
        assert fls[name] == (True, True), f"the admin edits {name}"
    for prefix in ("QB_Sync_Log__c.", "QB_Sync_Job__c."):
        assert not any(edit for name, (_, edit) in fls.items() if name.startswith(prefix))
    assert [n for n, (_, e) in fls.items() if n.startswith("QB_Match_Review__c.") and e] == [
        "QB_Match_Review__c.Status__c"
    ]


def test_integration_permission_set(package: Package) -> None:
    root = package.permission_sets["QuickBooks_Sync_Integration"]
    assert root.find(MD + "applicationVisibilities") is None
    read_create_edit = (True, True, True, False)
    read_only = (True, False, False, False)
    crud = (True, True, True, True)  # Delete: the worker applies delete behaviour "Delete"
    assert _object_access(package, "QuickBooks_Sync_Integration") == {
        "QB_Company__c": read_create_edit,
        "QB_Object_Mapping__c": read_only,
        "QB_Field_Mapping__c": read_only,
        "QB_Sync_Log__c": crud,  # Delete: the middleware purges old sync logs (log retention)
        "QB_Sync_Job__c": read_create_edit,
        "QB_Match_Review__c": read_create_edit,
        "Account": crud,
        "Product2": crud,
        # Lines removed in QuickBooks are deleted; parents follow the delete behaviour.
        **dict.fromkeys(TRANSACTION_OBJECTS, crud),
    }
    fls = _field_access(package, "QuickBooks_Sync_Integration")
    fls_capable = _fls_fields(package)
    for object_name, fields in schema.WRITES.items():
        for field_name in fields:
            name = f"{object_name}.{field_name}"
            if name in fls_capable:
                assert fls.get(name) == (True, True), f"the middleware writes {name}"
    for object_name, fields in schema.READS.items():
        for field_name in fields:
            name = f"{object_name}.{field_name}"
            if name in fls_capable:
                assert fls.get(name, (False, False))[0], f"the middleware reads {name}"
    # The backfill writes jobs and reviews (docs/data-model.md) and reads the match rules.
    for name in fls_capable:
        if name.startswith(("QB_Sync_Job__c.", "QB_Match_Review__c.")):
            assert fls.get(name) == (True, True), f"the middleware writes {name}"
    assert fls["QB_Object_Mapping__c.Match_Rules__c"] == (True, False)
    # The alerts (qbsync.alerts): ViewSetup reads who is assigned QuickBooks_Sync_Admin,
    # SendCustomNotifications sends the custom notification over REST.
    assert [p.findtext(MD + "name") for p in root.iterfind(MD + "userPermissions")] == [
        "ApiEnabled",
        "SendCustomNotifications",
        "ViewSetup",
    ]


def _recommended_targets(external_ids: bool = True) -> set[tuple[str, str]]:
    """Fields the recommended mappings write; with the external ids the worker sets itself."""
    catalog = load_catalog()
    fields = {
        (mapping.salesforce_object, field.salesforce_field)
        for mapping in catalog.recommended
        for field in mapping.fields
    }
    if external_ids:
        fields |= {(m.salesforce_object, m.external_id_field) for m in catalog.recommended}
    return fields


def unwritable_recommended_targets(
    package: Package, permission_set: str = "QuickBooks_Sync_Integration"
) -> list[str]:
    """Fields a recommended mapping writes that the permission set does not let its user write."""
    fls = _field_access(package, permission_set)
    objects = _object_access(package, permission_set)
    problems = []
    # The admin maps fields and only names the external id (QBMappingService checks it exists and
    # is an external id); the integration user writes both.
    external_ids = permission_set == "QuickBooks_Sync_Integration"
    for object_name, field_name in sorted(_recommended_targets(external_ids)):
        if objects.get(object_name, (False,) * 4)[1:3] != (True, True):
            problems.append(f"{object_name}: no create and edit")
        governing = fls_field(object_name, field_name)
        if governing is not None and fls.get(governing) != (True, True):
            problems.append(f"{object_name}.{field_name} (FLS on {governing})")
    return problems


def test_integration_user_can_write_every_field_a_recommended_mapping_targets(
    package: Package,
) -> None:
    assert ("Account", "BillingCity") in _recommended_targets(), "recommended mappings changed"
    assert unwritable_recommended_targets(package) == []


def test_admin_can_map_every_field_a_recommended_mapping_targets(package: Package) -> None:
    # "Use recommended mappings" runs as the admin: QBMappingService refuses a target field the
    # admin cannot write ("Account.QB_Active__c cannot be written") and the field picker hides it.
    assert unwritable_recommended_targets(package, "QuickBooks_Sync_Admin") == []
    fls = _field_access(package, "QuickBooks_Sync_Admin")
    for object_name in ("Account", "Product2"):
        assert fls[f"{object_name}.QB_External_Id__c"] == (True, False)


def test_admin_mapping_check_fails_on_a_read_only_target(broken_copy: pathlib.Path) -> None:
    path = broken_copy / "main/default/permissionsets/QuickBooks_Sync_Admin.permissionset-meta.xml"
    text = path.read_text()
    block = (
        "<fieldPermissions>\n        <editable>true</editable>\n"
        "        <field>Account.QB_Active__c</field>"
    )
    assert block in text
    path.write_text(text.replace(block, block.replace("true", "false", 1)))
    assert unwritable_recommended_targets(load_package(broken_copy), "QuickBooks_Sync_Admin") == [
        "Account.QB_Active__c (FLS on Account.QB_Active__c)"
    ]


def test_standard_fields_granted_are_the_recommended_targets(package: Package) -> None:
    # No standard field is granted "just in case": each one is written by a recommended mapping.
    governing = {fls_field(o, f) for o, f in _recommended_targets()} - {None}
    granted = {f"{o}.{f}" for o, fields in STANDARD_FLS_FIELDS.items() for f in fields}
    assert granted <= governing
    assert granted == {
        name
        for name in _field_access(package, "QuickBooks_Sync_Integration")
        if name.split(".")[1] in STANDARD_FLS_FIELDS.get(name.split(".")[0], set())
    }


@pytest.mark.parametrize(
    ("qualified", "governing"),
    [
        ("Account.BillingCity", "Account.BillingAddress"),
        ("Account.ShippingPostalCode", "Account.ShippingAddress"),
        ("Account.Name", None),
        ("Product2.IsActive", "Product2.IsActive"),
        ("Account.QB_Active__c", "Account.QB_Active__c"),
    ],
)
def test_fls_field_of_standard_and_address_fields(qualified: str, governing: str | None) -> None:
    assert fls_field(*qualified.split(".")) == governing


def test_recommended_target_check_fails_without_the_grant(broken_copy: pathlib.Path) -> None:
    path = (
        broken_copy
        / "main/default/permissionsets/QuickBooks_Sync_Integration.permissionset-meta.xml"
    )
    text = path.read_text()
    block = (
        "<fieldPermissions>\n        <editable>true</editable>\n"
        "        <field>Account.BillingAddress</field>"
    )
    assert block in text
    path.write_text(text.replace(block, block.replace("true", "false", 1)))
    assert unwritable_recommended_targets(load_package(broken_copy)) == [
        f"Account.Billing{part} (FLS on Account.BillingAddress)"
        for part in sorted(("City", "Country", "PostalCode", "State", "Street"))
    ]


def test_permission_set_check_refuses_a_standard_field_outside_the_list(
    broken_copy: pathlib.Path,
) -> None:
    path = (
        broken_copy
        / "main/default/permissionsets/QuickBooks_Sync_Integration.permissionset-meta.xml"
    )
    extra = (
        "<fieldPermissions><editable>true</editable><field>Account.AnnualRevenue</field>"
        "<readable>true</readable></fieldPermissions>"
    )
    path.write_text(path.read_text().replace("</PermissionSet>", extra + "</PermissionSet>"))
    assert permission_set_problems(load_package(broken_copy)) == [
        "QuickBooks_Sync_Integration: field Account.AnnualRevenue is not defined in force-app"
    ]


# ---------------------------------------------------------------- the checks fail on broken metadata


@pytest.fixture
def broken_copy(tmp_path: pathlib.Path) -> pathlib.Path:
    copy = tmp_path / "force-app"
    shutil.copytree(FORCE_APP, copy, ignore=shutil.ignore_patterns("lwc", "test", "node_modules"))
    return copy


def _objects(copy: pathlib.Path) -> pathlib.Path:
    return copy / "main" / "default" / "objects"


def test_contract_check_reports_a_missing_field(broken_copy: pathlib.Path) -> None:
    (_objects(broken_copy) / "QB_Sync_Log__c/fields/Event_Key__c.field-meta.xml").unlink()
    problems = contract_problems(load_package(broken_copy), schema.READS, schema.WRITES)
    assert problems == ["middleware writes QB_Sync_Log__c.Event_Key__c: no such field in force-app"]


def test_contract_check_reports_a_changed_type(broken_copy: pathlib.Path) -> None:
    path = _objects(broken_copy) / "QB_Object_Mapping__c/fields/Realtime_Enabled__c.field-meta.xml"
    path.write_text(path.read_text().replace("<type>Checkbox</type>", "<type>Text</type>"))
    problems = contract_problems(load_package(broken_copy), schema.READS, schema.WRITES)
    assert problems == [
        "middleware reads QB_Object_Mapping__c.Realtime_Enabled__c: declared Checkbox, force-app has Text"
    ]


def test_contract_check_reports_a_computed_field_the_middleware_writes(
    broken_copy: pathlib.Path,
) -> None:
    writes = {"QB_Object_Mapping__c": {"Field_Mapping_Count__c": "Summary"}}
    problems = contract_problems(load_package(broken_copy), {}, writes)
    assert problems == [
        "middleware writes QB_Object_Mapping__c.Field_Mapping_Count__c: Summary fields cannot be written"
    ]


def test_permission_set_check_reports_unknown_and_required_fields(
    broken_copy: pathlib.Path,
) -> None:
    path = broken_copy / "main/default/permissionsets/QuickBooks_Sync_Admin.permissionset-meta.xml"
    extra = (
        "<fieldPermissions><editable>false</editable><field>QB_Company__c.Nope__c</field>"
        "<readable>true</readable></fieldPermissions>"
        "<fieldPermissions><editable>true</editable><field>QB_Company__c.Realm_Id__c</field>"
        "<readable>true</readable></fieldPermissions>"
        "<tabSettings><tab>Missing_Tab</tab><visibility>Visible</visibility></tabSettings>"
        "<externalCredentialPrincipalAccesses><enabled>true</enabled>"
        "<externalCredentialPrincipal>QBSync_Middleware-Nobody</externalCredentialPrincipal>"
        "</externalCredentialPrincipalAccesses>"
    )
    path.write_text(path.read_text().replace("</PermissionSet>", extra + "</PermissionSet>"))
    assert permission_set_problems(load_package(broken_copy)) == [
        "QuickBooks_Sync_Admin: field QB_Company__c.Nope__c is not defined in force-app",
        "QuickBooks_Sync_Admin: field QB_Company__c.Realm_Id__c is required or master-detail: "
        "it carries no FLS",
        "QuickBooks_Sync_Admin: tab Missing_Tab is not defined in force-app",
        "QuickBooks_Sync_Admin: external credential principal QBSync_Middleware-Nobody "
        "is not defined",
    ]


def test_reference_check_reports_a_validation_rule_on_a_missing_field(
    broken_copy: pathlib.Path,
) -> None:
    (
        _objects(broken_copy) / "QB_Object_Mapping__c/fields/Field_Mapping_Count__c.field-meta.xml"
    ).unlink()
    assert reference_problems(load_package(broken_copy)) == [
        "QB_Object_Mapping__c rule Realtime_Requires_Field_Mappings: no field Field_Mapping_Count__c"
    ]


# ---------------------------------------------------------------- the components' Apex contract

AURA_METHOD = re.compile(
    r"@AuraEnabled(?:\([^)]*\))?\s+public\s+static\s+[\w.<>, ]+?\s+(\w+)\s*\(", re.IGNORECASE
)
APEX_IMPORT = re.compile(r"@salesforce/apex/(\w+)\.(\w+)")


def aura_methods(force_app: pathlib.Path) -> set[str]:
    """`Class.method` of every public static @AuraEnabled method under force_app."""
    return {
        f"{path.stem}.{name}"
        for path in force_app.rglob("*.cls")
        for name in AURA_METHOD.findall(path.read_text())
    }


def test_controller_exposes_the_methods_the_components_use() -> None:
    exposed = aura_methods(FORCE_APP)
    assert exposed == {
        f"QBSetupController.{name}"
        for name in (
            "getCompanies",
            "getCreateableObjects",
            "getObjectMappings",
            "getLineMappings",
            "saveObjectMapping",
            "deleteObjectMapping",
            "getFieldMappings",
            "saveFieldMappings",
            "saveRealtimeSettings",
            "saveLogRetention",
        )
    } | {
        f"QBConnectionController.{name}"
        for name in (
            "startConnection",
            "disconnect",
            "getConnections",
            "notifyConfigChanged",
            "getConfigNotification",
        )
    } | {
        f"QBBackfillController.{name}"
        for name in (
            "startBackfill",
            "cancelBackfill",
            "listJobs",
            "listMatchReviews",
            "resolveMatchReview",
        )
    } | {
        f"QBHealthController.{name}" for name in ("getHealth", "getRecentLogs", "testConnection")
    } | {"QBSyncLogController.retry", "QBCatalogController.getCatalog"}
    imported = {
        f"{cls}.{method}"
        for path in (DEFAULT / "lwc").rglob("*.js")
        if "__tests__" not in path.parts
        for cls, method in APEX_IMPORT.findall(path.read_text())
    }
    assert imported - exposed == set(), "components import Apex methods that do not exist"


def test_admin_may_call_every_controller_the_components_use(package: Package) -> None:
    root = package.permission_sets["QuickBooks_Sync_Admin"]
    granted = {c.findtext(MD + "apexClass") for c in root.iterfind(MD + "classAccesses")}
    used = {
        cls
        for path in (DEFAULT / "lwc").rglob("*.js")
        if "__tests__" not in path.parts
        for cls, _ in APEX_IMPORT.findall(path.read_text())
    }
    assert used, "no component imports Apex: the import pattern is out of date"
    assert used - granted == set(), "the admin permission set lacks a class the components call"


def test_apex_method_check_sees_a_removed_method(tmp_path: pathlib.Path) -> None:
    controller = DEFAULT / "classes" / "QBSetupController.cls"
    source = controller.read_text().replace("getCompanies()", "listCompanies()")
    (tmp_path / "QBSetupController.cls").write_text(source)
    found = aura_methods(tmp_path)
    assert "QBSetupController.getCompanies" not in found
    assert "QBSetupController.listCompanies" in found


def test_the_alerts_notification_type_and_admin_permission_set_exist(package: Package) -> None:
    # qbsync.alerts looks both up by name in the org.
    kind = package.notification_types[schema.ALERT_NOTIFICATION_TYPE]
    assert (kind.desktop, kind.mobile) == (True, True), (
        "alerts reach the desktop and the mobile app"
    )
    assert schema.ADMIN_PERMISSION_SET in package.permission_sets
