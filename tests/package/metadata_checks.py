"""Cross-reference checks of the package, on the force-app tree as `qbsync_sandbox.force_app` reads it.

The Metadata API schema checks each file on its own; these checks look across files: the
middleware's objects and fields exist with the declared type, permission sets name only what the
package defines, validation rules and list views reference real fields.
"""

from __future__ import annotations

import re

from qbsync_sandbox.force_app import MD, Package, text

# Field types whose value the platform computes: never writable through the API.
COMPUTED_TYPES = {"Summary", "AutoNumber", "Formula"}
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
# Standard objects permission sets may grant although force-app holds no source for them. Users who
# call out through an External Credential need read on UserExternalCredential (Salesforce Help,
# "Permission Concepts for User External Credentials": without it, "We couldn't access the
# credential(s)").
STANDARD_OBJECTS = {"UserExternalCredential"}
# Fields without FLS: name fields (standard objects and QB_Transaction__c) are editable with their object.
NO_FLS_STANDARD_FIELDS = {"Account": {"Name"}, "Product2": {"Name"}, "QB_Transaction__c": {"Name"}}
ADDRESS_COMPONENTS = ("Street", "City", "State", "PostalCode", "Country")


def fls_field(object_name: str, field_name: str) -> str | None:
    """The field whose FLS governs writing `object_name.field_name`; None when it has no FLS."""
    if field_name in NO_FLS_STANDARD_FIELDS.get(object_name, set()):
        return None
    for prefix in ("Billing", "Shipping", "Mailing", "Other"):
        if field_name.startswith(prefix) and field_name[len(prefix) :] in ADDRESS_COMPONENTS:
            return f"{object_name}.{prefix}Address"
    return f"{object_name}.{field_name}"


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
            object_name, _, field_name = (text(fp, "field") or "").partition(".")
            sobject = package.objects.get(object_name)
            custom_field = sobject.fields.get(field_name) if sobject else None
            where = f"{name}: field {object_name}.{field_name}"
            if custom_field is None:
                if field_name not in STANDARD_FLS_FIELDS.get(object_name, set()):
                    problems.append(f"{where} is not defined in force-app")
            elif custom_field.type == "MasterDetail" or custom_field.flag("required"):
                problems.append(f"{where} is required or master-detail: it carries no FLS")
            elif text(fp, "editable") == "true" and custom_field.type in COMPUTED_TYPES:
                problems.append(f"{where} is {custom_field.type}: it cannot be editable")
        for op in root.iterfind(MD + "objectPermissions"):
            object_name = text(op, "object")
            if object_name not in package.objects and object_name not in STANDARD_OBJECTS:
                problems.append(f"{name}: object {object_name} is not defined in force-app")
        for ts in root.iterfind(MD + "tabSettings"):
            if text(ts, "tab") not in package.tabs:
                problems.append(f"{name}: tab {text(ts, 'tab')} is not defined in force-app")
        for av in root.iterfind(MD + "applicationVisibilities"):
            if text(av, "application") not in package.applications:
                problems.append(f"{name}: application {text(av, 'application')} is not defined")
        for access in root.iterfind(MD + "externalCredentialPrincipalAccesses"):
            principal = text(access, "externalCredentialPrincipal")
            if principal not in package.credential_principals:
                problems.append(f"{name}: external credential principal {principal} is not defined")
        for ca in root.iterfind(MD + "classAccesses"):
            if text(ca, "apexClass") not in package.classes:
                problems.append(f"{name}: Apex class {text(ca, 'apexClass')} is not defined")
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


# Standard fields every object has that report types may offer beside the implied Id and Name.
AUDIT_FIELDS = {"CreatedDate", "LastModifiedDate"}
# A chart's or a summary's record count, which names no field.
ROW_COUNT = "RowCount"
REFERENCE_TYPES = {"Lookup", "MasterDetail"}


def _field_path_problem(package: Package, object_name: str, path: str) -> str | None:
    """Why `path` (`Field__c`, or `Lookup__c.Field__c` through lookups) is not a field of
    `object_name`; None when it is."""
    *hops, last = path.split(".")
    sobject = package.objects.get(object_name)
    for hop in hops:
        reference = sobject.fields.get(hop) if sobject else None
        if reference is None or reference.type not in REFERENCE_TYPES:
            return f"{object_name} has no lookup {hop}"
        object_name = reference.get("referenceTo") or ""
        sobject = package.objects.get(object_name)
    if sobject is None:
        return f"no object {object_name} in force-app"
    if sobject.field_type(last) is None and last not in AUDIT_FIELDS:
        return f"{object_name} has no field {last}"
    return None


def _report_columns(report) -> list[str]:
    """Every column a report names: detail columns, groupings, filters, sort, time frame, chart."""
    names = [c.findtext(MD + "field") for c in report.iterfind(MD + "columns")]
    for grouping in ("groupingsDown", "groupingsAcross"):
        names += [g.findtext(MD + "field") for g in report.iterfind(MD + grouping)]
    names += [c.findtext(MD + "column") for c in report.iterfind(f"{MD}filter/{MD}criteriaItems")]
    names += [
        report.findtext(MD + "sortColumn"),
        report.findtext(f"{MD}timeFrameFilter/{MD}dateColumn"),
    ]
    chart = report.find(MD + "chart")
    if chart is not None:
        names += [
            chart.findtext(MD + "groupingColumn"),
            chart.findtext(MD + "secondaryGroupingColumn"),
        ]
        names += [c.findtext(MD + "column") for c in chart.iterfind(MD + "chartSummaries")]
    return [name for name in names if name and name != ROW_COUNT]


def report_problems(package: Package) -> list[str]:
    """Report types offering fields their objects lack, reports naming a report type or a column
    it does not offer, dashboards naming reports the package lacks or running as a named user."""
    problems = []
    offered: dict[str, set[str]] = {}
    for name, report_type in package.report_types.items():
        base = report_type.findtext(MD + "baseObject") or ""
        columns = offered.setdefault(f"{name}__c", set())
        for column in report_type.iterfind(f"{MD}sections/{MD}columns"):
            table, path = column.findtext(MD + "table"), column.findtext(MD + "field") or ""
            problem = _field_path_problem(package, table or "", path)
            if table != base:
                problem = f"table {table} is not the base object {base}"
            if problem:
                problems.append(f"report type {name}: {path}: {problem}")
            columns.add(f"{table}${path}")
    for name, report in package.reports.items():
        report_type = report.findtext(MD + "reportType") or ""
        if report_type not in offered:
            problems.append(f"report {name}: no report type {report_type} in force-app")
            continue
        for column in _report_columns(report):
            if column not in offered[report_type]:
                problems.append(f"report {name}: {report_type} offers no column {column}")
    for name, dashboard in package.dashboards.items():
        if dashboard.findtext(MD + "dashboardType") != "LoggedInUser":
            problems.append(f"dashboard {name}: runs as a named user, not LoggedInUser")
        for report in dashboard.iter(MD + "report"):
            if report.text not in package.reports:
                problems.append(f"dashboard {name}: no report {report.text} in force-app")
    return problems
