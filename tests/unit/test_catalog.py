"""The QuickBooks object catalog: its content, its loader, and the LWC copy of it."""

from __future__ import annotations

import copy
import importlib.machinery
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qbsync.catalog import FIELD_TYPES, CatalogError, load_catalog, parse_catalog
from qbsync.salesforce import schema

ROOT = Path(__file__).resolve().parents[2]
JSON_PATH = ROOT / "middleware" / "qbsync" / "catalog" / "qbo_catalog.json"
JS_PATH = ROOT / "force-app" / "main" / "default" / "lwc" / "qbCatalog" / "qbCatalog.js"
META_PATH = JS_PATH.with_name("qbCatalog.js-meta.xml")
SYNC_SCRIPT = ROOT / "scripts" / "sync-catalog"

# Entities Intuit's webhooks support (research/quickbooks.md §1d, configure-webhooks page).
WEBHOOK_ENTITIES = {
    "Account", "Bill", "BillPayment", "Budget", "Class", "CreditMemo", "Currency", "Customer",
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


# --- an independent reader for the generated JS literal (not the generator's own code) ---

_TOKEN = re.compile(
    r"""(?P<space>\s+|//[^\n]*|/\*.*?\*/)
      |(?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
      |(?P<number>-?\d+(?:\.\d+)?)
      |(?P<word>[A-Za-z_$][\w$]*)
      |(?P<punct>[{}\[\]:,;])""",
    re.VERBOSE | re.DOTALL,
)
_ESCAPES = {"n": "\n", "t": "\t"}


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise AssertionError(f"unexpected JS at offset {pos}: {text[pos : pos + 40]!r}")
        if match.lastgroup != "space":
            tokens.append((match.lastgroup, match.group()))
        pos = match.end()
    return tokens


def parse_js_literal(text: str) -> object:
    """Parse the object literal assigned by `export const CATALOG = ...;`."""
    start = text.index("export const CATALOG = ") + len("export const CATALOG = ")
    end = text.index("\n};\n", start) + len("\n};")  # the literal closes at column 0
    tokens = _tokens(text[start:end])
    position = 0

    def take() -> tuple[str, str]:
        nonlocal position
        position += 1
        return tokens[position - 1]

    def expect(value: str) -> None:
        kind, got = take()
        assert got == value, f"expected {value!r}, got {got!r}"

    def value() -> object:
        kind, tok = take()
        if tok == "{":
            result: dict[str, object] = {}
            while tokens[position][1] != "}":
                key_kind, key = take()
                result[_string(key) if key_kind == "string" else key] = (expect(":"), value())[1]
                if tokens[position][1] == ",":
                    take()
            take()
            return result
        if tok == "[":
            items = []
            while tokens[position][1] != "]":
                items.append(value())
                if tokens[position][1] == ",":
                    take()
            take()
            return items
        if kind == "string":
            return _string(tok)
        if kind == "number":
            return json.loads(tok)
        return {"true": True, "false": False, "null": None}[tok]

    literal = value()
    assert tokens[position][1] == ";", "CATALOG literal must end with ';'"
    return literal


def _string(token: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), token[1:-1])


def load_sync_script():
    loader = importlib.machinery.SourceFileLoader("sync_catalog", str(SYNC_SCRIPT))
    spec = importlib.util.spec_from_loader("sync_catalog", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


# --- the two copies agree ---


def test_lwc_copy_equals_the_json():
    assert parse_js_literal(JS_PATH.read_text(encoding="utf-8")) == raw_json(), (
        "qbCatalog.js differs from qbo_catalog.json: edit the JSON, then run scripts/sync-catalog"
    )


def test_an_edit_to_one_copy_only_is_detected():
    edited = JS_PATH.read_text(encoding="utf-8").replace(
        "label: 'Display Name'", "label: 'Shown Name'", 1
    )
    assert parse_js_literal(edited) != raw_json()


def test_sync_catalog_check_passes_on_the_committed_copy():
    result = subprocess.run(
        [sys.executable, str(SYNC_SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_generator_output_round_trips_awkward_values():
    awkward = {
        "version": 1,
        "quotes": ["it's", 'say "hi"', "both ' and \"", "back\\slash"],
        "nested": {"empty": [], "emptyObject": {}, "flag": False, "n": None, "x": 1.5},
        "long": ["w" * 30, "w" * 30, "w" * 30],
    }
    rendered = load_sync_script().render_module(awkward)
    assert parse_js_literal(rendered) == awkward


def test_meta_xml_is_a_private_service_module():
    meta = META_PATH.read_text(encoding="utf-8")
    assert "<apiVersion>66.0</apiVersion>" in meta
    assert "<isExposed>false</isExposed>" in meta


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
        ("Customer", "CurrencyRef", "reference", {"reference_to": "Currency"}),
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
    }
    for mapping in recommended.values():
        assert mapping.external_id_field == "QB_External_Id__c"
        assert mapping.delete_behavior == "Deactivate"
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
            assert entity.field(pair.qb_field).type != "reference"
            known = STANDARD_UPDATEABLE[mapping.salesforce_object] | set(package_fields)
            assert pair.salesforce_field in known, pair.salesforce_field
        # Deactivate writes false into the field mapped from Active, so one must exist.
        assert "Active" in {f.qb_field for f in mapping.fields}


# --- loader API ---


def test_load_catalog_is_cached():
    assert load_catalog() is load_catalog()


@pytest.mark.parametrize("name", ["SalesReceipt", "salesreceipt", "SALESRECEIPT", " salesReceipt "])
def test_entity_lookup_ignores_case(name):
    assert load_catalog().entity(name).name == "SalesReceipt"


@pytest.mark.parametrize("name", ["", "Salesforce", "CompanyCurrency"])
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


@pytest.mark.parametrize(
    ("qb_object", "qb_field"),
    [("Customer", "DisplayName"), ("customer", "BillAddr.City"), ("Invoice", "CustomerRef")],
)
def test_validate_mapping_accepts_catalog_fields(qb_object, qb_field):
    assert load_catalog().validate_mapping(qb_object, qb_field) is None


@pytest.mark.parametrize(
    ("qb_object", "qb_field", "message"),
    [
        ("Widget", "Name", "Unknown QuickBooks object 'Widget'; expected one of: Account, Bill"),
        ("", "Name", "Unknown QuickBooks object ''"),
        ("Customer", "Email", "Unknown field 'Email' on QuickBooks object Customer."),
        ("Customer", "displayname", "did you mean 'DisplayName'?"),
        ("Invoice", "CustomerRef.value", "mapped without '.value': use 'CustomerRef'."),
        ("Customer", "  ", "QuickBooks field is empty in a mapping for Customer."),
        ("Vendor", "ShipAddr.City", "Unknown field 'ShipAddr.City' on QuickBooks object Vendor."),
    ],
)
def test_validate_mapping_explains_what_is_wrong(qb_object, qb_field, message):
    error = load_catalog().validate_mapping(qb_object, qb_field)
    assert error is not None and message in error, error


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
    ],
)
def test_parse_catalog_rejects_malformed_documents(mutate, message):
    doc = copy.deepcopy(raw_json())
    mutate(doc)
    with pytest.raises(CatalogError, match=re.escape(message)):
        parse_catalog(doc)


def test_parse_catalog_accepts_the_packaged_document():
    assert parse_catalog(raw_json()) == load_catalog()
