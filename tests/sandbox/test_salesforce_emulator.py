"""Fidelity tests of the Salesforce emulator over real HTTPS.

Each expectation is a documented Salesforce behaviour (research/salesforce.md §1, the REST API
developer guide), so the emulator cannot drift into agreeing with a wrong client.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import requests
from click.testing import CliRunner
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
)

from qbsync_sandbox.emulators.salesforce import (
    Org,
    create_salesforce_app,
    load_schema,
    run_in_thread,
)
from qbsync_sandbox.emulators.salesforce.cli import salesforce as salesforce_cli
from qbsync_sandbox.emulators.salesforce.tls import connected_app_keys
from tests.support.paths import FORCE_APP

CLIENT_ID = "3MVG9-test-consumer-key"
USERNAME = "integration@qbsync.example"
# The org's System Administrator ("Modify All Data"): the fidelity tests of save rules, queries and
# describes run as it; tests/sandbox/test_salesforce_permissions.py covers the package's users.
SYSADMIN = "sysadmin@qbsync.example"
SECRET = "s3cret-consumer-secret"
V = "66.0"


@pytest.fixture(scope="module")
def connected_app() -> tuple[bytes, bytes]:
    return connected_app_keys("qbsync test connected app")


class Emulator:
    """A running emulator plus helpers to call it like a client would."""

    def __init__(self, org: Org, base_url: str, ca_path: Path, key) -> None:
        self.org, self.base_url, self.ca_path, self.key = org, base_url, ca_path, key
        self.http = requests.Session()
        self.token = self.login()

    def assertion(self, key=None, **overrides) -> str:
        claims = {
            "iss": CLIENT_ID,
            "sub": SYSADMIN,
            "aud": self.base_url,
            "exp": int(time.time()) + 180,
        } | overrides
        return jwt.encode(claims, key or self.key, algorithm="RS256")

    def token_request(self, data: dict, **kwargs) -> requests.Response:
        return self.http.post(f"{self.base_url}/services/oauth2/token", data=data, **kwargs)

    def login(self) -> str:
        response = self.token_request(
            {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": self.assertion(),
            }
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def call(self, method: str, path: str, body=None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"} | kwargs.pop("headers", {})
        url = path if path.startswith("http") else f"{self.base_url}/services/data/v{V}/{path}"
        return self.http.request(method, url, json=body, headers=headers, **kwargs)

    def admin(self, method: str, path: str, body=None) -> requests.Response:
        return self.http.request(method, f"{self.base_url}/_admin/{path}", json=body)

    def simple(self) -> Salesforce:
        return Salesforce(instance_url=self.base_url, session_id=self.token, version=V)

    def company(self, realm: str = "9130350000000001") -> str:
        response = self.call(
            "POST", "sobjects/QB_Company__c", {"Name": "Acme", "Realm_Id__c": realm}
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def object_mapping(
        self, company_id: str, qb_object: str = "Customer", **extra
    ) -> requests.Response:
        body = {
            "Company__c": company_id,
            "QB_Object__c": qb_object,
            "Salesforce_Object__c": "Account",
            "External_Id_Field__c": "QB_External_Id__c",
            "Company_Object_Key__c": f"{company_id}:{qb_object}",
        } | extra
        return self.call("POST", "sobjects/QB_Object_Mapping__c", body)


def _start(tmp_path, monkeypatch, connected_app, *, schema=None, **options) -> Emulator:
    key, certificate = connected_app
    org = Org(schema or load_schema(FORCE_APP), username=USERNAME)
    app = create_salesforce_app(
        org, client_id=CLIENT_ID, certificate_pem=certificate, client_secret=SECRET, **options
    )
    server, base_url, ca_path = run_in_thread(app, tmp_path / "tls")
    # requests prefers REQUESTS_CA_BUNDLE over Session.verify (DESIGN.md pitfalls)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_path))
    emulator = Emulator(org, base_url, ca_path, key)
    emulator.server = server
    return emulator


@pytest.fixture
def sf(tmp_path, monkeypatch, connected_app):
    emulator = _start(tmp_path, monkeypatch, connected_app)
    yield emulator
    emulator.server.shutdown()
    emulator.server.server_close()


def _error(response: requests.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body, list) and len(body) >= 1
    return body[0]


# ---------------------------------------------------------------- OAuth


def test_jwt_bearer_login_returns_salesforce_token_shape(sf):
    response = sf.token_request(
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": sf.assertion()}
    )
    body = response.json()
    assert response.status_code == 200
    assert {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"} <= set(
        body
    )
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == sf.base_url
    assert body["id"].startswith(f"{sf.base_url}/id/00D")
    assert body["issued_at"].isdigit()
    ok = sf.http.get(
        f"{sf.base_url}/services/data/v{V}/limits",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert ok.status_code == 200


@pytest.mark.parametrize(
    ("overrides", "error", "description"),
    [
        ({"aud": "https://elsewhere.example.com"}, "invalid_grant", "audience is invalid"),
        ({"exp": int(time.time()) - 60}, "invalid_grant", "expired authorization code"),
        ({"iss": "someone-else"}, "invalid_client_id", "client identifier invalid"),
        ({"sub": "nobody@example.com"}, "invalid_grant", "user hasn't approved this consumer"),
    ],
)
def test_jwt_bearer_refusals(sf, overrides, error, description):
    response = sf.token_request(
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": sf.assertion(**overrides),
        }
    )
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_jwt_bearer_signed_with_another_key_is_an_invalid_assertion(sf):
    other_key, _ = connected_app_keys()
    response = sf.token_request(
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": sf.assertion(key=other_key),
        }
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


def test_jwt_audience_may_be_login_salesforce_com(sf):
    response = sf.token_request(
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": sf.assertion(aud="https://login.salesforce.com"),
        }
    )
    assert response.status_code == 200


def test_client_credentials_basic_and_form_and_wrong_secret(sf):
    basic = sf.token_request({"grant_type": "client_credentials"}, auth=(CLIENT_ID, SECRET))
    form = sf.token_request(
        {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET}
    )
    wrong = sf.token_request({"grant_type": "client_credentials"}, auth=(CLIENT_ID, "nope"))
    assert basic.status_code == 200 and basic.json()["token_type"] == "Bearer"
    assert form.status_code == 200
    assert wrong.status_code == 400
    assert wrong.json() == {
        "error": "invalid_client",
        "error_description": "invalid client credentials",
    }


def test_unknown_grant_type(sf):
    response = sf.token_request({"grant_type": "password"})
    assert response.json()["error"] == "unsupported_grant_type"


def test_missing_or_unknown_session_is_invalid_session_id(sf):
    response = sf.http.get(f"{sf.base_url}/services/data/v{V}/limits")
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_sessions_expire_after_the_configured_time(tmp_path, monkeypatch, connected_app):
    emulator = _start(tmp_path, monkeypatch, connected_app, session_seconds=0.5)
    try:
        assert emulator.call("GET", "limits").status_code == 200
        time.sleep(0.6)
        assert _error(emulator.call("GET", "limits"), 401)["errorCode"] == "INVALID_SESSION_ID"
    finally:
        emulator.server.shutdown()
        emulator.server.server_close()


# ---------------------------------------------------------------- SOQL


def _configured_company(sf) -> tuple[str, str]:
    company = sf.company()
    mapping = sf.object_mapping(company)
    assert mapping.status_code == 201, mapping.text
    mapping_id = mapping.json()["id"]
    for qb_field, sf_field in (("DisplayName", "Name"), ("PrimaryPhone.FreeFormNumber", "Phone")):
        created = sf.call(
            "POST",
            "sobjects/QB_Field_Mapping__c",
            {
                "Object_Mapping__c": mapping_id,
                "QB_Field__c": qb_field,
                "Salesforce_Field__c": sf_field,
            },
        )
        assert created.status_code == 201, created.text
    enabled = sf.call(
        "PATCH",
        f"sobjects/QB_Object_Mapping__c/{mapping_id}",
        {"Realtime_Enabled__c": True, "Delete_Behavior__c": "Deactivate"},
    )
    assert enabled.status_code == 204, enabled.text
    return company, mapping_id


WORKER_QUERY = (
    "SELECT Id, QB_Object__c, Salesforce_Object__c, External_Id_Field__c, Realtime_Enabled__c, "
    "Delete_Behavior__c, Field_Mapping_Count__c, Company__r.Realm_Id__c, Company__r.Status__c, "
    "(SELECT Id, QB_Field__c, Salesforce_Field__c, Transform__c, Default_Value__c FROM Field_Mappings__r) "
    "FROM QB_Object_Mapping__c WHERE Company__r.Realm_Id__c = '{realm}'"
)


def test_worker_configuration_query_with_parent_path_and_child_subquery(sf):
    company, mapping_id = _configured_company(sf)
    other = sf.company("42")
    assert sf.object_mapping(other, "Vendor").status_code == 201

    response = sf.call("GET", "query", params={"q": WORKER_QUERY.format(realm="9130350000000001")})

    body = response.json()
    assert response.status_code == 200
    assert body["totalSize"] == 1 and body["done"] is True
    record = body["records"][0]
    assert record["attributes"] == {
        "type": "QB_Object_Mapping__c",
        "url": f"/services/data/v{V}/sobjects/QB_Object_Mapping__c/{mapping_id}",
    }
    assert record["Id"] == mapping_id and len(mapping_id) == 18
    assert record["Realtime_Enabled__c"] is True
    assert record["Field_Mapping_Count__c"] == 2.0
    assert record["Company__r"]["Realm_Id__c"] == "9130350000000001"
    assert record["Company__r"]["Status__c"] is None
    assert record["Company__r"]["attributes"]["type"] == "QB_Company__c"
    children = record["Field_Mappings__r"]
    assert children["totalSize"] == 2 and children["done"] is True
    assert [c["QB_Field__c"] for c in children["records"]] == [
        "DisplayName",
        "PrimaryPhone.FreeFormNumber",
    ]
    assert children["records"][0]["Transform__c"] is None
    assert children["records"][0]["attributes"]["type"] == "QB_Field_Mapping__c"
    vendor = sf.call("GET", "query", params={"q": WORKER_QUERY.format(realm="42")}).json()
    assert vendor["records"][0]["Field_Mappings__r"] is None  # no children: null, not an empty list


def test_where_operators_order_and_limit(sf):
    seeded = sf.admin(
        "POST",
        "records/Account",
        [
            {"Name": "Alpha", "QB_External_Id__c": "r-Customer-1", "BillingCity": "Oslo"},
            {"Name": "beta", "QB_External_Id__c": "r-Customer-2", "QB_Active__c": False},
            {"Name": "Gamma", "QB_External_Id__c": "r-Vendor-3", "BillingCity": "Paris"},
            {"Name": "Delta"},
        ],
    )
    assert seeded.status_code == 201, seeded.text

    def names(where: str, tail: str = "ORDER BY Name") -> list[str]:
        response = sf.call(
            "GET",
            "query",
            params={"q": f"SELECT Name FROM Account WHERE {where} {tail}"},  # noqa: S608 - SOQL built from test literals
        )
        assert response.status_code == 200, response.text
        return [r["Name"] for r in response.json()["records"]]

    assert names("QB_External_Id__c IN ('r-Customer-1', 'r-Vendor-3')") == ["Alpha", "Gamma"]
    assert names("QB_External_Id__c NOT IN ('r-Customer-1')") == ["beta", "Delta", "Gamma"]
    assert names("QB_External_Id__c LIKE 'r-customer-%'") == ["Alpha", "beta"]
    assert names("Name = 'BETA'") == ["beta"]  # SOQL compares text case-insensitively
    assert names("QB_Active__c = false") == ["beta"]
    assert names("BillingCity = null") == ["beta", "Delta"]
    assert names("BillingCity != null AND (Name = 'Alpha' OR Name = 'Gamma')") == ["Alpha", "Gamma"]
    assert names("NOT Name = 'Delta'") == ["Alpha", "beta", "Gamma"]
    assert names("CreatedDate = TODAY", "ORDER BY Name DESC LIMIT 2") == ["Gamma", "Delta"]
    assert names("CreatedDate < YESTERDAY") == []
    assert names(
        "CreatedDate = LAST_N_DAYS:7", "ORDER BY BillingCity NULLS LAST, Name LIMIT 3"
    ) == [
        "Alpha",
        "Gamma",
        "beta",
    ]
    count = sf.call(
        "GET", "query", params={"q": "SELECT COUNT() FROM Account WHERE Name LIKE '%ta'"}
    )
    assert count.json()["totalSize"] == 2 and count.json()["records"] == []


def test_unknown_field_in_query_is_invalid_field_with_salesforce_message(sf):
    error = _error(sf.call("GET", "query", params={"q": "SELECT Id, Nmae FROM Account"}), 400)
    assert error["errorCode"] == "INVALID_FIELD"
    assert "ERROR at Row:1:Column:12" in error["message"]
    assert (
        "No such column 'Nmae' on entity 'Account'. If you are attempting to use a custom field"
        in error["message"]
    )
    parent = _error(
        sf.call("GET", "query", params={"q": "SELECT Company.Name FROM QB_Object_Mapping__c"}), 400
    )
    assert parent["errorCode"] == "INVALID_FIELD"
    assert "Didn't understand relationship 'Company' in field path" in parent["message"]


def test_malformed_query_and_unknown_object(sf):
    malformed = _error(sf.call("GET", "query", params={"q": "SELECT Id FRM Account"}), 400)
    assert malformed["errorCode"] == "MALFORMED_QUERY"
    assert malformed["message"].endswith("ERROR at Row:1:Column:11\nunexpected token: 'FRM'")
    unknown = _error(sf.call("GET", "query", params={"q": "SELECT Id FROM Acount"}), 400)
    assert unknown["errorCode"] == "INVALID_TYPE"
    assert "sObject type 'Acount' is not supported." in unknown["message"]
    child = _error(
        sf.call(
            "GET",
            "query",
            params={"q": "SELECT Id, (SELECT Id FROM Mappings__r) FROM QB_Company__c"},
        ),
        400,
    )
    assert child["errorCode"] == "INVALID_TYPE"


def test_query_pages_with_next_records_url_and_simple_salesforce_follows_it(sf):
    sf.admin("POST", "records/Product2", [{"Name": f"Item {i:03d}"} for i in range(450)])
    first = sf.call(
        "GET",
        "query",
        params={"q": "SELECT Id, Name FROM Product2"},
        headers={"Sforce-Query-Options": "batchSize=200"},
    )
    body = first.json()
    assert body["totalSize"] == 450 and body["done"] is False and len(body["records"]) == 200
    assert body["nextRecordsUrl"].startswith(f"/services/data/v{V}/query/01g")
    second = sf.call(
        "GET",
        sf.base_url + body["nextRecordsUrl"],
        headers={"Sforce-Query-Options": "batchSize=200"},
    ).json()
    assert second["records"][0]["Name"] == "Item 200" and second["done"] is False
    everything = sf.simple().query_all("SELECT Name FROM Product2")
    assert everything["totalSize"] == 450 and len(everything["records"]) == 450


def test_deleted_records_only_in_query_all(sf):
    created = sf.call("POST", "sobjects/Account", {"Name": "Gone"}).json()["id"]
    assert sf.call("DELETE", f"sobjects/Account/{created}").status_code == 204
    query = "SELECT Id, IsDeleted FROM Account"
    assert sf.call("GET", "query", params={"q": query}).json()["totalSize"] == 0
    everything = sf.call("GET", "queryAll", params={"q": query}).json()
    assert everything["records"][0]["IsDeleted"] is True
    again = _error(sf.call("GET", f"sobjects/Account/{created}"), 404)
    assert again["errorCode"] == "ENTITY_IS_DELETED"


# ---------------------------------------------------------------- sObject rows


def test_create_read_update_delete(sf):
    created = sf.call("POST", "sobjects/Account", {"Name": "Acme", "BillingCity": "Oslo"})
    assert created.status_code == 201
    body = created.json()
    assert body["success"] is True and body["errors"] == []
    account_id = body["id"]
    assert account_id.startswith("001") and len(account_id) == 18
    record = sf.call("GET", f"sobjects/Account/{account_id}").json()
    assert record["attributes"]["type"] == "Account" and record["Name"] == "Acme"
    assert record["QB_Active__c"] is True  # checkbox default from force-app
    assert record["CreatedDate"].endswith("+0000")
    assert (
        sf.call("PATCH", f"sobjects/Account/{account_id}", {"BillingCity": "Bergen"}).status_code
        == 204
    )
    assert (
        sf.call("GET", f"sobjects/Account/{account_id}", params={"fields": "BillingCity"}).json()[
            "BillingCity"
        ]
        == "Bergen"
    )
    assert sf.call("DELETE", f"sobjects/Account/{account_id}").status_code == 204
    missing = _error(sf.call("GET", "sobjects/Account/001Hs00000zzzzzAAA"), 404)
    assert missing == {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}


def test_upsert_status_codes_201_200_and_404_for_unknown_external_id_field(sf):
    path = "sobjects/Account/QB_External_Id__c/9130-Customer-1"
    created = sf.call("PATCH", path, {"Name": "Acme"})
    assert created.status_code == 201
    assert created.json() == {
        "id": created.json()["id"],
        "success": True,
        "errors": [],
        "created": True,
    }
    updated = sf.call("PATCH", path, {"Name": "Acme Inc"})
    assert updated.status_code == 200
    assert updated.json() == {
        "id": created.json()["id"],
        "success": True,
        "errors": [],
        "created": False,
    }
    old_version = sf.call(
        "PATCH", sf.base_url + "/services/data/v45.0/" + path, {"Name": "Acme 45"}
    )
    assert old_version.status_code == 204 and old_version.content == b""
    unknown = _error(sf.call("PATCH", "sobjects/Account/Nope__c/1", {"Name": "x"}), 404)
    assert unknown["errorCode"] == "NOT_FOUND"
    assert (
        unknown["message"]
        == "Provided external ID field does not exist or is not accessible: Nope__c"
    )


def test_upsert_with_several_matches_answers_300_with_their_urls(
    tmp_path, monkeypatch, connected_app
):
    schema = load_schema(FORCE_APP)
    schema.object("Account").field("QB_External_Id__c").unique = False  # a non-unique external id
    emulator = _start(tmp_path, monkeypatch, connected_app, schema=schema)
    try:
        emulator.admin(
            "POST",
            "records/Account",
            [{"Name": "A", "QB_External_Id__c": "dup"}, {"Name": "B", "QB_External_Id__c": "dup"}],
        )
        response = emulator.call("PATCH", "sobjects/Account/QB_External_Id__c/dup", {"Name": "C"})
        assert response.status_code == 300
        urls = response.json()
        assert len(urls) == 2 and all(
            u.startswith(f"/services/data/v{V}/sobjects/Account/001") for u in urls
        )
        with pytest.raises(SalesforceMoreThanOneRecord):
            emulator.simple().Account.upsert("QB_External_Id__c/dup", {"Name": "D"})
    finally:
        emulator.server.shutdown()
        emulator.server.server_close()


@pytest.mark.parametrize(
    ("body", "code", "message", "fields"),
    [
        (
            {"BillingCity": "Oslo"},
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [Name]",
            ["Name"],
        ),
        (
            {"Name": "x", "BillingCity": "C" * 41},
            "STRING_TOO_LONG",
            f"Billing City: data value too large: {'C' * 41} (max length=40)",
            ["BillingCity"],
        ),
        (
            {"Name": "x", "Parent": {"QB_External_Id__c": "no-such-parent"}},
            "INVALID_FIELD",
            "Foreign key external ID: no-such-parent not found for field QB_External_Id__c in entity Account",
            [],
        ),
    ],
)
def test_single_record_errors_use_the_rest_error_shape(sf, body, code, message, fields):
    error = _error(sf.call("POST", "sobjects/Account", body), 400)
    assert error == {"message": message, "errorCode": code, "fields": fields}


def test_unknown_field_in_a_body_is_invalid_field(sf):
    error = _error(sf.call("POST", "sobjects/Account", {"Name": "x", "Colour__c": "red"}), 400)
    assert error["errorCode"] == "INVALID_FIELD"
    assert error["message"] == "No such column 'Colour__c' on sobject of type Account"


def test_duplicate_external_id_is_duplicate_value(sf):
    first = sf.call(
        "POST", "sobjects/Account", {"Name": "A", "QB_External_Id__c": "r-Customer-1"}
    ).json()["id"]
    error = _error(
        sf.call("POST", "sobjects/Account", {"Name": "B", "QB_External_Id__c": "r-Customer-1"}), 400
    )
    assert error["errorCode"] == "DUPLICATE_VALUE"
    assert (
        error["message"]
        == f"duplicate value found: QB_External_Id__c duplicates value on record with id: {first[:15]}"
    )
    # QB_External_Id__c is case-sensitive, so another case is another record
    assert (
        sf.call(
            "POST", "sobjects/Account", {"Name": "C", "QB_External_Id__c": "R-CUSTOMER-1"}
        ).status_code
        == 201
    )


def test_restricted_picklist_rejects_unknown_values(sf):
    company, mapping_id = _configured_company(sf)
    error = _error(
        sf.call(
            "PATCH", f"sobjects/QB_Object_Mapping__c/{mapping_id}", {"Delete_Behavior__c": "Purge"}
        ),
        400,
    )
    assert error["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert error["fields"] == ["Delete_Behavior__c"]
    assert error["message"].endswith("bad value for restricted picklist field: Purge")


def test_multi_select_picklist_values_order_and_refusals(sf):
    company, mapping_id = _configured_company(sf)
    path = f"sobjects/QB_Object_Mapping__c/{mapping_id}"

    def stored() -> str | None:
        return sf.call("GET", path).json()["Match_Rules__c"]

    # Values come back in the order the field defines them, each once.
    assert sf.call("PATCH", path, {"Match_Rules__c": "Phone;Name;Phone"}).status_code == 204
    assert stored() == "Name;Phone"
    assert sf.call("PATCH", path, {"Match_Rules__c": ""}).status_code == 204
    assert stored() is None
    error = _error(sf.call("PATCH", path, {"Match_Rules__c": "Name;Fax"}), 400)
    assert error["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert error["fields"] == ["Match_Rules__c"]
    assert error["message"].endswith("bad value for restricted picklist field: Fax")
    # A value is one selection, not a substring of the joined text.
    error = _error(sf.call("PATCH", path, {"Match_Rules__c": "Name;Phone;SK"}), 400)
    assert error["message"].endswith(": SK")
    field = next(
        f
        for f in sf.call("GET", "sobjects/QB_Object_Mapping__c/describe").json()["fields"]
        if f["name"] == "Match_Rules__c"
    )
    assert (field["type"], field["soapType"], field["restrictedPicklist"]) == (
        "multipicklist",
        "xsd:string",
        True,
    )
    assert [v["value"] for v in field["picklistValues"]] == ["Name", "EmailDomain", "Phone", "SKU"]


def test_multi_select_picklist_includes_excludes_and_equals(sf):
    company = sf.company()
    ids = {}
    for qb_object, rules in (
        ("Customer", "Name;Phone"),
        ("Vendor", "Name;EmailDomain;Phone"),
        ("Item", "SKU"),
        ("Employee", None),
    ):
        created = sf.object_mapping(company, qb_object)
        assert created.status_code == 201, created.text
        ids[qb_object] = created.json()["id"]
        patch = sf.call(
            "PATCH", f"sobjects/QB_Object_Mapping__c/{ids[qb_object]}", {"Match_Rules__c": rules}
        )
        assert patch.status_code == 204, patch.text

    def objects(where: str) -> list[str]:
        response = sf.call(
            "GET",
            "query",
            params={"q": f"SELECT QB_Object__c FROM QB_Object_Mapping__c WHERE {where}"},  # noqa: S608 - SOQL built from test literals
        )
        assert response.status_code == 200, response.text
        return sorted(r["QB_Object__c"] for r in response.json()["records"])

    # The guide's example: ('AAA;BBB', 'CCC') is "AAA and BBB" or "CCC".
    assert objects("Match_Rules__c INCLUDES ('Phone;Name', 'SKU')") == [
        "Customer",
        "Item",
        "Vendor",
    ]
    assert objects("Match_Rules__c includes ('EmailDomain')") == ["Vendor"]
    assert objects("Match_Rules__c INCLUDES ('name;phone')") == ["Customer", "Vendor"]
    assert objects("Match_Rules__c EXCLUDES ('Phone')") == ["Employee", "Item"]
    # = is an exact match of the whole selection, in any order.
    assert objects("Match_Rules__c = 'Phone;Name'") == ["Customer"]
    assert objects("Match_Rules__c != 'SKU'") == ["Customer", "Employee", "Vendor"]
    assert objects("Match_Rules__c = null") == ["Employee"]
    refused = sf.call(
        "GET",
        "query",
        params={"q": "SELECT Id FROM QB_Object_Mapping__c WHERE QB_Object__c INCLUDES ('Item')"},
    )
    assert _error(refused, 400)["errorCode"] == "INVALID_QUERY_FILTER_OPERATOR"
    refused = sf.call(
        "GET",
        "query",
        params={"q": "SELECT Id FROM QB_Object_Mapping__c WHERE Match_Rules__c LIKE 'Name%'"},
    )
    assert _error(refused, 400)["errorCode"] == "INVALID_QUERY_FILTER_OPERATOR"


def test_parent_reference_by_external_id_in_body(sf):
    parent = sf.call(
        "POST", "sobjects/Account", {"Name": "Parent", "QB_External_Id__c": "r-Customer-1"}
    ).json()["id"]
    child = sf.call(
        "PATCH",
        "sobjects/Account/QB_External_Id__c/r-Customer-2",
        {"Name": "Child", "Parent": {"QB_External_Id__c": "r-Customer-1"}},
    )
    assert child.status_code == 201
    record = sf.call("GET", f"sobjects/Account/{child.json()['id']}").json()
    assert record["ParentId"] == parent


# ---------------------------------------------------------------- validation rules from force-app


def test_realtime_requires_field_mappings_rule_from_force_app(sf):
    company = sf.company()
    response = sf.object_mapping(company, Realtime_Enabled__c=True)
    error = _error(response, 400)
    assert error == {
        "message": "Add field mappings before enabling real-time sync.",
        "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "fields": ["Realtime_Enabled__c"],
    }


def test_company_object_key_rule_and_case_insensitive_uniqueness(sf):
    company = sf.company()
    wrong = _error(
        sf.object_mapping(company, Company_Object_Key__c=f"{company[:15]}:Customer"), 400
    )
    assert wrong["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert wrong["fields"] == ["Company_Object_Key__c"]
    assert sf.object_mapping(company).status_code == 201
    duplicate = _error(sf.object_mapping(company), 400)
    assert duplicate["errorCode"] == "DUPLICATE_VALUE"


def test_line_mapping_rules_from_force_app(sf):
    company = sf.company()
    parent = sf.object_mapping(company, "Invoice", Salesforce_Object__c="QB_Transaction__c")
    assert parent.status_code == 201, parent.text
    parent_id = parent.json()["id"]
    key = f"{company}:Invoice:Line[DetailType=SalesItemLineDetail]"
    line = {
        "Salesforce_Object__c": "QB_Transaction_Line__c",
        "Parent_Mapping__c": parent_id,
        "Collection_Path__c": "Line[DetailType=SalesItemLineDetail]",
        "Parent_Field__c": "Transaction__c",
        "Company_Object_Key__c": key,
    }
    # A line mapping without field mappings is fine: the real-time rule is for top-level ones.
    created = sf.object_mapping(company, "Invoice", **line)
    assert created.status_code == 201, created.text
    assert _error(sf.object_mapping(company, "Invoice", **line), 400)["errorCode"] == (
        "DUPLICATE_VALUE"
    )
    wrong_key = line | {"Company_Object_Key__c": f"{company}:Invoice:Line"}
    assert _error(sf.object_mapping(company, "Invoice", **wrong_key), 400)["fields"] == [
        "Company_Object_Key__c"
    ]
    # The key matches the parent's, but the QuickBooks object differs from the parent's.
    other_object = line | {
        "Collection_Path__c": "Line",
        "Company_Object_Key__c": f"{company}:Invoice:Line",
    }
    mismatch = _error(sf.object_mapping(company, "Payment", **other_object), 400)
    assert mismatch["fields"] == ["Parent_Mapping__c"]
    top_level = {"Collection_Path__c": "Line", "Company_Object_Key__c": f"{company}:Payment"}
    assert _error(sf.object_mapping(company, "Payment", **top_level), 400)["fields"] == [
        "Collection_Path__c"
    ]
    children = sf.call(
        "GET",
        "query",
        params={
            "q": "SELECT QB_Object__c, (SELECT Collection_Path__c FROM Line_Mappings__r) "
            "FROM QB_Object_Mapping__c WHERE Parent_Mapping__c = null"
        },
    ).json()["records"]
    assert [
        [c["Collection_Path__c"] for c in r["Line_Mappings__r"]["records"]] for r in children
    ] == [["Line[DetailType=SalesItemLineDetail]"]]


def test_transaction_formulas_lines_and_cascade_from_force_app(sf):
    realm = "9130350000000001"
    sf.call("PATCH", f"sobjects/Account/QB_External_Id__c/{realm}-Customer-1", {"Name": "Amy"})

    def upsert(sobject: str, key: str, **body) -> dict:
        response = sf.call("PATCH", f"sobjects/{sobject}/QB_External_Id__c/{key}", body)
        assert response.status_code in (200, 201), response.text
        return sf.call("GET", f"sobjects/{sobject}/QB_External_Id__c/{key}").json()

    invoice = f"{realm}-Invoice-130"
    customer = {"QB_External_Id__c": f"{realm}-Customer-1"}
    record = upsert(
        "QB_Transaction__c", invoice, Name="1037", Account__r=customer,
        Total_Amount__c=100, Balance__c=100,
    )  # fmt: skip
    assert (record["Type__c"], record["Status__c"]) == ("Invoice", "Open")
    assert upsert("QB_Transaction__c", invoice, Balance__c=40)["Status__c"] == "Partially Paid"
    assert upsert("QB_Transaction__c", invoice, Balance__c=0)["Status__c"] == "Paid"
    voided = upsert("QB_Transaction__c", invoice, Voided__c=True, Total_Amount__c=0)
    assert voided["Status__c"] == "Voided"
    estimate = upsert("QB_Transaction__c", f"{realm}-Estimate-7", Txn_Status__c="Accepted")
    assert (estimate["Type__c"], estimate["Status__c"]) == ("Estimate", "Accepted")
    receipt = upsert("QB_Transaction__c", f"{realm}-SalesReceipt-8", Balance__c=0)
    assert (receipt["Type__c"], receipt["Status__c"]) == ("Sales Receipt", None)
    assert upsert("QB_Transaction__c", f"{realm}-CreditMemo-9")["Type__c"] == "Credit Memo"

    parent = {"QB_External_Id__c": invoice}
    for line_id, amount in (("1", 60), ("2", 40)):
        upsert("QB_Transaction_Line__c", f"{invoice}-{line_id}", Transaction__r=parent,
               Amount__c=amount)  # fmt: skip
    payment = upsert("QB_Payment__c", f"{realm}-Payment-163", Account__r=customer)
    assert payment["Name"].startswith("PAY-")
    upsert("QB_Payment_Line__c", f"{realm}-Payment-163-Invoice130",
           Payment__r={"QB_External_Id__c": f"{realm}-Payment-163"}, Transaction__r=parent,
           Amount__c=100)  # fmt: skip
    query = (
        "SELECT Name, (SELECT Amount__c FROM Lines__r ORDER BY Amount__c), "
        "(SELECT Amount__c FROM QB_Payment_Lines__r) FROM QB_Transaction__c WHERE Name = '1037'"
    )
    row = sf.call("GET", "query", params={"q": query}).json()["records"][0]
    assert [r["Amount__c"] for r in row["Lines__r"]["records"]] == [40, 60]
    assert [r["Amount__c"] for r in row["QB_Payment_Lines__r"]["records"]] == [100]
    # Lines are details of their transaction: deleting it deletes them.
    assert sf.call("DELETE", f"sobjects/QB_Transaction__c/{voided['Id']}").status_code == 204
    count = "SELECT COUNT() FROM QB_Transaction_Line__c"
    assert sf.call("GET", "query", params={"q": count}).json()["totalSize"] == 0


def test_rollup_count_autonumber_and_master_detail_cascade(sf):
    company, mapping_id = _configured_company(sf)
    mapping = sf.call("GET", f"sobjects/QB_Object_Mapping__c/{mapping_id}").json()
    assert mapping["Name"] == "OM-0001" and mapping["Field_Mapping_Count__c"] == 2.0
    children = sf.call(
        "GET", "query", params={"q": "SELECT Id, Name FROM QB_Field_Mapping__c ORDER BY Name"}
    ).json()
    assert [r["Name"] for r in children["records"]] == ["FM-00001", "FM-00002"]
    # removing a field mapping re-saves the master: the real-time rule still holds
    first = children["records"][0]["Id"]
    assert sf.call("DELETE", f"sobjects/QB_Field_Mapping__c/{first}").status_code == 204
    last = children["records"][1]["Id"]
    refused = _error(sf.call("DELETE", f"sobjects/QB_Field_Mapping__c/{last}"), 400)
    assert refused["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    # deleting the company deletes its mappings and their field mappings
    assert sf.call("DELETE", f"sobjects/QB_Company__c/{company}").status_code == 204
    for sobject in ("QB_Object_Mapping__c", "QB_Field_Mapping__c"):
        assert (
            sf.call("GET", "query", params={"q": f"SELECT Id FROM {sobject}"}).json()["totalSize"]  # noqa: S608
            == 0
        )


# ---------------------------------------------------------------- sObject Collections


def _log(key: str, **extra) -> dict:
    return {
        "attributes": {"type": "QB_Sync_Log__c"},
        "Event_Key__c": key,
        "Status__c": "Success",
    } | extra


def test_collections_upsert_results_in_order_with_status_codes(sf):
    existing = sf.call(
        "PATCH", "sobjects/QB_Sync_Log__c/Event_Key__c/ce:1", {"Status__c": "Retrying"}
    ).json()["id"]
    response = sf.call(
        "PATCH",
        "composite/sobjects/QB_Sync_Log__c/Event_Key__c",
        {
            "allOrNone": False,
            "records": [
                _log("ce:1"),
                _log("ce:2", Operation__c="X" * 21),
                _log("ce:3", Latency_Ms__c=12),
            ],
        },
    )
    assert response.status_code == 200
    first, second, third = response.json()
    assert first == {"id": existing, "success": True, "errors": [], "created": False}
    assert second["success"] is False and second["created"] is False
    assert second["errors"] == [
        {
            "statusCode": "STRING_TOO_LONG",
            "message": f"Operation: data value too large: {'X' * 21} (max length=20)",
            "fields": ["Operation__c"],
        }
    ]
    assert third["success"] is True and third["created"] is True and third["id"].startswith("a")
    assert sf.admin("GET", f"records/QB_Sync_Log__c/{third['id']}").json()["Latency_Ms__c"] == 12.0


def test_collections_all_or_none_rolls_everything_back(sf):
    response = sf.call(
        "PATCH",
        "composite/sobjects/QB_Sync_Log__c/Event_Key__c",
        {
            "allOrNone": True,
            "records": [_log("ce:10"), _log("ce:11", Status__c=None, Operation__c="Y" * 30)],
        },
    )
    first, second = response.json()
    assert response.status_code == 200
    assert first["success"] is False
    assert first["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert second["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert sf.admin("GET", "records/QB_Sync_Log__c").json()["totalSize"] == 0


def test_collections_duplicate_keys_in_one_request_and_limits(sf):
    duplicate = sf.call(
        "PATCH",
        "composite/sobjects/QB_Sync_Log__c/Event_Key__c",
        {"records": [_log("ce:20"), _log("ce:20"), _log("ce:21")]},
    ).json()
    assert [r["success"] for r in duplicate] == [False, False, True]
    assert duplicate[0]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"
    too_many = _error(
        sf.call(
            "PATCH",
            "composite/sobjects/QB_Sync_Log__c/Event_Key__c",
            {"records": [_log(f"k{i}") for i in range(201)]},
        ),
        400,
    )
    assert too_many["errorCode"] == "EXCEEDED_ID_LIMIT"
    unknown_field = _error(
        sf.call(
            "PATCH",
            "composite/sobjects/QB_Sync_Log__c/Event_Key__c",
            {"records": [_log("k", Nope__c=1)]},
        ),
        400,
    )
    assert unknown_field["errorCode"] == "INVALID_FIELD"


def test_collections_create_update_delete(sf):
    created = sf.call(
        "POST",
        "composite/sobjects",
        {
            "records": [
                {"attributes": {"type": "Account"}, "Name": "A"},
                {"attributes": {"type": "Account"}},
            ]
        },
    ).json()
    assert created[0]["success"] is True
    assert created[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    account = created[0]["id"]
    updated = sf.call(
        "PATCH",
        "composite/sobjects",
        {
            "records": [
                {"attributes": {"type": "Account"}, "Id": account, "Name": "B"},
                {"attributes": {"type": "Account"}, "Name": "C"},
            ]
        },
    ).json()
    assert updated[0] == {"id": account, "success": True, "errors": []}
    assert updated[1]["errors"][0] == {
        "statusCode": "MISSING_ARGUMENT",
        "message": "Id not specified in an update call",
        "fields": [],
    }
    deleted = sf.call(
        "DELETE", "composite/sobjects", params={"ids": f"{account},{account}", "allOrNone": "false"}
    ).json()
    assert deleted[0] == {"id": account, "success": True, "errors": []}
    assert deleted[1]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"


# ---------------------------------------------------------------- describe, limits


def test_describe_shape_from_force_app(sf):
    body = sf.call("GET", "sobjects/QB_Object_Mapping__c/describe").json()
    fields = {f["name"]: f for f in body["fields"]}
    assert (
        body["name"] == "QB_Object_Mapping__c"
        and body["custom"] is True
        and len(body["keyPrefix"]) == 3
    )
    behaviour = fields["Delete_Behavior__c"]
    assert behaviour["type"] == "picklist" and behaviour["restrictedPicklist"] is True
    assert [v["value"] for v in behaviour["picklistValues"]] == ["Delete", "Deactivate", "Ignore"]
    assert [v["value"] for v in behaviour["picklistValues"] if v["defaultValue"]] == ["Ignore"]
    company = fields["Company__c"]
    assert company["type"] == "reference" and company["referenceTo"] == ["QB_Company__c"]
    assert company["relationshipName"] == "Company__r" and company["updateable"] is False
    assert fields["Field_Mapping_Count__c"]["calculated"] is True
    assert fields["Name"]["autoNumber"] is True and fields["Name"]["createable"] is False
    assert fields["QB_Object__c"]["nillable"] is False and fields["QB_Object__c"]["length"] == 80
    children = {r["relationshipName"]: r for r in body["childRelationships"]}
    assert children["Field_Mappings__r"]["childSObject"] == "QB_Field_Mapping__c"
    assert children["Field_Mappings__r"]["cascadeDelete"] is True
    realm = {
        f["name"]: f for f in sf.call("GET", "sobjects/QB_Company__c/describe").json()["fields"]
    }["Realm_Id__c"]
    assert (realm["externalId"], realm["unique"], realm["length"]) == (True, True, 32)
    account = {f["name"]: f for f in sf.simple().Account.describe()["fields"]}
    assert account["Name"]["nillable"] is False and account["BillingPostalCode"]["length"] == 20
    assert account["ParentId"]["relationshipName"] == "Parent"


def test_limit_info_header_and_request_limit_exceeded(sf):
    first = sf.call("GET", "limits")
    second = sf.call("GET", "limits")
    used = int(first.headers["Sforce-Limit-Info"].split("=")[1].split("/")[0])
    assert second.headers["Sforce-Limit-Info"] == f"api-usage={used + 1}/15000"
    assert second.json()["DailyApiRequests"] == {"Max": 15000, "Remaining": 15000 - used - 1}
    sf.admin("PUT", "usage", {"used": 15000})
    refused = _error(sf.call("GET", "limits"), 403)
    assert refused == {
        "message": "TotalRequests Limit exceeded.",
        "errorCode": "REQUEST_LIMIT_EXCEEDED",
    }


def test_version_list_needs_no_session(sf):
    response = requests.get(sf.base_url + "/services/data/", timeout=10)
    assert response.status_code == 200
    assert {"label": "v66.0", "url": "/services/data/v66.0", "version": "66.0"} in [
        {k: v[k] for k in ("label", "url", "version")} for v in response.json()
    ]


def test_unknown_version_and_method(sf):
    assert (
        _error(sf.call("GET", sf.base_url + "/services/data/v99.0/limits"), 404)["errorCode"]
        == "NOT_FOUND"
    )
    assert _error(sf.call("PUT", "sobjects/Account"), 405)["errorCode"] == "METHOD_NOT_ALLOWED"


# ---------------------------------------------------------------- faults


def test_fault_lock_row_single_and_per_record_in_collections(sf):
    sf.admin("POST", "faults", {"kind": "lock_row", "count": 1})
    single = _error(sf.call("POST", "sobjects/Account", {"Name": "A"}), 400)
    assert single["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert sf.call("POST", "sobjects/Account", {"Name": "A"}).status_code == 201
    sf.admin("POST", "faults", {"kind": "lock_row", "count": 1, "path": "composite"})
    results = sf.call(
        "PATCH",
        "composite/sobjects/QB_Sync_Log__c/Event_Key__c",
        {"records": [_log("a"), _log("b")]},
    ).json()
    assert results[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert results[1]["success"] is True
    assert sf.admin("GET", "faults").json()["triggered"]["lock_row"] == 2


def test_fault_request_limit_latency_timeout_and_expired_sessions(sf):
    sf.admin("POST", "faults", {"kind": "request_limit"})
    assert _error(sf.call("GET", "limits"), 403)["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    sf.admin("POST", "faults", {"kind": "latency", "seconds": 0.3})
    started = time.monotonic()
    assert sf.call("GET", "limits").status_code == 200
    assert time.monotonic() - started >= 0.3
    sf.admin("POST", "faults", {"kind": "timeout", "seconds": 1.0})
    with pytest.raises(requests.exceptions.ReadTimeout):
        sf.call("GET", "limits", timeout=0.3)
    assert sf.admin("POST", "faults", {"kind": "expire_sessions"}).json()["expired"] >= 1
    assert _error(sf.call("GET", "limits"), 401)["errorCode"] == "INVALID_SESSION_ID"
    with pytest.raises(SalesforceExpiredSession):
        sf.simple().query("SELECT Id FROM Account")
    bad = sf.admin("POST", "faults", {"kind": "meteor"})
    assert bad.status_code == 400 and "kind must be one of" in bad.json()["error"]


# ---------------------------------------------------------------- simple-salesforce compatibility


def test_simple_salesforce_client_against_the_emulator(sf):
    client = sf.simple()
    created = client.Account.create({"Name": "Acme"})
    assert created["success"] is True
    assert client.Account.upsert("QB_External_Id__c/r-Customer-9", {"Name": "Nine"}) == 201
    assert client.Account.upsert("QB_External_Id__c/r-Customer-9", {"Name": "Nine Ltd"}) == 200
    found = client.query("SELECT Name FROM Account WHERE QB_External_Id__c = 'r-Customer-9'")
    assert found["records"][0]["Name"] == "Nine Ltd"
    assert client.api_usage["api-usage"].used >= 4
    results = client.restful(
        "composite/sobjects/QB_Sync_Log__c/Event_Key__c",
        method="PATCH",
        json={"allOrNone": False, "records": [_log("ce:x")]},
    )
    assert results[0]["created"] is True
    with pytest.raises(SalesforceMalformedRequest) as raised:
        client.Account.create({"Name": "x" * 256})
    assert raised.value.content[0]["errorCode"] == "STRING_TOO_LONG"


# ---------------------------------------------------------------- records page, admin, CLI


def test_records_page_lists_newest_first(sf):
    sf.call("POST", "sobjects/Account", {"Name": "Older"})
    time.sleep(0.01)
    sf.call("POST", "sobjects/Account", {"Name": "Newer"})
    page = sf.http.get(f"{sf.base_url}/records/Account")
    assert page.status_code == 200 and 'http-equiv="refresh"' in page.text
    assert page.text.index("Newer") < page.text.index("Older")
    index = sf.http.get(f"{sf.base_url}/records")
    assert "Account (2)" in index.text
    assert sf.http.get(f"{sf.base_url}/records/Nope__c").status_code == 404


def test_admin_seed_is_validated_all_or_none(sf):
    refused = sf.admin("POST", "records/Account", [{"Name": "ok"}, {"BillingCity": "no name"}])
    assert refused.status_code == 400
    assert (
        refused.json()["index"] == 1
        and refused.json()["errors"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    )
    assert sf.admin("GET", "records/Account").json()["totalSize"] == 0


def test_cli_requires_a_credential():
    result = CliRunner().invoke(
        salesforce_cli,
        ["serve", "--force-app", str(FORCE_APP), "--tls-dir", "/tmp/x", "--client-id", "c"],
    )
    assert result.exit_code == 2 and "--certificate" in result.output


def test_cli_serves_over_https(tmp_path, connected_app, monkeypatch):
    certificate = tmp_path / "cert.pem"
    certificate.write_bytes(connected_app[1])
    tls_dir = tmp_path / "tls"
    process = subprocess.Popen(
        [
            sys.executable, "-c", "from qbsync_sandbox.emulators.salesforce.cli import salesforce; salesforce()",
            "serve", "--port", "0", "--force-app", str(FORCE_APP), "--tls-dir", str(tls_dir),
            "--client-id", CLIENT_ID, "--client-secret", SECRET, "--certificate", str(certificate),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        first_line = process.stdout.readline()
        base_url = first_line.split()[2]
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_dir / "ca.pem"))
        token = requests.post(
            f"{base_url}/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(CLIENT_ID, SECRET),
            timeout=10,
        )
        assert token.status_code == 200
        described = requests.get(
            f"{base_url}/services/data/v{V}/sobjects/QB_Company__c/describe",
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            timeout=10,
        )
        assert described.json()["name"] == "QB_Company__c"
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def test_json_body_errors(sf):
    empty = _error(
        sf.call("POST", "sobjects/Account", data=b"", headers={"Content-Type": "application/json"}),
        400,
    )
    assert empty["errorCode"] == "JSON_PARSER_ERROR"
    typed = _error(
        sf.call("POST", "sobjects/Account", {"Name": "x", "NumberOfEmployees": "many"}), 400
    )
    assert typed["errorCode"] == "JSON_PARSER_ERROR"
    assert json.loads(json.dumps(typed))  # plain JSON, no traceback


def test_schema_refuses_a_rule_the_emulator_cannot_evaluate(tmp_path):
    from qbsync_sandbox.emulators.salesforce import SchemaError

    rules = tmp_path / "force-app/main/default/objects/Thing__c/validationRules"
    rules.mkdir(parents=True)
    (rules / "Odd.validationRule-meta.xml").write_text(
        '<ValidationRule xmlns="http://soap.sforce.com/2006/04/metadata"><fullName>Odd</fullName>'
        "<active>true</active><errorConditionFormula>REGEX(Name, 'x')</errorConditionFormula>"
        "<errorMessage>odd</errorMessage></ValidationRule>"
    )
    with pytest.raises(SchemaError, match=r"Thing__c\.Odd: .*function REGEX"):
        load_schema(tmp_path / "force-app")
    (rules / "Odd.validationRule-meta.xml").write_text(
        '<ValidationRule xmlns="http://soap.sforce.com/2006/04/metadata"><fullName>Odd</fullName>'
        "<active>true</active><errorConditionFormula>ISBLANK(Colour__c)</errorConditionFormula>"
        "<errorMessage>odd</errorMessage></ValidationRule>"
    )
    with pytest.raises(SchemaError, match=r"Thing__c\.Odd: unknown field Colour__c"):
        load_schema(tmp_path / "force-app")


def test_contacts_with_parent_account_path(sf):
    account = sf.call("POST", "sobjects/Account", {"Name": "Acme"}).json()["id"]
    missing = _error(sf.call("POST", "sobjects/Contact", {"FirstName": "Ada"}), 400)
    assert missing["fields"] == ["LastName"]
    sf.call("POST", "sobjects/Contact", {"LastName": "Lovelace", "AccountId": account[:15]})
    total, records = sf.org.query(
        f"SELECT Name, Account.Name FROM Contact WHERE AccountId = '{account[:15]}'"  # noqa: S608
    )
    assert total == 1
    assert records[0]["Name"] == "Lovelace" and records[0]["Account"]["Name"] == "Acme"
    wrong_type = _error(
        sf.call("POST", "sobjects/Contact", {"LastName": "X", "AccountId": sf.org.user_id}), 400
    )
    assert wrong_type["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_ui_api_object_info_marks_only_fields_a_form_must_fill_as_required(sf):
    info = sf.call("GET", "ui-api/object-info/Account").json()
    fields = info["fields"]
    assert fields["Name"]["required"] is True
    # Checkboxes default to false: never required, though not nillable (describe agrees).
    assert fields["QB_Active__c"]["required"] is False
    assert fields["QB_External_Id__c"]["externalId"] is True
    described = {f["name"]: f for f in sf.call("GET", "sobjects/Account/describe").json()["fields"]}
    assert described["QB_Active__c"]["nillable"] is False
    assert described["QB_Active__c"]["defaultedOnCreate"] is True
