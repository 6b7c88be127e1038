"""The QuickBooks object catalog: its content, its loader, its path rules and its package copy."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qbsync.catalog import (
    FIELD_TYPES,
    CatalogError,
    is_path,
    load_catalog,
    parse_catalog,
    path_matches,
)
from qbsync.salesforce import schema
from tests.support.paths import REPO_ROOT as ROOT

JSON_PATH = ROOT / "middleware" / "qbsync" / "catalog" / "qbo_catalog.json"
RESOURCE_PATH = ROOT / "force-app" / "main" / "default" / "staticresources" / "QBSync_Catalog.json"
RESOURCE_META = RESOURCE_PATH.with_name("QBSync_Catalog.resource-meta.xml")
SYNC_SCRIPT = ROOT / "scripts" / "sync-catalog"
PATH_CASES = json.loads(
    (ROOT / "tests" / "fixtures" / "catalog" / "path_cases.json").read_text(encoding="utf-8")
)
APEX_CASES = ROOT / "force-app" / "tests" / "classes" / "QBCatalog_Tests.cls"

# Entities Intuit's webhooks support (research/quickbooks.md §1d, configure-webhooks page), by
# their Accounting API names: the page's Currency is the v3 entity CompanyCurrency.
WEBHOOK_ENTITIES = {
    "Account", "Bill", "BillPayment", "Budget", "Class", "CreditMemo", "CompanyCurrency", "Customer",
    "Department", "Deposit", "Employee", "Estimate", "Invoice", "Item", "JournalCode",
    "JournalEntry", "Payment", "PaymentMethod", "Preferences", "Purchase", "PurchaseOrder",
    "RefundReceipt", "SalesReceipt", "TaxAgency", "Term", "TimeActivity", "Transfer", "Vendor",
    "VendorCredit",
}  # fmt: skip
MERGE_ENTITIES = {"Customer", "Vendor", "Account", "Item", "Class", "Employee"}
VOID_ENTITIES = {
    "BillPayment", "CreditMemo", "Invoice", "Payment", "Purchase", "RefundReceipt",
    "SalesReceipt", "Transfer",
}  # fmt: skip
NO_CDC_ENTITIES = {"JournalCode", "TaxAgency", "TimeActivity"}
ENTITIES_WITH_FIELDS = [
    "Customer", "Vendor", "Employee", "Item", "Invoice", "Estimate", "Payment", "SalesReceipt",
    "CreditMemo", "Bill", "PurchaseOrder",
]  # fmt: skip
# Transactions whose lines (and, on sales forms and purchase orders, custom fields) the catalog
# describes with path patterns.
SALES_FORMS = ["CreditMemo", "Estimate", "Invoice", "RefundReceipt", "SalesReceipt"]
EXPENSE_FORMS = ["Bill", "Purchase", "PurchaseOrder", "VendorCredit"]

# Standard fields that exist and are updateable via the API (Salesforce Object Reference,
# Account and Product2). Recommended mappings may target only these or the package's fields.
STANDARD_UPDATEABLE = {
    "Account": {
        "Name", "AccountNumber", "Phone", "Fax", "Website", "Description", "Industry", "Type",
        "BillingStreet", "BillingCity", "BillingState", "BillingPostalCode", "BillingCountry",
        "ShippingStreet", "ShippingCity", "ShippingState", "ShippingPostalCode", "ShippingCountry",
    },
    "Product2": {"Name", "ProductCode", "Description", "IsActive", "Family", "StockKeepingUnit"},
}  # fmt: skip


def raw_json() -> dict:
    return json.loads(JSON_PATH.read_text(encoding="utf-8"))


def run_sync(*args: str, root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(root / "scripts" / "sync-catalog"), *args],
        capture_output=True,
        text=True,
        check=False,
    )


# --- the package copy: the static resource QBSync_Catalog ---


def test_static_resource_is_a_byte_copy_of_the_json():
    assert RESOURCE_PATH.read_bytes() == JSON_PATH.read_bytes(), (
        "QBSync_Catalog.json differs from qbo_catalog.json: edit the JSON, then run scripts/sync-catalog"
    )


def test_sync_catalog_check_passes_on_the_committed_copy():
    result = run_sync("--check")
    assert result.returncode == 0, result.stderr


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The script, the JSON and the static resource in a scratch tree with the repository layout."""
    for path in (SYNC_SCRIPT, JSON_PATH, RESOURCE_PATH):
        target = tmp_path / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return tmp_path


