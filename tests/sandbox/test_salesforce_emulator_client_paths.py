"""What clients written by others ask the Salesforce emulator (issue 14, items 5-8).

jsforce, the Salesforce CLI and the REST API guide's own examples use paths and spellings our own
client does not: lower-case "id" in collections, the identity URL and userinfo after a login, the
Organization object, collections retrieve, Get Updated/Deleted, COUNT(field), FIELDS(), the
version list without a slash, `columns=true`, recordTypeInfos and compound addresses. Expected
shapes cite the REST API Developer Guide page they come from.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from qbsync_sandbox.emulators.salesforce.tls import connected_app_keys
from tests.sandbox.test_salesforce_emulator import SYSADMIN, V, _error, _start


@pytest.fixture(scope="module")
def key_pair() -> tuple[bytes, bytes]:
    return connected_app_keys("qbsync client paths test")


@pytest.fixture
def sf(tmp_path, monkeypatch, key_pair):
    emulator = _start(tmp_path, monkeypatch, key_pair)
    yield emulator
    emulator.server.shutdown()
    emulator.server.server_close()


def _seed(sf, sobject: str, records: list[dict]) -> list[str]:
    response = sf.admin("POST", f"records/{sobject}", records)
    assert response.status_code == 201, response.text
    return response.json()["ids"]


def _query(sf, soql: str, **params) -> dict:
    response = sf.call("GET", "query", params={"q": soql, **params})
    assert response.status_code == 200, response.text
    return response.json()


# ---------------------------------------------------------------- item 5: field name case


def test_collections_update_takes_lower_case_id_as_the_guides_example_writes_it(sf):
    # resources_composite_sobjects_collections_update: the example body writes "id" in lower case
    first, second = _seed(sf, "Account", [{"Name": "One"}, {"Name": "Two"}])
    response = sf.call(
        "PATCH",
        "composite/sobjects",
        {
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "id": first, "NumberOfEmployees": 27000},
                {"attributes": {"type": "Account"}, "ID": second, "name": "Two renamed"},
            ],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == [
        {"id": first, "success": True, "errors": []},
        {"id": second, "success": True, "errors": []},
    ]
    rows = _query(sf, "SELECT Name, NumberOfEmployees FROM Account ORDER BY Name")["records"]
    assert [(r["Name"], r["NumberOfEmployees"]) for r in rows] == [
        ("One", 27000.0),
        ("Two renamed", None),
    ]


def test_field_names_are_case_insensitive_in_bodies_queries_and_answers(sf):
    created = sf.call("POST", "sobjects/account", {"name": "lower", "billingcity": "Oslo"})
    assert created.status_code == 201, created.text
    record = sf.call("GET", f"sobjects/Account/{created.json()['id']}").json()
    assert (record["Name"], record["BillingCity"]) == ("lower", "Oslo")  # API spelling back
    rows = _query(sf, "select name, BILLINGCITY from ACCOUNT where NAME = 'LOWER'")["records"]
    assert [(r["Name"], r["BillingCity"]) for r in rows] == [("lower", "Oslo")]


# ---------------------------------------------------------------- item 6: case-sensitive ids


def test_soql_compares_a_case_sensitive_unique_external_id_case_sensitively(sf):
    # SOQL guide, "Comparison Operators": case-sensitive for unique case-sensitive fields
    _seed(sf, "Account", [{"Name": "Mixed", "QB_External_Id__c": "x-Customer-1"}])
    for where in (
        "QB_External_Id__c IN ('x-CUSTOMER-1')",
        "QB_External_Id__c = 'x-customer-1'",
    ):
        soql = f"SELECT Name FROM Account WHERE {where}"  # noqa: S608 - SOQL from test literals
        assert _query(sf, soql)["totalSize"] == 0
    exact = _query(sf, "SELECT Name FROM Account WHERE QB_External_Id__c IN ('x-Customer-1')")
    assert [r["Name"] for r in exact["records"]] == ["Mixed"]
    # any other text field stays case-insensitive
    assert _query(sf, "SELECT Name FROM Account WHERE Name = 'MIXED'")["totalSize"] == 1


# ---------------------------------------------------------------- item 7: columns=true


def test_query_columns_true_answers_column_metadata_as_the_cli_reads_it(sf):
    company = sf.company()
    mapping = sf.object_mapping(company)
    assert mapping.status_code == 201, mapping.text
    soql = (
        "SELECT Id, QB_Object__c, Company__r.Name, Company__r.Owner.Username, "
        "(SELECT Id FROM Field_Mappings__r) FROM QB_Object_Mapping__c"
    )
    body = _query(sf, soql, columns="true")
    assert set(body) == {"columnMetadata", "entityName", "groupBy", "idSelected", "keyPrefix"}
    assert (body["entityName"], body["idSelected"]) == ("QB_Object_Mapping__c", True)

    def tree(columns):
        return [(c["columnName"], c["aggregate"], tree(c["joinColumns"])) for c in columns]

    assert tree(body["columnMetadata"]) == [
        ("Id", False, []),
        ("QB_Object__c", False, []),
        ("Company__r", False, [("Name", False, []), ("Owner", False, [("Username", False, [])])]),
        ("Field_Mappings__r", True, [("Id", False, [])]),
    ]
    counted = _query(sf, "SELECT COUNT(Id) FROM Account", columns="true")["columnMetadata"]
    assert [(c["columnName"], c["displayName"], c["aggregate"]) for c in counted] == [
        ("expr0", "COUNT(Id)", True)
    ]
    refused = sf.call("GET", "query", params={"q": "SELECT Nope FROM Account", "columns": "true"})
    assert _error(refused, 400)["errorCode"] == "INVALID_FIELD"


# ---------------------------------------------------------------- item 8: endpoints


def test_identity_url_from_the_token_answers_json_for_the_session(sf):
    login = sf.token_request(
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": sf.assertion(),
        }
    ).json()
    response = sf.http.get(
        login["id"], headers={"Authorization": f"Bearer {login['access_token']}"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["id"] == login["id"]
    # The session's user: these tests log in as the org's System Administrator.
    assert (body["organization_id"], body["user_id"]) == (sf.org.org_id, sf.org.user(SYSADMIN).id)
    assert body["username"] == SYSADMIN
    assert body["urls"]["rest"].endswith("/services/data/v{version}/")  # literal without ?version
    versioned = sf.http.get(
        login["id"],
        params={"version": "latest"},
        headers={"Authorization": f"Bearer {login['access_token']}"},
    ).json()
    assert versioned["urls"]["sobjects"] == f"{sf.base_url}/services/data/v{V}/sobjects/"
    refused = sf.http.get(login["id"], headers={"Authorization": "Bearer not-a-token"})
    assert (refused.status_code, refused.text) == (403, "Bad_OAuth_Token")


def test_userinfo_names_the_user_the_cli_then_reads(sf):
    headers = {"Authorization": f"Bearer {sf.token}"}
    response = sf.http.get(f"{sf.base_url}/services/oauth2/userinfo", headers=headers)
    assert response.status_code == 200, response.text
    info = response.json()
    assert info["preferred_username"] == SYSADMIN
    assert info["organization_id"] == sf.org.org_id
    assert info["sub"] == f"{sf.base_url}/id/{sf.org.org_id}/{sf.org.user(SYSADMIN).id}"
    user = sf.call("GET", f"{sf.base_url}/services/data/v51.0/sobjects/User/{info['user_id']}")
    assert user.json()["Username"] == SYSADMIN
    missing = sf.http.get(f"{sf.base_url}/services/oauth2/userinfo")
    assert missing.status_code == 403


def test_organization_is_one_read_only_record(sf):
    # the query @salesforce/core determineOrg runs after every login
    rows = _query(
        sf,
        "SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, "
        "OrganizationType FROM Organization",
    )["records"]
    assert len(rows) == 1
    assert rows[0]["attributes"]["url"].endswith(f"/Organization/{sf.org.org_id}")
    assert rows[0]["IsSandbox"] is False and rows[0]["NamespacePrefix"] is None
    described = sf.call("GET", "sobjects/Organization/describe").json()
    assert (described["createable"], described["deletable"]) == (False, False)
    created = sf.call("POST", "sobjects/Organization", {})
    assert _error(created, 400)["errorCode"] == "INVALID_TYPE_FOR_OPERATION"
    renamed = sf.call("PATCH", f"sobjects/Organization/{sf.org.org_id}", {"Name": "x"})
    assert _error(renamed, 400)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    deleted = sf.call("DELETE", f"sobjects/Organization/{sf.org.org_id}")
    assert _error(deleted, 400)["errorCode"] == "INVALID_TYPE_FOR_OPERATION"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_collections_retrieve_answers_one_entry_per_id_in_order(sf, method):
    # resources_composite_sobjects_collections_retrieve(_post): null for an id not found
    first, second = _seed(sf, "Account", [{"Name": "A", "Phone": "1"}, {"Name": "B"}])
    gone = _seed(sf, "Account", [{"Name": "gone"}])[0]
    assert sf.call("DELETE", f"sobjects/Account/{gone}").status_code == 204
    wanted = [second, gone, first[:15]]
    if method == "GET":
        response = sf.call(
            "GET",
            "composite/sobjects/Account",
            params={"ids": ",".join(wanted), "fields": "name,Phone"},
        )
    else:
        response = sf.call(
            "POST", "composite/sobjects/Account", {"ids": wanted, "fields": ["name", "Phone"]}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body[1] is None
    assert [(r["Name"], r["Phone"], r["attributes"]["type"]) for r in (body[0], body[2])] == [
        ("B", None, "Account"),
        ("A", "1", "Account"),
    ]
    assert set(body[0]) == {"attributes", "Name", "Phone"}
    bad_field = sf.call(
        "POST", "composite/sobjects/Account", {"ids": [first], "fields": ["Nope__c"]}
    )
    assert _error(bad_field, 400)["errorCode"] == "INVALID_FIELD"
    no_fields = sf.call("POST", "composite/sobjects/Account", {"ids": [first]})
    assert _error(no_fields, 400)["errorCode"] == "MISSING_ARGUMENT"


def test_get_updated_and_get_deleted_by_system_modstamp(sf):
    # resources_getupdated / resources_getdeleted; seconds of start and end are ignored
    kept, dropped = _seed(sf, "Account", [{"Name": "kept"}, {"Name": "dropped"}])
    assert sf.call("DELETE", f"sobjects/Account/{dropped}").status_code == 204
    now = datetime.now(UTC)
    window = {
        "start": (now - timedelta(minutes=5)).isoformat(),
        "end": (now + timedelta(minutes=5)).isoformat(),
    }
    updated = sf.call("GET", "sobjects/Account/updated/", params=window)
    assert updated.status_code == 200, updated.text
    assert updated.json()["ids"] == [kept]
    assert updated.json()["latestDateCovered"].endswith(":00.000+0000")
    deleted = sf.call("GET", "sobjects/Account/deleted/", params=window).json()
    assert [d["id"] for d in deleted["deletedRecords"]] == [dropped]
    assert set(deleted) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    later = {"start": window["end"], "end": (now + timedelta(minutes=9)).isoformat()}
    assert sf.call("GET", "sobjects/Account/updated", params=later).json()["ids"] == []
    old = {"start": (now - timedelta(days=31)).isoformat(), "end": now.isoformat()}
    too_old = sf.call("GET", "sobjects/Account/updated", params=old)
    assert _error(too_old, 400)["errorCode"] == "INVALID_REPLICATION_DATE"
    no_start = sf.call("GET", "sobjects/Account/updated", params={"end": now.isoformat()})
    assert _error(no_start, 400)["errorCode"] == "MISSING_ARGUMENT"


def test_count_of_a_field_is_one_aggregate_result(sf):
    _seed(sf, "Account", [{"Name": "a", "Phone": "1"}, {"Name": "b"}, {"Name": "c", "Phone": "2"}])
    body = _query(sf, "SELECT COUNT(Id), COUNT(Phone) phones FROM Account")
    assert body["totalSize"] == 1 and body["done"] is True
    assert body["records"] == [{"attributes": {"type": "AggregateResult"}, "expr0": 3, "phones": 2}]
    limited = _query(sf, "SELECT COUNT(Id) FROM Account LIMIT 1")  # LIMIT counts result rows
    assert limited["records"][0]["expr0"] == 3
    counted = _query(sf, "SELECT COUNT() FROM Account WHERE Phone != null")
    assert (counted["totalSize"], counted["records"]) == (2, [])
    mixed = sf.call("GET", "query", params={"q": "SELECT Name, COUNT(Id) FROM Account"})
    assert "Field must be grouped or aggregated: Name" in _error(mixed, 400)["message"]


def test_fields_standard_selects_every_standard_field(sf):
    _seed(sf, "Account", [{"Name": "std", "QB_External_Id__c": "x-1"}])
    record = _query(sf, "SELECT FIELDS(STANDARD) FROM Account")["records"][0]
    assert {"Id", "Name", "BillingCity", "BillingAddress", "OwnerId"} <= set(record)
    assert not any(name.endswith("__c") for name in record)
    custom = _query(sf, "SELECT Id, FIELDS(CUSTOM) FROM Account LIMIT 200")["records"][0]
    assert custom["QB_External_Id__c"] == "x-1" and "Name" not in custom
    unbounded = sf.call("GET", "query", params={"q": "SELECT FIELDS(ALL) FROM Account"})
    assert _error(unbounded, 400)["errorCode"] == "MALFORMED_QUERY"


def test_version_list_and_resources_answer_without_a_redirect(sf):
    response = sf.http.get(f"{sf.base_url}/services/data", allow_redirects=False)
    assert response.status_code == 200, response.text
    assert {"label": f"v{V}", "url": f"/services/data/v{V}", "version": V} in response.json()
    resources = sf.call("GET", f"{sf.base_url}/services/data/v{V}", allow_redirects=False)
    assert resources.status_code == 200, resources.text
    assert resources.json()["query"] == f"/services/data/v{V}/query"


def test_describe_has_record_type_infos_and_compound_addresses(sf):
    # resources_sobject_describe: recordTypeInfos; compound fields name their parts' compound
    described = sf.call("GET", "sobjects/Account/describe").json()
    (master,) = described["recordTypeInfos"]
    assert (master["master"], master["recordTypeId"]) == (True, "012000000000000AAA")
    fields = {f["name"]: f for f in described["fields"]}
    address = fields["BillingAddress"]
    assert (address["type"], address["createable"], address["updateable"]) == (
        "address",
        False,
        False,
    )
    assert fields["BillingCity"]["compoundFieldName"] == "BillingAddress"
    assert fields["Name"]["compoundFieldName"] is None
    created = sf.call(
        "POST", "sobjects/Account", {"Name": "Addr", "BillingCity": "Oslo", "BillingState": "OS"}
    ).json()["id"]
    record = sf.call("GET", f"sobjects/Account/{created}").json()
    assert record["BillingAddress"] == {
        "street": None,
        "city": "Oslo",
        "state": "OS",
        "postalCode": None,
        "country": None,
        "latitude": None,
        "longitude": None,
        "geocodeAccuracy": None,
    }
    written = sf.call("PATCH", f"sobjects/Account/{created}", {"BillingAddress": {"city": "x"}})
    assert written.status_code == 400
