"""The Salesforce emulator enforces what an org enforces for the package's users (issue 12).

The integration user has a minimum-access profile plus QuickBooks_Sync_Integration, the admin the
same profile plus QuickBooks_Sync_Admin, both read from force-app. Expected codes and wording:
INVALID_FIELD_FOR_INSERT_UPDATE "Unable to create/update fields: X. Please check the security
settings of this field and verify that it is read/write for your profile or permission set."
(https://salesforcedictionary.com/errors/invalid-field-for-insert-update);
INSUFFICIENT_ACCESS_OR_READONLY "insufficient access rights on object id"
(https://agentforceaccess.com/blog/insufficient-access-rights-on-object-id); a query names an
object the user cannot read "not supported" (INVALID_TYPE) and a field it cannot read "No such
column" (INVALID_FIELD), as for names that do not exist; describes leave unreadable fields out
("Understanding Describe Information Permissions", Apex Developer Guide).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests

from qbsync.config import Settings
from qbsync.salesforce import SalesforceClient, SalesforceError
from qbsync_sandbox.emulators.salesforce import (
    Org,
    create_salesforce_app,
    load_schema,
    run_in_thread,
)
from qbsync_sandbox.emulators.salesforce.tls import connected_app_keys
from tests.support.grants import force_app_without_grant
from tests.support.paths import FORCE_APP

CLIENT_ID = "3MVG9-permissions-test"
INTEGRATION = "integration@qbsync.example"
ADMIN = "admin@qbsync.example"
V = "66.0"
FLS_MESSAGE = (
    "Unable to create/update fields: {}. Please check the security settings of this field and "
    "verify that it is read/write for your profile or permission set."
)


class RunningOrg:
    """A running emulator of one force-app tree, called over HTTPS as one of its users."""

    def __init__(self, base_url: str, key: bytes) -> None:
        self.base_url, self.key = base_url, key
        self.tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self.tokens:
            claims = {"iss": CLIENT_ID, "sub": username, "aud": self.base_url}
            assertion = jwt.encode(
                claims | {"exp": int(time.time()) + 180}, self.key, algorithm="RS256"
            )
            response = requests.post(
                f"{self.base_url}/services/oauth2/token",
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    "assertion": assertion,
                },
                timeout=10,
            )
            assert response.status_code == 200, response.text
            self.tokens[username] = response.json()["access_token"]
        return self.tokens[username]

    def call(self, username: str, method: str, path: str, body=None, **kwargs):
        return requests.request(
            method,
            f"{self.base_url}/services/data/v{V}/{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token(username)}"},
            timeout=10,
            **kwargs,
        )

    def seed(self, sobject: str, record: dict) -> str:
        """Create a record in system mode (the admin API), as test data is loaded."""
        response = requests.post(
            f"{self.base_url}/_admin/records/{sobject}", json=record, timeout=10
        )
        assert response.status_code == 201, response.text
        return response.json()["ids"][0]


@pytest.fixture(scope="module")
def connected_app() -> tuple[bytes, bytes]:
    return connected_app_keys("qbsync permissions test")


@pytest.fixture
def start(tmp_path, monkeypatch, connected_app) -> Iterator:
    servers = []

    def run(force_app: Path = FORCE_APP) -> RunningOrg:
        org = Org(load_schema(force_app), username=INTEGRATION, admin_username=ADMIN)
        app = create_salesforce_app(org, client_id=CLIENT_ID, certificate_pem=connected_app[1])
        server, base_url, ca_path = run_in_thread(app, tmp_path / f"tls{len(servers)}")
        servers.append(server)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_path))
        return RunningOrg(base_url, connected_app[0])

    yield run
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def sf(start) -> RunningOrg:
    return start()


def _error(response: requests.Response, status: int = 400) -> dict:
    assert response.status_code == status, response.text
    [error] = response.json()
    return error


def _company(sf: RunningOrg) -> str:
    return sf.seed("QB_Company__c", {"Name": "Acme", "Realm_Id__c": "9130350000000001"})


def _object_mapping(sf: RunningOrg, company: str) -> str:
    return sf.seed(
        "QB_Object_Mapping__c",
        {
            "Company__c": company,
            "QB_Object__c": "Customer",
            "Salesforce_Object__c": "Account",
            "External_Id_Field__c": "QB_External_Id__c",
            "Company_Object_Key__c": f"{company}:Customer",
        },
    )


# ---------------------------------------------------------------- object permissions


def test_integration_user_writes_accounts_and_only_reads_the_configuration(sf):
    created = sf.call(
        INTEGRATION,
        "POST",
        "sobjects/Account",
        {"Name": "Acme", "Phone": "555-0100", "QB_External_Id__c": "9130-Customer-1"},
    )
    assert created.status_code == 201, created.text
    company = _company(sf)
    mapping = _object_mapping(sf, company)

    refused = _error(
        sf.call(
            INTEGRATION,
            "POST",
            "sobjects/QB_Object_Mapping__c",
            {"Company__c": company, "QB_Object__c": "Vendor"},
        )
    )
    assert refused == {
        "errorCode": "INSUFFICIENT_ACCESS_OR_READONLY",
        "message": "insufficient access rights on object id",
        "fields": [],
    }
    switched = sf.call(
        INTEGRATION,
        "PATCH",
        f"sobjects/QB_Object_Mapping__c/{mapping}",
        {"Realtime_Enabled__c": True},
    )
    assert _error(switched)["errorCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    # QB_Company__c: read, create, edit, but no delete.
    deleted = sf.call(INTEGRATION, "DELETE", f"sobjects/QB_Company__c/{company}")
    assert _error(deleted)["errorCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    readable = sf.call(INTEGRATION, "GET", f"sobjects/QB_Object_Mapping__c/{mapping}")
    assert readable.status_code == 200
    assert readable.json()["Realtime_Enabled__c"] is False


def test_admin_configures_mappings_but_cannot_write_sync_logs_or_delete_accounts(sf):
    company = _company(sf)
    mapping = sf.call(
        ADMIN,
        "POST",
        "sobjects/QB_Object_Mapping__c",
        {
            "Company__c": company,
            "QB_Object__c": "Customer",
            "Salesforce_Object__c": "Account",
            "External_Id_Field__c": "QB_External_Id__c",
            "Company_Object_Key__c": f"{company}:Customer",
        },
    )
    assert mapping.status_code == 201, mapping.text
    log = sf.call(ADMIN, "POST", "sobjects/QB_Sync_Log__c", {"Company__c": company})
    assert _error(log)["errorCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    account = sf.seed("Account", {"Name": "Acme"})
    assert (
        _error(sf.call(ADMIN, "DELETE", f"sobjects/Account/{account}"))["errorCode"]
        == "INSUFFICIENT_ACCESS_OR_READONLY"
    )


# ---------------------------------------------------------------- field-level security


def test_a_field_the_user_cannot_edit_is_refused_in_salesforce_words(sf):
    # AccountNumber: no permission set grants it.
    refused = sf.call(
        INTEGRATION, "POST", "sobjects/Account", {"Name": "Acme", "AccountNumber": "A-1"}
    )
    assert _error(refused) == {
        "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
        "message": FLS_MESSAGE.format("AccountNumber"),
        "fields": ["AccountNumber"],
    }
    # Read-only for the admin: the middleware keeps a company's status.
    company = _company(sf)
    status = sf.call(
        ADMIN, "PATCH", f"sobjects/QB_Company__c/{company}", {"Status__c": "Disconnected"}
    )
    assert _error(status)["message"] == FLS_MESSAGE.format("Status__c")
    # Required fields have no field-level security: the admin may write Realm_Id__c.
    realm = sf.call(ADMIN, "PATCH", f"sobjects/QB_Company__c/{company}", {"Realm_Id__c": "77"})
    assert realm.status_code == 204, realm.text


def test_collections_and_upserts_apply_security_per_record(sf):
    results = sf.call(
        INTEGRATION,
        "POST",
        "composite/sobjects",
        {
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "A", "Sic": "1234"},
                {"attributes": {"type": "Account"}, "Name": "B", "Website": "https://b.example"},
            ],
        },
    ).json()
    assert results[0]["success"] is False
    assert results[0]["errors"] == [
        {
            "statusCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "message": FLS_MESSAGE.format("Sic"),
            "fields": ["Sic"],
        }
    ]
    assert results[1]["success"] is True
    upserted = sf.call(
        INTEGRATION,
        "PATCH",
        "composite/sobjects/Account/QB_External_Id__c",
        {"records": [{"attributes": {"type": "Account"}, "QB_External_Id__c": "x-1", "Name": "X"}]},
    ).json()
    assert upserted[0]["success"] and upserted[0]["created"]
    contact = sf.call(
        INTEGRATION,
        "POST",
        "composite/sobjects",
        {"records": [{"attributes": {"type": "Contact"}, "LastName": "Doe"}]},
    )
    assert _error(contact)["message"] == "sObject type 'Contact' is not supported."


# ---------------------------------------------------------------- reads: queries and describes


def test_unreadable_objects_and_fields_do_not_exist_for_the_user(sf):
    account = sf.seed("Account", {"Name": "Acme", "AccountNumber": "A-1", "Phone": "555"})
    contact = sf.call(INTEGRATION, "GET", "query", params={"q": "SELECT Id FROM Contact"})
    error = _error(contact)
    assert error["errorCode"] == "INVALID_TYPE"
    assert "sObject type 'Contact' is not supported." in error["message"]
    column = sf.call(
        INTEGRATION, "GET", "query", params={"q": "SELECT Id, AccountNumber FROM Account"}
    )
    error = _error(column)
    assert error["errorCode"] == "INVALID_FIELD"
    assert "No such column 'AccountNumber' on entity 'Account'." in error["message"]
    # The System Administrator reads it: the column exists, this user just cannot see it.
    sysadmin = sf.call(
        "sysadmin@qbsync.example",
        "GET",
        "query",
        params={"q": "SELECT AccountNumber FROM Account"},
    )
    assert sysadmin.json()["records"][0]["AccountNumber"] == "A-1"

    record = sf.call(INTEGRATION, "GET", f"sobjects/Account/{account}").json()
    assert record["Phone"] == "555" and "AccountNumber" not in record
    assert _error(sf.call(INTEGRATION, "GET", "sobjects/Contact/describe"), 404) == {
        "errorCode": "NOT_FOUND",
        "message": "The requested resource does not exist",
    }
    listed = {o["name"] for o in sf.call(INTEGRATION, "GET", "sobjects").json()["sobjects"]}
    assert {"Account", "QB_Sync_Log__c"} <= listed and "Contact" not in listed


def test_describe_says_what_this_user_may_write(sf):
    fields = {
        f["name"]: f
        for f in sf.call(INTEGRATION, "GET", "sobjects/Account/describe").json()["fields"]
    }
    assert "AccountNumber" not in fields
    assert fields["Name"]["createable"] and fields["BillingCity"]["updateable"]
    mapping = sf.call(INTEGRATION, "GET", "sobjects/QB_Object_Mapping__c/describe").json()
    assert (mapping["createable"], mapping["updateable"], mapping["deletable"]) == (
        False,
        False,
        False,
    )
    realtime = next(f for f in mapping["fields"] if f["name"] == "Realtime_Enabled__c")
    assert (realtime["createable"], realtime["updateable"]) == (False, False)

    admin = {
        f["name"]: f for f in sf.call(ADMIN, "GET", "sobjects/Account/describe").json()["fields"]
    }
    assert (admin["Phone"]["createable"], admin["Phone"]["updateable"]) == (True, True)
    assert "AccountNumber" not in admin
    # Read-only for the admin: the worker sets the external id.
    ext = admin["QB_External_Id__c"]
    assert (ext["createable"], ext["updateable"]) == (False, False)
    info = sf.call(ADMIN, "GET", "ui-api/object-info/QB_Sync_Log__c").json()
    assert info["createable"] is False
    assert info["fields"]["Status__c"]["updateable"] is False


# ---------------------------------------------------------------- a grant taken away


def _client(sf: RunningOrg, tmp_path: Path, key: bytes) -> SalesforceClient:
    key_file = tmp_path / "integration.key"
    key_file.write_bytes(key)
    return SalesforceClient(
        Settings(
            salesforce_login_url=sf.base_url,
            salesforce_client_id=CLIENT_ID,
            salesforce_username=INTEGRATION,
            salesforce_private_key_file=str(key_file),
        )
    )


ACCOUNT = {"QB_External_Id__c": "9130-Customer-7", "Name": "Acme", "Phone": "555-0100"}


def test_the_middleware_client_writes_a_granted_field(sf, tmp_path, connected_app):
    client = _client(sf, tmp_path, connected_app[0])
    [result] = client.upsert_collection("Account", "QB_External_Id__c", [ACCOUNT])
    assert result.success, result.errors


def test_without_its_phone_grant_the_middleware_client_is_refused(start, tmp_path, connected_app):
    copy = force_app_without_grant(
        tmp_path / "force-app", "QuickBooks_Sync_Integration", "Account.Phone"
    )
    sf = start(copy)
    client = _client(sf, tmp_path, connected_app[0])
    [result] = client.upsert_collection("Account", "QB_External_Id__c", [ACCOUNT])
    assert not result.success
    assert result.errors == [
        {
            "statusCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
            "message": FLS_MESSAGE.format("Phone"),
            "fields": ["Phone"],
        }
    ]
    fields = {f["name"] for f in client.describe("Account")["fields"]}
    assert "Phone" not in fields and "Fax" in fields


def test_without_read_on_the_mappings_the_middleware_cannot_load_its_configuration(
    start, tmp_path, connected_app
):
    copy = force_app_without_grant(
        tmp_path / "force-app", "QuickBooks_Sync_Integration", "QB_Object_Mapping__c"
    )
    client = _client(start(copy), tmp_path, connected_app[0])
    with pytest.raises(SalesforceError) as refused:
        client.query_all("SELECT Id, QB_Object__c FROM QB_Object_Mapping__c")
    assert refused.value.error_code == "INVALID_TYPE"
    assert "sObject type 'QB_Object_Mapping__c' is not supported" in refused.value.message


# ---------------------------------------------------------------- permission set assignments


def test_a_permission_set_assignment_grants_and_its_deletion_takes_away(sf):
    """Access follows the PermissionSetAssignment rows, as `sf org assign permset` writes them."""
    sysadmin = "sysadmin@qbsync.example"
    company = _company(sf)
    admin_id = sf.call(ADMIN, "GET", "query", params={
        "q": f"SELECT Id FROM User WHERE Username = '{ADMIN}'"  # noqa: S608 - a constant
    }).json()["records"][0]["Id"]  # fmt: skip
    (integration_set,) = sf.call(sysadmin, "GET", "query", params={
        "q": "SELECT Id, Label FROM PermissionSet WHERE Name = 'QuickBooks_Sync_Integration'"
    }).json()["records"]  # fmt: skip
    assert integration_set["Label"] == "QuickBooks Sync Integration"
    log = {"Company__c": company}
    assert _error(sf.call(ADMIN, "POST", "sobjects/QB_Sync_Log__c", log))["errorCode"] == (
        "INSUFFICIENT_ACCESS_OR_READONLY"
    )
    assignment = {"AssigneeId": admin_id, "PermissionSetId": integration_set["Id"]}
    # The admin may not assign itself a permission set; the System Administrator may.
    assert sf.call(ADMIN, "POST", "sobjects/PermissionSetAssignment", assignment).status_code == 404
    created = sf.call(sysadmin, "POST", "sobjects/PermissionSetAssignment", assignment)
    assert created.status_code == 201, created.text
    assert sf.call(ADMIN, "POST", "sobjects/QB_Sync_Log__c", log).status_code == 201
    again = sf.call(sysadmin, "POST", "sobjects/PermissionSetAssignment", assignment)
    assert _error(again)["errorCode"] == "DUPLICATE_VALUE"

    deleted = sf.call(
        sysadmin, "DELETE", f"sobjects/PermissionSetAssignment/{created.json()['id']}"
    )
    assert deleted.status_code == 204
    assert _error(sf.call(ADMIN, "POST", "sobjects/QB_Sync_Log__c", log))["errorCode"] == (
        "INSUFFICIENT_ACCESS_OR_READONLY"
    )
    # The emulator's permission sets come from force-app only (Salesforce lets an administrator
    # insert one; the emulator does not model that and says so in its describe).
    refused = sf.call(sysadmin, "POST", "sobjects/PermissionSet", {"Name": "Mine", "Label": "M"})
    assert refused.status_code == 400