def test_sync_catalog_check_fails_on_a_changed_copy(repo_copy: Path):
    resource = repo_copy / RESOURCE_PATH.relative_to(ROOT)
    # One changed byte, the same JSON document: only a byte comparison notices.
    resource.write_bytes(resource.read_bytes().replace(b'"version": 1', b'"version":  1', 1))
    assert json.loads(resource.read_bytes()) == raw_json()
    result = run_sync("--check", root=repo_copy)
    assert result.returncode == 1
    assert "QBSync_Catalog.json differs from" in result.stderr


def test_sync_catalog_copies_the_json_byte_for_byte(repo_copy: Path):
    resource = repo_copy / RESOURCE_PATH.relative_to(ROOT)
    resource.write_text("{}", encoding="utf-8")
    result = run_sync(root=repo_copy)
    assert result.returncode == 0, result.stderr
    assert resource.read_bytes() == JSON_PATH.read_bytes()
    assert run_sync("--check", root=repo_copy).returncode == 0


def test_static_resource_metadata_declares_a_private_json_resource():
    meta = RESOURCE_META.read_text(encoding="utf-8")
    assert "<contentType>application/json</contentType>" in meta
    assert "<cacheControl>Private</cacheControl>" in meta


def test_no_long_javascript_module_in_the_package():
    # The catalog reaches the components as data; no module carries a copy of it.
    modules = (ROOT / "force-app" / "main").rglob("*.js")
    long_modules = [
        str(p.relative_to(ROOT))
        for p in modules
        if "__tests__" not in p.parts and len(p.read_text(encoding="utf-8").splitlines()) > 400
    ]
    assert long_modules == []


# --- path rules: the cases Apex (QBCatalog_Tests) runs too ---


@pytest.mark.parametrize(("path", "expected"), PATH_CASES["paths"])
def test_path_syntax_cases(path, expected):
    assert is_path(path) is expected


@pytest.mark.parametrize(("pattern", "path", "expected"), PATH_CASES["matches"])
def test_pattern_match_cases(pattern, path, expected):
    assert path_matches(pattern, path) is expected


@pytest.mark.parametrize(("qb_object", "qb_field", "expected"), PATH_CASES["validations"])
def test_validation_cases(qb_object, qb_field, expected):
    assert load_catalog().validate_mapping(qb_object, qb_field) == expected


@pytest.mark.parametrize(
    ("qb_object", "collection", "qb_field", "expected"), PATH_CASES["lineValidations"]
)
def test_line_validation_cases(qb_object, collection, qb_field, expected):
    assert load_catalog().validate_line_mapping(qb_object, collection, qb_field) == expected


_APEX_STRING = r"'((?:[^'\\]|\\.)*)'"
_APEX_VALUE = rf"(?:{_APEX_STRING}|(true|false|null))"


def _apex_rows(source: str, table: str) -> list[list[object]]:
    """The rows of `new List<Object>{ ... }` entries in the Apex constant `table`."""
    body = re.search(rf"{table}\s*=\s*new List<List<Object>>\s*\{{(.*?)\n\s*\}};", source, re.S)
    assert body, f"{table} not found in {APEX_CASES.name}"
    rows = []
    for row in re.finditer(r"new List<Object>\s*\{(.*?)\}", body.group(1), re.S):
        values = []
        for match in re.finditer(_APEX_VALUE, row.group(1)):
            text, literal = match.groups()
            if literal is not None:
                values.append({"true": True, "false": False, "null": None}[literal])
            else:
                values.append(re.sub(r"\\(.)", r"\1", text))
        rows.append(values)
    return rows


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("PATH_CASES", "paths"),
        ("MATCH_CASES", "matches"),
        ("VALIDATION_CASES", "validations"),
        ("LINE_VALIDATION_CASES", "lineValidations"),
    ],
)
def test_the_apex_tests_run_the_same_cases(table, key):
    apex = APEX_CASES.read_text(encoding="utf-8")
    assert _apex_rows(apex, table) == PATH_CASES[key], (
        f"{APEX_CASES.name} {table} differs from tests/fixtures/catalog/path_cases.json {key}"
    )


