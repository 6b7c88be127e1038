"""The preview server's QBSetupController contract and UI API, over real HTTP to the preview and
HTTPS to the Salesforce emulator, whose metadata rules decide what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from qbsync.catalog import load_catalog
from qbsync_preview.app import CATALOG_RESOURCE, create_preview_app
from qbsync_sandbox.emulators.salesforce import (
    Org,
    create_salesforce_app,
    load_schema,
    run_in_thread,
)

from .conftest import CLIENT_ID, CLIENT_SECRET, REPO_ROOT, PreviewStack

CUSTOMER_FIELDS = [
    {"QB_Field__c": "DisplayName", "Salesforce_Field__c": "Name"},
    {"QB_Field__c": "PrimaryPhone.FreeFormNumber", "Salesforce_Field__c": "Phone"},
]


def _mapping(company_id: str, qb_object: str = "Customer", **overrides) -> dict:
    return {
        "Company__c": company_id,
        "QB_Object__c": qb_object,
        "Salesforce_Object__c": "Account",
        "External_Id_Field__c": "QB_External_Id__c",
        "Delete_Behavior__c": "Deactivate",
        **overrides,
    }


def _save_mapping(stack: PreviewStack, record: dict) -> dict:
    response = stack.apex("saveObjectMapping", {"mapping": record})
    assert response.status_code == 200, response.text
    return response.json()


def _refused(response: requests.Response, status: int = 400) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["exceptionType"] == "System.AuraHandledException"
    return body["message"]


def test_get_companies_returns_records_as_apex_serializes_them(preview_stack, company_id):
    response = preview_stack.apex("getCompanies")
    assert response.status_code == 200
    [company] = response.json()
    assert company["Id"] == company_id
    assert company["Name"] == "Sandbox Company US"
    assert company["Status__c"] == "Connected"
    assert company["Refresh_Token_Expires_At__c"].startswith("2027-02-28T10:00:00")
    assert "attributes" not in company
    assert "Last_Error__c" not in company  # null fields are left out, as Apex does


def test_createable_objects_are_those_the_admin_may_create_sorted_by_label(
    preview_stack, company_id
):
    options = preview_stack.apex("getCreateableObjects").json()
    names = [o["apiName"] for o in options]
    assert {"Account", "Product2"} <= set(names)
    # User mode: the admin's permission set grants nothing on Contact, so it is not offered;
    # QB_Sync_Log__c is read-only for the admin; nobody creates User records here.
    assert not {"Contact", "QB_Sync_Log__c", "User"} & set(names)
    labels = [o["label"].lower() for o in options]
    assert labels == sorted(labels)


def test_the_packages_configuration_objects_are_not_targets_its_record_objects_are(
    preview_stack, company_id
):
    """QBMappingService.PACKAGE_CONFIGURATION_OBJECTS: offered neither in the list nor on save."""
    names = {o["apiName"] for o in preview_stack.apex("getCreateableObjects").json()}
    assert {"QB_Transaction__c", "QB_Transaction_Line__c", "QB_Payment__c"} <= names
    own = {"QB_Company__c", "QB_Object_Mapping__c", "QB_Field_Mapping__c", "QB_Sync_Log__c"}
    assert not own & names
    for sobject in ("QB_Company__c", "QB_Object_Mapping__c", "QB_Field_Mapping__c"):
        response = preview_stack.apex(
            "saveObjectMapping", {"mapping": _mapping(company_id, Salesforce_Object__c=sobject)}
        )
        assert _refused(response) == f"QuickBooks records cannot be written to {sobject}."
    assert preview_stack.records("QB_Object_Mapping__c") == []


def test_save_object_mapping_stores_the_company_key_and_canonical_names(preview_stack, company_id):
    saved = _save_mapping(
        preview_stack,
        _mapping(
            company_id, Salesforce_Object__c="account", External_Id_Field__c="qb_external_id__c"
        ),
    )
    assert saved["QB_Object__c"] == "Customer"
    assert saved["Salesforce_Object__c"] == "Account"
    assert saved["External_Id_Field__c"] == "QB_External_Id__c"
    assert saved["Field_Mapping_Count__c"] == 0
    [stored] = preview_stack.records("QB_Object_Mapping__c")
    assert stored["Company_Object_Key__c"] == f"{company_id}:Customer"

    listed = preview_stack.apex("getObjectMappings", {"companyId": company_id}).json()
    assert [m["Id"] for m in listed] == [saved["Id"]]


def test_a_second_mapping_of_the_same_object_is_refused(preview_stack, company_id):
    _save_mapping(preview_stack, _mapping(company_id))
    response = preview_stack.apex(
        "saveObjectMapping", {"mapping": _mapping(company_id, Delete_Behavior__c="Ignore")}
    )
    assert _refused(response) == "Customer is already mapped for this company."
    assert len(preview_stack.records("QB_Object_Mapping__c")) == 1


def test_object_mapping_targets_are_checked(preview_stack, company_id):
    cases = {
        "Name is not an external-id field of Account.": {"External_Id_Field__c": "Name"},
        "Unknown Salesforce object: Nope__c.": {"Salesforce_Object__c": "Nope__c"},
        "QuickBooks records cannot be written to User.": {"Salesforce_Object__c": "User"},
        "Choose the QuickBooks object to map.": {"QB_Object__c": " "},
        load_catalog().validate_object("Widget"): {"QB_Object__c": "Widget"},
        "Choose the QuickBooks company the object mapping belongs to.": {"Company__c": None},
    }
    for message, change in cases.items():
        response = preview_stack.apex(
            "saveObjectMapping", {"mapping": _mapping(company_id, **change)}
        )
        assert _refused(response) == message
    assert _refused(preview_stack.apex("saveObjectMapping", {})) == (
        "The object mapping to save is missing."
    )
    assert preview_stack.records("QB_Object_Mapping__c") == []


def test_the_emulator_refuses_a_value_outside_the_restricted_picklist(preview_stack, company_id):
    response = preview_stack.apex(
        "saveObjectMapping", {"mapping": _mapping(company_id, Delete_Behavior__c="Archive")}
    )
    assert "Archive" in _refused(response)
    assert preview_stack.records("QB_Object_Mapping__c") == []


def test_editing_a_mapping_keeps_its_company_and_rekeys_a_renamed_object(preview_stack, company_id):
    saved = _save_mapping(preview_stack, _mapping(company_id))
    other_company = preview_stack.seed(
        "QB_Company__c", {"Name": "Other", "Realm_Id__c": "123", "Status__c": "Connected"}
    )[0]
    edited = _save_mapping(
        preview_stack,
        {
            "Id": saved["Id"],
            "Company__c": other_company,
            "QB_Object__c": "Vendor",
            "Delete_Behavior__c": "Ignore",
        },
    )
    assert edited["Company__c"] == company_id
    assert edited["QB_Object__c"] == "Vendor"
    assert edited["Delete_Behavior__c"] == "Ignore"
    assert edited["Salesforce_Object__c"] == "Account"  # not sent, kept
    [stored] = preview_stack.records("QB_Object_Mapping__c")
    assert stored["Company_Object_Key__c"] == f"{company_id}:Vendor"


def test_save_field_mappings_refuses_a_set_missing_a_required_field(preview_stack, company_id):
    mapping = _save_mapping(preview_stack, _mapping(company_id))
    response = preview_stack.apex(
        "saveFieldMappings",
        {
            "objectMappingId": mapping["Id"],
            "mappings": [
                {"QB_Field__c": "PrimaryPhone.FreeFormNumber", "Salesforce_Field__c": "Phone"}
            ],
        },
    )
    assert _refused(response) == "Required Salesforce fields are not mapped: Name"
    assert preview_stack.records("QB_Field_Mapping__c") == []


def test_save_field_mappings_replaces_the_set(preview_stack, company_id):
    mapping = _save_mapping(preview_stack, _mapping(company_id))
    first = preview_stack.apex(
        "saveFieldMappings", {"objectMappingId": mapping["Id"], "mappings": CUSTOMER_FIELDS}
    )
    assert first.status_code == 200, first.text
    rows = {r["QB_Field__c"]: r for r in first.json()}
    assert set(rows) == {"DisplayName", "PrimaryPhone.FreeFormNumber"}

    # Keep Name (edited: a transform), drop Phone, add Email.
    second = preview_stack.apex(
        "saveFieldMappings",
        {
            "objectMappingId": mapping["Id"],
            "mappings": [
                {**rows["DisplayName"], "Transform__c": "Trim"},
                {"QB_Field__c": "PrimaryEmailAddr.Address", "Salesforce_Field__c": "email__c"},
            ],
        },
    )
    # Account has no email__c field in this org: the set is refused before anything is written.
    assert _refused(second) == (
        "Unknown Salesforce field for PrimaryEmailAddr.Address: Account.email__c."
    )
    third = preview_stack.apex(
        "saveFieldMappings",
        {
            "objectMappingId": mapping["Id"],
            "mappings": [
                {**rows["DisplayName"], "Transform__c": "Trim"},
                {"QB_Field__c": "Notes", "Salesforce_Field__c": "description"},
            ],
        },
    )
    assert third.status_code == 200, third.text
    stored = {r["QB_Field__c"]: r for r in preview_stack.records("QB_Field_Mapping__c")}
    assert set(stored) == {"DisplayName", "Notes"}
    assert stored["DisplayName"]["Id"] == rows["DisplayName"]["Id"]  # updated in place
    assert stored["DisplayName"]["Transform__c"] == "Trim"
    assert stored["Notes"]["Salesforce_Field__c"] == "Description"  # canonical name
    listed = preview_stack.apex("getObjectMappings", {"companyId": company_id}).json()
    assert listed[0]["Field_Mapping_Count__c"] == 2


def test_field_rows_are_checked(preview_stack, company_id):
    mapping = _save_mapping(preview_stack, _mapping(company_id))
    name_row = {"QB_Field__c": "DisplayName", "Salesforce_Field__c": "Name"}
    cases = {
        "Every field mapping needs a QuickBooks field.": [{"Salesforce_Field__c": "Name"}],
        "Account.Name is mapped more than once.": [
            name_row,
            {"QB_Field__c": "CompanyName", "Salesforce_Field__c": "name"},
        ],
        "Account.Id cannot be written.": [
            name_row,
            {"QB_Field__c": "Id", "Salesforce_Field__c": "Id"},
        ],
        # The QuickBooks side is checked first, against the catalog (QBCatalog's messages).
        "Unknown field 'Email' on QuickBooks object Customer.": [
            name_row,
            {"QB_Field__c": "Email", "Salesforce_Field__c": "Nope__c"},
        ],
        "Unknown field 'displayname' on QuickBooks object Customer; did you mean 'DisplayName'?": [
            {"QB_Field__c": "displayname", "Salesforce_Field__c": "Name"}
        ],
    }
    for message, rows in cases.items():
        response = preview_stack.apex(
            "saveFieldMappings", {"objectMappingId": mapping["Id"], "mappings": rows}
        )
        assert _refused(response) == message
    stranger = {**name_row, "Id": "a02000000000001AAA"}
    response = preview_stack.apex(
        "saveFieldMappings", {"objectMappingId": mapping["Id"], "mappings": [stranger]}
    )
    assert _refused(response) == (
        "Field mapping a02000000000001AAA does not belong to this object mapping."
    )
    assert preview_stack.records("QB_Field_Mapping__c") == []


def test_get_catalog_serves_the_static_resource_as_stored(preview_stack):
    response = requests.post(
        f"{preview_stack.preview_url}/apex/QBCatalogController/getCatalog", json={}, timeout=10
    )
    assert response.status_code == 200, response.text
    # A String result: the component receives the resource's text, byte for byte.
    assert response.json() == CATALOG_RESOURCE.read_text(encoding="utf-8")


def test_object_mappings_store_the_catalog_spelling(preview_stack, company_id):
    saved = _save_mapping(preview_stack, _mapping(company_id, "salesreceipt"))
    assert saved["QB_Object__c"] == "SalesReceipt"
    [stored] = preview_stack.records("QB_Object_Mapping__c")
    assert stored["Company_Object_Key__c"] == f"{company_id}:SalesReceipt"


def test_line_and_custom_field_paths_are_accepted(preview_stack, company_id):
    invoice = _save_mapping(preview_stack, _mapping(company_id, "Invoice"))
    rows = [
        {"QB_Field__c": "DocNumber", "Salesforce_Field__c": "Name"},
        {"QB_Field__c": "CustomField[Name=Crew #].StringValue", "Salesforce_Field__c": "Phone"},
        {
            "QB_Field__c": "Line[DetailType=SalesItemLineDetail].SalesItemLineDetail.ItemRef.value",
            "Salesforce_Field__c": "Description",
        },
    ]
    response = preview_stack.apex(
        "saveFieldMappings", {"objectMappingId": invoice["Id"], "mappings": rows}
    )
    assert response.status_code == 200, response.text
    assert {r["QB_Field__c"] for r in response.json()} == {r["QB_Field__c"] for r in rows}


def test_save_realtime_settings_reports_each_row(preview_stack, company_id):
    customer = _save_mapping(preview_stack, _mapping(company_id))
    vendor = _save_mapping(preview_stack, _mapping(company_id, "Vendor"))
    assert (
        preview_stack.apex(
            "saveFieldMappings", {"objectMappingId": customer["Id"], "mappings": CUSTOMER_FIELDS}
        ).status_code
        == 200
    )
    response = preview_stack.apex(
        "saveRealtimeSettings",
        {
            "changes": [
                {"Id": customer["Id"], "QB_Object__c": "Customer", "Realtime_Enabled__c": True},
                {"Id": vendor["Id"], "QB_Object__c": "Vendor", "Realtime_Enabled__c": True},
            ]
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == [
        {"id": customer["Id"], "qbObject": "Customer", "success": True, "message": None},
        {
            "id": vendor["Id"],
            "qbObject": "Vendor",
            "success": False,
            # The validation rule Realtime_Requires_Field_Mappings, from force-app, via the emulator.
            "message": "Add field mappings before enabling real-time sync.",
        },
    ]
    enabled = {
        r["QB_Object__c"]: r["Realtime_Enabled__c"]
        for r in preview_stack.records("QB_Object_Mapping__c")
    }
    assert enabled == {"Customer": True, "Vendor": False}


def test_realtime_changes_are_checked(preview_stack, company_id):
    customer = _save_mapping(preview_stack, _mapping(company_id))
    change = {"Id": customer["Id"], "Realtime_Enabled__c": False}
    assert preview_stack.apex("saveRealtimeSettings", {"changes": []}).json() == []
    assert _refused(
        preview_stack.apex("saveRealtimeSettings", {"changes": [{"Realtime_Enabled__c": True}]})
    ) == ("Every real-time change needs the Id of its object mapping.")
    assert _refused(preview_stack.apex("saveRealtimeSettings", {"changes": [change, change]})) == (
        f"Object mapping {customer['Id']} appears more than once in the changes."
    )


def test_delete_object_mapping_takes_its_field_mappings(preview_stack, company_id):
    mapping = _save_mapping(preview_stack, _mapping(company_id))
    preview_stack.apex(
        "saveFieldMappings", {"objectMappingId": mapping["Id"], "mappings": CUSTOMER_FIELDS}
    )
    assert _refused(preview_stack.apex("deleteObjectMapping", {"mappingId": company_id})) == (
        "Choose the object mapping to delete."
    )
    response = preview_stack.apex("deleteObjectMapping", {"mappingId": mapping["Id"]})
    assert response.status_code == 200
    assert response.json() is None
    assert preview_stack.records("QB_Object_Mapping__c") == []
    assert preview_stack.records("QB_Field_Mapping__c") == []


def test_bad_calls_get_clear_errors(preview_stack, company_id):
    assert _refused(preview_stack.apex("getObjectMappings", {"companyId": "not an id"})) == (
        "Invalid id: not an id"
    )
    assert _refused(preview_stack.apex("dropEverything"), status=404) == (
        "No @AuraEnabled method QBSetupController.dropEverything."
    )
    response = requests.post(
        f"{preview_stack.preview_url}/apex/QBSetupController/getCompanies", json=[1], timeout=10
    )
    assert _refused(response) == "Send the method's parameters as a JSON object."
    missing = preview_stack.apex(
        "saveFieldMappings", {"objectMappingId": "a01000000000009AAA", "mappings": []}
    )
    assert _refused(missing) == (
        "The object mapping a01000000000009AAA does not exist or you cannot see it."
    )


def test_object_info_is_the_ui_api_shape(preview_stack, company_id):
    response = requests.get(f"{preview_stack.preview_url}/ui-api/object-info/Account", timeout=10)
    assert response.status_code == 200
    info = response.json()
    assert info["apiName"] == "Account"
    assert info["keyPrefix"] == "001"
    name = info["fields"]["Name"]
    assert (name["dataType"], name["required"], name["createable"]) == ("String", True, True)
    assert info["fields"]["QB_External_Id__c"]["externalId"] is True
    unknown = requests.get(f"{preview_stack.preview_url}/ui-api/object-info/Nope__c", timeout=10)
    assert unknown.status_code == 404
    assert unknown.json()[0]["errorCode"] == "NOT_FOUND"
    bad = requests.get(f"{preview_stack.preview_url}/ui-api/object-info/1x", timeout=10)
    assert bad.status_code == 400


def test_an_expired_session_is_renewed(preview_stack, company_id):
    assert preview_stack.apex("getCompanies").status_code == 200
    expired = preview_stack.admin("POST", "/faults", json={"kind": "expire_sessions"})
    assert expired.json()["expired"] >= 1
    response = preview_stack.apex("getCompanies")
    assert response.status_code == 200
    assert response.json()[0]["Id"] == company_id


def test_page_and_assets(preview_stack, tmp_path: Path):
    app = create_preview_app(
        preview_stack.salesforce_url,
        preview_stack.ca_path,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        bundle_dir=tmp_path,
        assets_dir=tmp_path,
    )
    client = app.test_client()
    missing = client.get("/")
    assert missing.status_code == 503
    assert "./scripts/preview-build" in missing.json["message"]
    (tmp_path / "index.html").write_text("<title>QB Setup</title>")
    (tmp_path / "app.js").write_text("export {};")
    (tmp_path / "styles").mkdir()
    (tmp_path / "styles" / "slds.css").write_text(".slds-card{}")
    assert b"QB Setup" in client.get("/").data
    assert client.get("/app.js").status_code == 200
    assert client.get("/assets/styles/slds.css").data == b".slds-card{}"
    assert client.get("/assets/nothing.css").status_code == 404


def test_the_emulator_unreachable_is_a_clear_502(preview_stack, tmp_path: Path):
    app = create_preview_app(
        "https://127.0.0.1:9", preview_stack.ca_path, client_id=CLIENT_ID, client_secret="x"
    )
    response = app.test_client().post("/apex/QBSetupController/getCompanies", json={})
    assert response.status_code == 502
    assert response.json["message"].startswith("The preview cannot reach Salesforce")
    assert "x" not in response.json["message"].split(":")[-1].strip().split()


def test_jwt_bearer_login_as_the_demo_stack_uses(tmp_path: Path):
    """The demo's emulator only knows the connected app's certificate (JWT bearer flow)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "preview jwt test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_path = tmp_path / "integration.key"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    org = Org(load_schema(REPO_ROOT / "force-app"), username="integration@qbsync.sandbox")
    emulator = create_salesforce_app(
        org,
        client_id=CLIENT_ID,
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM),
    )
    server, salesforce_url, ca_path = run_in_thread(emulator, tmp_path / "tls")
    try:
        app = create_preview_app(
            salesforce_url,
            ca_path,
            client_id=CLIENT_ID,
            username="admin@qbsync.sandbox",
            private_key_file=key_path,
        )
        response = app.test_client().post("/apex/QBSetupController/getCompanies", json={})
        assert response.status_code == 200, response.json
        assert response.json == []
        wrong_user = create_preview_app(
            salesforce_url,
            ca_path,
            client_id=CLIENT_ID,
            username="someone@else.example",
            private_key_file=key_path,
        )
        refused = wrong_user.test_client().post("/apex/QBSetupController/getCompanies", json={})
        assert refused.status_code == 502
        assert "user hasn't approved this consumer" in refused.json["message"]
    finally:
        server.shutdown()
