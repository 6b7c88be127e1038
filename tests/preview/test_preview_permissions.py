"""The Apex twin runs as the admin in user mode, as QBSetupController does (`WITH USER_MODE`,
`AccessLevel.USER_MODE`): a grant taken from a copy of QuickBooks_Sync_Admin fails the admin's
step with the message the Apex gives.

In user mode a describe holds only the fields and objects the running user can access
("Understanding Describe Information Permissions", Apex Developer Guide,
https://developer.salesforce.com/docs/atlas.en-us.apexcode.meta/apexcode/apex_dynamic_permissions.htm),
so QBMappingService finds no such field or object; a field it sees but may not edit is neither
createable nor updateable.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from qbsync_preview.app import create_preview_app
from qbsync_sandbox.emulators.salesforce import (
    Org,
    create_salesforce_app,
    load_schema,
    run_in_thread,
)
from tests.support.grants import force_app_without_grant
from tests.support.paths import FORCE_APP

from .conftest import ADMIN_USERNAME, CLIENT_ID, CLIENT_SECRET, COMPANY

ADMIN_SET = "QuickBooks_Sync_Admin"
CUSTOMER_FIELDS = [
    {"QB_Field__c": "DisplayName", "Salesforce_Field__c": "Name"},
    {"QB_Field__c": "PrimaryPhone.FreeFormNumber", "Salesforce_Field__c": "Phone"},
]


class Twin:
    """The preview's QBSetupController on an emulator of one force-app tree, as the admin."""

    def __init__(self, force_app: Path, tls_dir: Path) -> None:
        org = Org(load_schema(force_app), admin_username=ADMIN_USERNAME)
        emulator = create_salesforce_app(
            org, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, username=ADMIN_USERNAME
        )
        self.server, self.salesforce_url, self.ca_path = run_in_thread(emulator, tls_dir)
        self.client = create_preview_app(
            self.salesforce_url, self.ca_path, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
        ).test_client()
        seeded = requests.post(
            f"{self.salesforce_url}/_admin/records/QB_Company__c",
            json=COMPANY,
            verify=str(self.ca_path),
            timeout=10,
        )
        assert seeded.status_code == 201, seeded.text
        self.company_id = seeded.json()["ids"][0]

    def apex(self, method: str, params: dict):
        return self.client.post(f"/apex/QBSetupController/{method}", json=params)

    def save_customer_mapping(self):
        return self.apex(
            "saveObjectMapping",
            {
                "mapping": {
                    "Company__c": self.company_id,
                    "QB_Object__c": "Customer",
                    "Salesforce_Object__c": "Account",
                    "External_Id_Field__c": "QB_External_Id__c",
                }
            },
        )

    def save_customer_fields(self):
        mapping = self.save_customer_mapping()
        assert mapping.status_code == 200, mapping.json
        return self.apex(
            "saveFieldMappings",
            {"objectMappingId": mapping.json["Id"], "mappings": CUSTOMER_FIELDS},
        )


@pytest.fixture
def twin(tmp_path) -> Iterator:
    running = []

    def start(force_app: Path = FORCE_APP) -> Twin:
        started = Twin(force_app, tmp_path / f"tls{len(running)}")
        running.append(started)
        return started

    yield start
    for started in running:
        started.server.shutdown()
        started.server.server_close()


def _refusal(response) -> str:
    assert response.status_code == 400, response.json
    assert response.json["exceptionType"] == "System.AuraHandledException"
    return response.json["message"]


def test_the_admin_maps_customer_name_and_phone(twin):
    saved = twin().save_customer_fields()
    assert saved.status_code == 200, saved.json
    assert {row["Salesforce_Field__c"] for row in saved.json} == {"Name", "Phone"}


def test_without_read_on_phone_the_field_does_not_exist_for_the_admin(twin, tmp_path):
    copy = force_app_without_grant(tmp_path / "force-app", ADMIN_SET, "Account.Phone")
    refused = twin(copy).save_customer_fields()
    assert _refusal(refused) == (
        "Unknown Salesforce field for PrimaryPhone.FreeFormNumber: Account.Phone."
    )


def test_with_phone_read_only_the_field_cannot_be_written(twin, tmp_path):
    copy = force_app_without_grant(
        tmp_path / "force-app", ADMIN_SET, "Account.Phone", keep_read=True
    )
    assert _refusal(twin(copy).save_customer_fields()) == "Account.Phone cannot be written."


def test_without_create_on_account_nothing_maps_to_it(twin, tmp_path):
    copy = force_app_without_grant(tmp_path / "force-app", ADMIN_SET, "Account", keep_read=True)
    started = twin(copy)
    assert _refusal(started.save_customer_mapping()) == (
        "QuickBooks records cannot be written to Account."
    )
    offered = {o["apiName"] for o in started.apex("getCreateableObjects", {}).json}
    assert "Account" not in offered and "Product2" in offered


def test_without_edit_on_the_real_time_switch_the_row_is_refused(twin, tmp_path):
    copy = force_app_without_grant(
        tmp_path / "force-app",
        ADMIN_SET,
        "QB_Object_Mapping__c.Realtime_Enabled__c",
        keep_read=True,
    )
    started = twin(copy)
    saved = started.save_customer_fields()
    assert saved.status_code == 200, saved.json
    mapping_id = saved.json[0]["Object_Mapping__c"]
    rows = started.apex(
        "saveRealtimeSettings", {"changes": [{"Id": mapping_id, "Realtime_Enabled__c": True}]}
    ).json
    assert [(row["success"], row["message"]) for row in rows] == [
        (
            False,
            "Unable to create/update fields: Realtime_Enabled__c. Please check the security "
            "settings of this field and verify that it is read/write for your profile or "
            "permission set.",
        )
    ]
    [mapping] = started.apex("getObjectMappings", {"companyId": started.company_id}).json
    assert mapping["Realtime_Enabled__c"] is False