def test_a_case_changed_in_the_apex_copy_is_noticed():
    apex = APEX_CASES.read_text(encoding="utf-8").replace("'BillAddr..City'", "'BillAddr.City'", 1)
    assert _apex_rows(apex, "PATH_CASES") != PATH_CASES["paths"]


# --- content ---


def test_every_webhook_entity_is_present_and_nothing_else():
    assert set(load_catalog().entity_names) == WEBHOOK_ENTITIES


def test_webhook_operations_follow_intuit():
    for entity in load_catalog().entities:
        ops = set(entity.operations)
        assert ("Merge" in ops) == (entity.name in MERGE_ENTITIES), entity.name
        assert ("Void" in ops) == (entity.name in VOID_ENTITIES), entity.name
        assert "Update" in ops, entity.name
    catalog = load_catalog()
    assert {"Create", "Update", "Delete", "Merge"} <= set(catalog.entity("Customer").operations)
    assert {"Emailed", "Void"} <= set(catalog.entity("Invoice").operations)
    assert "Emailed" in catalog.entity("Estimate").operations


def test_cdc_is_off_only_where_intuit_does_not_support_it():
    no_cdc = {e.name for e in load_catalog().entities if not e.cdc}
    assert no_cdc == NO_CDC_ENTITIES


@pytest.mark.parametrize("name", ENTITIES_WITH_FIELDS)
def test_required_entities_list_their_fields(name):
    entity = load_catalog().entity(name)
    assert len(entity.fields) >= 10, f"{name} lists only {len(entity.fields)} fields"
    assert entity.field("Id").type == "string"
    assert entity.field("MetaData.LastUpdatedTime").type == "datetime"
    assert entity.field("MetaData.CreateTime").type == "datetime"


@pytest.mark.parametrize(
    ("entity", "path", "type_", "extra"),
    [
        ("Customer", "DisplayName", "string", {"max_length": 500}),
        ("Customer", "CompanyName", "string", {"max_length": 100}),
        ("Customer", "GivenName", "string", {"max_length": 100}),
        ("Customer", "Notes", "string", {"max_length": 2000}),
        ("Customer", "BillAddr.Line1", "string", {"max_length": 500}),
        ("Customer", "BillAddr.Line5", "string", {}),
        ("Customer", "BillAddr.City", "string", {}),
        ("Customer", "BillAddr.CountrySubDivisionCode", "string", {}),
        ("Customer", "ShipAddr.PostalCode", "string", {"max_length": 30}),
        ("Customer", "PrimaryEmailAddr.Address", "string", {"max_length": 100}),
        ("Customer", "PrimaryPhone.FreeFormNumber", "string", {}),
        ("Customer", "Mobile.FreeFormNumber", "string", {}),
        ("Customer", "Fax.FreeFormNumber", "string", {}),
        ("Customer", "WebAddr.URI", "string", {"max_length": 1000}),
        ("Customer", "Active", "boolean", {}),
        ("Customer", "Balance", "decimal", {}),
        ("Customer", "ParentRef", "reference", {"reference_to": "Customer"}),
        ("Customer", "SalesTermRef", "reference", {"reference_to": "Term"}),
        ("Customer", "CurrencyRef", "reference", {"reference_to": "CompanyCurrency"}),
        ("Vendor", "APAccountRef", "reference", {"reference_to": "Account"}),
        ("Employee", "HiredDate", "date", {}),
        ("Item", "Sku", "string", {"max_length": 100}),
        ("Item", "UnitPrice", "decimal", {}),
        ("Item", "QtyOnHand", "decimal", {}),
        ("Item", "Type", "string", {}),
        ("Item", "IncomeAccountRef", "reference", {"reference_to": "Account"}),
        ("Item", "ExpenseAccountRef", "reference", {"reference_to": "Account"}),
        ("Invoice", "CustomerRef", "reference", {"reference_to": "Customer"}),
        ("Invoice", "DocNumber", "string", {"max_length": 21}),
        ("Invoice", "TxnDate", "date", {}),
        ("Payment", "TotalAmt", "decimal", {}),
        ("Bill", "VendorRef", "reference", {"reference_to": "Vendor"}),
        ("PurchaseOrder", "VendorRef", "reference", {"reference_to": "Vendor"}),
        ("TimeActivity", "EmployeeRef", "reference", {"reference_to": "Employee"}),
    ],
)
def test_documented_fields(entity, path, type_, extra):
    field = load_catalog().entity(entity).field(path)
    assert field is not None, f"{entity}.{path} missing"
    assert field.type == type_
    for attribute, expected in extra.items():
        assert getattr(field, attribute) == expected, f"{entity}.{path}.{attribute}"


def test_every_field_is_well_formed():
    catalog = load_catalog()
    for entity in catalog.entities:
        assert entity.label
        for field in entity.fields:
            assert field.type in FIELD_TYPES, f"{entity.name}.{field.path}: {field.type}"
            assert field.label, f"{entity.name}.{field.path} has no label"
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*", field.path)
            assert field.max_length is None or field.max_length > 0
            if field.is_reference:
                assert catalog.entity(field.reference_to).name == field.reference_to
                assert field.path.endswith("Ref"), f"{entity.name}.{field.path}"
            else:
                assert field.reference_to is None


def test_raw_json_uses_only_allowed_types():
    types = {f["type"] for e in raw_json()["entities"] for f in e["fields"]}
    assert types <= FIELD_TYPES


# --- recommended mappings ---


def test_recommended_mappings_are_the_documented_defaults():
    recommended = {r.qb_object: r for r in load_catalog().recommended}
    assert {name: r.salesforce_object for name, r in recommended.items()} == {
        "Customer": "Account",
        "Vendor": "Account",
        "Item": "Product2",
        "Invoice": "QB_Transaction__c",
        "SalesReceipt": "QB_Transaction__c",
        "CreditMemo": "QB_Transaction__c",
        "Estimate": "QB_Transaction__c",
        "Payment": "QB_Payment__c",
    }
    for mapping in recommended.values():
        assert mapping.external_id_field == "QB_External_Id__c"
        # Name lists deactivate; transactions have no Active flag, so they are deleted.
        expected = "Deactivate" if mapping.qb_object in {"Customer", "Vendor", "Item"} else "Delete"
        assert mapping.delete_behavior == expected
    invoice = {f.qb_field: f.salesforce_field for f in recommended["Invoice"].fields}
    assert invoice["CustomerRef"] == "Account__c"
    assert invoice["CurrencyRef.value"] == "Currency_Code__c"
    customer = {f.qb_field: f.salesforce_field for f in recommended["Customer"].fields}
    assert customer["DisplayName"] == "Name"
    assert customer["BillAddr.Line1"] == "BillingStreet"
    assert customer["ShipAddr.City"] == "ShippingCity"
    assert customer["Active"] == "QB_Active__c"
    assert "PrimaryEmailAddr.Address" not in customer  # Account has no standard email field
    item = {f.qb_field: f.salesforce_field for f in recommended["Item"].fields}
    assert item == {
        "Name": "Name",
        "Sku": "ProductCode",
        "Description": "Description",
        "Active": "IsActive",
    }


def test_recommended_mappings_name_only_real_fields_on_both_sides():
    catalog = load_catalog()
    for mapping in catalog.recommended:
        entity = catalog.entity(mapping.qb_object)
        package_fields = schema.WRITES.get(mapping.salesforce_object, {})
        assert mapping.external_id_field in package_fields
        sf_fields = [f.salesforce_field for f in mapping.fields]
        assert len(sf_fields) == len(set(sf_fields)), "a Salesforce field is mapped twice"
        for pair in mapping.fields:
            assert catalog.validate_mapping(mapping.qb_object, pair.qb_field) is None
            if entity.field(pair.qb_field).type == "reference":
                # A reference lands in a lookup, filled through the parent's external id.
                assert package_fields[pair.salesforce_field] == "Lookup", pair.salesforce_field
            known = STANDARD_UPDATEABLE.get(mapping.salesforce_object, set()) | set(package_fields)
            assert pair.salesforce_field in known, pair.salesforce_field
        if mapping.delete_behavior == "Deactivate":
            # Deactivate writes false into the field mapped from Active, so one must exist.
            assert "Active" in {f.qb_field for f in mapping.fields}


# --- loader API ---


def test_load_catalog_is_cached():
    assert load_catalog() is load_catalog()


@pytest.mark.parametrize("name", ["SalesReceipt", "salesreceipt", "SALESRECEIPT", " salesReceipt "])
def test_entity_lookup_ignores_case(name):
    assert load_catalog().entity(name).name == "SalesReceipt"


@pytest.mark.parametrize("name", ["", "Salesforce", "Currency"])
def test_unknown_entity_is_none(name):
    assert load_catalog().entity(name) is None


def test_field_lookup_is_exact():
    customer = load_catalog().entity("Customer")
    assert customer.field("DisplayName").label == "Display Name"
    assert customer.field("displayname") is None


def test_entity_names_are_canonical():
    names = load_catalog().entity_names
    assert "SalesReceipt" in names and "salesreceipt" not in names
    assert len(names) == len(set(names))


def test_validate_object_names_the_catalog_entities():
    catalog = load_catalog()
    assert catalog.validate_object("salesReceipt") is None
    message = catalog.validate_object("Widget")
    assert message.startswith("Unknown QuickBooks object 'Widget'; expected one of: Account, Bill")


def test_match_returns_the_catalog_entry_a_path_names():
    invoice = load_catalog().entity("Invoice")
    assert invoice.match("DocNumber") is invoice.field("DocNumber")
    item = invoice.match("Line[DetailType=SalesItemLineDetail].SalesItemLineDetail.ItemRef.value")
    assert item.path == "Line[DetailType=SalesItemLineDetail].SalesItemLineDetail.ItemRef"
    assert (item.type, item.reference_to) == ("reference", "Item")
    custom = invoice.match("CustomField[Name=Crew #].StringValue")
    assert (custom.path, custom.type) == ("CustomField[Name=*].StringValue", "string")
    assert invoice.match("CustomerMemo.value") is invoice.field("CustomerMemo.value")
    assert invoice.match("Line.Amount") is None


# --- path patterns: lines and custom fields of transactions ---

LINE_PATTERNS = {
    "SalesItemLineDetail": {"ItemRef": "Item", "ClassRef": "Class"},
    "ItemBasedExpenseLineDetail": {"ItemRef": "Item", "CustomerRef": "Customer"},
    "AccountBasedExpenseLineDetail": {"AccountRef": "Account", "CustomerRef": "Customer"},
}


@pytest.mark.parametrize("name", SALES_FORMS + EXPENSE_FORMS + ["JournalEntry"])
def test_transaction_lines_are_described_by_patterns(name):
    entity = load_catalog().entity(name)
    details = (
        ["SalesItemLineDetail"]
        if name in SALES_FORMS
        else ["JournalEntryLineDetail"]
        if name == "JournalEntry"
        else ["ItemBasedExpenseLineDetail", "AccountBasedExpenseLineDetail"]
    )
    for detail in details:
        line = f"Line[DetailType={detail}]"
        assert entity.match(f"{line}.Amount").type == "decimal", f"{name} {detail}"
        assert entity.match(f"{line}.Description").type == "string"
        assert entity.match(f"{line}.Id").type == "string"
        for ref, target in LINE_PATTERNS.get(detail, {}).items():
            entry = entity.match(f"{line}.{detail}.{ref}")
            assert (entry.type, entry.reference_to) == ("reference", target), f"{name} {ref}"


@pytest.mark.parametrize("name", SALES_FORMS + ["PurchaseOrder"])
def test_custom_fields_are_addressed_by_name(name):
    entry = load_catalog().entity(name).match("CustomField[Name=Region].StringValue")
    assert entry is not None and entry.type == "string"


def test_only_transactions_with_lines_have_patterns():
    with_patterns = {e.name for e in load_catalog().entities if e.patterns}
    assert with_patterns == set(SALES_FORMS + EXPENSE_FORMS + ["JournalEntry"])


def test_every_pattern_is_well_formed():
    catalog = load_catalog()
    for entity in catalog.entities:
        for pattern in entity.patterns:
            assert is_path(pattern.path), f"{entity.name}: {pattern.path}"
            assert pattern.type in FIELD_TYPES
            assert pattern.label
            if pattern.is_reference:
                assert pattern.path.endswith("Ref") and catalog.entity(pattern.reference_to)
            # No field shadows a pattern and no pattern shadows another: order does not matter.
            others = [p.path for p in entity.patterns if p is not pattern]
            assert not [o for o in others if path_matches(o, pattern.path)], pattern.path


# --- the parser refuses documents off the documented shape ---


def _customer(doc: dict) -> dict:
    return next(e for e in doc["entities"] if e["name"] == "Customer")


def _break_type(doc):
    _customer(doc)["fields"][1]["type"] = "text"


def _drop_reference_target(doc):
    next(f for f in _customer(doc)["fields"] if f["path"] == "ParentRef").pop("referenceTo")


def _reference_unknown_entity(doc):
    next(f for f in _customer(doc)["fields"] if f["path"] == "ParentRef")["referenceTo"] = "Lead"


def _duplicate_path(doc):
    _customer(doc)["fields"].append(dict(_customer(doc)["fields"][1]))


def _unknown_recommended_field(doc):
    doc["recommended"][0]["fields"].append({"qbField": "Email", "salesforceField": "Email__c"})


def _unknown_operation(doc):
    _customer(doc)["operations"].append("Archive")


def _duplicate_entity(doc):
    doc["entities"].append(dict(_customer(doc), name="CUSTOMER"))


def _boolean_max_length(doc):
    _customer(doc)["fields"][1]["maxLength"] = True


def _invoice(doc: dict) -> dict:
    return next(e for e in doc["entities"] if e["name"] == "Invoice")


def _malformed_field_path(doc):
    _customer(doc)["fields"][1]["path"] = "Bill Addr.City"


def _malformed_pattern(doc):
    _invoice(doc)["patterns"][0]["pattern"] = "Line[DetailType=SalesItemLineDetail"


def _pattern_shadowed_by_a_field(doc):
    _invoice(doc)["patterns"].append({"pattern": "DocNumber", "label": "Number", "type": "string"})


def _duplicate_pattern(doc):
    _invoice(doc)["patterns"].append(dict(_invoice(doc)["patterns"][0]))


def _pattern_reference_unknown_entity(doc):
    ref = next(p for p in _invoice(doc)["patterns"] if p.get("referenceTo") == "Item")
    ref["referenceTo"] = "Product"


def _patterns_not_a_list(doc):
    _invoice(doc)["patterns"] = {"pattern": "Line[DetailType=*].Amount"}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (_break_type, "type 'text' is not one of"),
        (_drop_reference_target, "'referenceTo' is required"),
        (_reference_unknown_entity, "referenceTo 'Lead' is not a catalog entity"),
        (_duplicate_path, "a field path is listed twice"),
        (_unknown_recommended_field, "'Email' is not a field of Customer"),
        (_unknown_operation, "unknown operations ['Archive']"),
        (_duplicate_entity, "an entity name is listed twice"),
        (_boolean_max_length, "'maxLength' is missing or not a int"),
        (_malformed_field_path, "field 'Bill Addr.City': not a path in the documented syntax"),
        (_malformed_pattern, "pattern 'Line[DetailType=SalesItemLineDetail': not a path"),
        (_pattern_shadowed_by_a_field, "pattern 'DocNumber' matches field 'DocNumber'"),
        (_duplicate_pattern, "a pattern is listed twice"),
        (_pattern_reference_unknown_entity, "referenceTo 'Product' is not a catalog entity"),
        (_patterns_not_a_list, "'patterns' is missing or not a list"),
    ],
)
def test_parse_catalog_rejects_malformed_documents(mutate, message):
    doc = copy.deepcopy(raw_json())
    mutate(doc)
    with pytest.raises(CatalogError, match=re.escape(message)):
        parse_catalog(doc)


def test_parse_catalog_accepts_the_packaged_document():
    assert parse_catalog(raw_json()) == load_catalog()
