"""Salesforce login and SalesforceClient against documented response shapes (responses)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from responses import matchers

from qbsync.config import Settings
from qbsync.salesforce import (
    SalesforceAuthError,
    SalesforceClient,
    SalesforceError,
    SalesforceTransient,
    login,
)
from qbsync.salesforce.auth import JWT_BEARER_GRANT
from qbsync.salesforce.chunks import call_in_chunks

FIXTURES = Path(__file__).parent.parent / "fixtures" / "salesforce"
LOGIN_URL = "https://qbsync-dev-ed.develop.my.salesforce.com"
INSTANCE = "https://example.my.salesforce.com"
DATA = f"{INSTANCE}/services/data/v66.0"
TOKEN_URL = f"{LOGIN_URL}/services/oauth2/token"
SECRET = "client-secret-SSSS"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwt_settings(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Settings:
    key_file = tmp_path / "server.key"
    key_file.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Settings(
        salesforce_login_url=LOGIN_URL,
        salesforce_client_id="3MVG9-consumer-key",
        salesforce_username="integration@qbsync.example",
        salesforce_private_key_file=str(key_file),
    )


@pytest.fixture
def cc_settings() -> Settings:
    return Settings(
        salesforce_login_url=LOGIN_URL,
        salesforce_client_id="3MVG9-consumer-key",
        salesforce_client_secret=SECRET,
    )


def token_response(access_token: str | None = None) -> dict:
    return {**fixture("token_jwt.json"), "access_token": access_token or "00Dxx!session-1"}


def form(call: responses.Call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


# -- login -----------------------------------------------------------------------------


@responses.activate
def test_jwt_bearer_assertion_claims(jwt_settings: Settings, rsa_key: rsa.RSAPrivateKey) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_response())

    result = login(jwt_settings)

    assert result.instance_url == INSTANCE
    assert result.access_token == "00Dxx!session-1"
    sent = form(responses.calls[0])
    assert sent["grant_type"] == JWT_BEARER_GRANT
    claims = jwt.decode(
        sent["assertion"], rsa_key.public_key(), algorithms=["RS256"], audience=LOGIN_URL
    )
    assert claims["iss"] == "3MVG9-consumer-key"
    assert claims["sub"] == "integration@qbsync.example"
    assert claims["aud"] == LOGIN_URL
    assert 170 <= claims["exp"] - time.time() <= 180
    assert jwt.get_unverified_header(sent["assertion"])["alg"] == "RS256"


@responses.activate
def test_client_credentials_login(cc_settings: Settings) -> None:
    responses.add(
        responses.POST,
        TOKEN_URL,
        json=token_response(),
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "grant_type": "client_credentials",
                    "client_id": "3MVG9-consumer-key",
                    "client_secret": SECRET,
                }
            )
        ],
    )

    assert login(cc_settings).access_token == "00Dxx!session-1"


@responses.activate
def test_login_names_the_user_from_the_identity_url(cc_settings: Settings) -> None:
    # The token response's `id` is the identity URL .../id/<org id>/<user id> (token_jwt.json).
    responses.add(responses.POST, TOKEN_URL, json=token_response())
    assert login(cc_settings).user_id == "005xx000001Sv6m"


@responses.activate
def test_login_without_an_identity_url_has_no_user(cc_settings: Settings) -> None:
    body = {k: v for k, v in token_response().items() if k != "id"}
    responses.add(responses.POST, TOKEN_URL, json=body)
    assert login(cc_settings).user_id is None


@pytest.mark.parametrize(
    "login_url",
    [
        "https://login.salesforce.com",
        "https://test.salesforce.com",
        "https://acme--uat.sandbox.my.salesforce.com",
        "https://127.0.0.1:8443",
    ],
)
@responses.activate
def test_login_goes_to_any_https_base_url(cc_settings: Settings, login_url: str) -> None:
    responses.add(responses.POST, f"{login_url}/services/oauth2/token", json=token_response())

    login(cc_settings.with_overrides(salesforce_login_url=login_url))

    assert responses.calls[0].request.url == f"{login_url}/services/oauth2/token"


@responses.activate
def test_failed_login_reports_salesforce_description_not_the_secret(cc_settings: Settings) -> None:
    responses.add(responses.POST, TOKEN_URL, json=fixture("token_invalid_grant.json"), status=400)

    with pytest.raises(SalesforceAuthError, match="user hasn't approved this consumer") as caught:
        login(cc_settings)

    assert caught.value.error_code == "invalid_grant"
    assert SECRET not in f"{caught.value} {caught.value!r}"


def test_unreadable_private_key_file_is_named(jwt_settings: Settings, tmp_path: Path) -> None:
    settings = jwt_settings.with_overrides(salesforce_private_key_file=str(tmp_path / "nope.key"))
    with pytest.raises(SalesforceAuthError, match="SALESFORCE_PRIVATE_KEY_FILE"):
        login(settings)


def test_private_key_file_without_a_key_is_named(jwt_settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "bad.key").write_text("not a key")
    settings = jwt_settings.with_overrides(salesforce_private_key_file=str(tmp_path / "bad.key"))
    with pytest.raises(SalesforceAuthError, match="SALESFORCE_PRIVATE_KEY_FILE"):
        login(settings)


@responses.activate
def test_login_timeout_is_transient(cc_settings: Settings) -> None:
    responses.add(responses.POST, TOKEN_URL, body=requests.exceptions.ConnectTimeout())
    with pytest.raises(SalesforceTransient):
        login(cc_settings)


# -- client ----------------------------------------------------------------------------


@pytest.fixture
def client(cc_settings: Settings) -> SalesforceClient:
    return SalesforceClient(cc_settings)


def bearer(call: responses.Call) -> str:
    return call.request.headers["Authorization"]


@responses.activate
def test_query_all_uses_the_configured_api_version(client: SalesforceClient) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_response())
    responses.add(
        responses.GET,
        f"{DATA}/query/",
        json=fixture("query_mappings.json"),
        headers={"Sforce-Limit-Info": "api-usage=10018/100000"},
    )

    records = client.query_all("SELECT Id FROM QB_Object_Mapping__c")

    assert records[0]["Field_Mappings__r"]["records"][0]["Salesforce_Field__c"] == "Name"
    assert bearer(responses.calls[1]) == "Bearer 00Dxx!session-1"
    assert client.api_usage.used == 10018 and client.api_usage.total == 100000


@responses.activate
def test_invalid_session_logs_in_again_and_retries_once(client: SalesforceClient) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_response("00Dxx!session-1"))
    responses.add(responses.POST, TOKEN_URL, json=token_response("00Dxx!session-2"))
    responses.add(responses.GET, f"{DATA}/query/", json=fixture("invalid_session.json"), status=401)
    responses.add(responses.GET, f"{DATA}/query/", json=fixture("query_mappings.json"))

    assert len(client.query_all("SELECT Id FROM QB_Object_Mapping__c")) == 1

    queries = [c for c in responses.calls if "/query/" in c.request.url]
    assert [bearer(c) for c in queries] == ["Bearer 00Dxx!session-1", "Bearer 00Dxx!session-2"]
    assert len([c for c in responses.calls if c.request.url == TOKEN_URL]) == 2


@responses.activate
def test_invalid_session_twice_is_an_auth_error(client: SalesforceClient) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_response())
    responses.add(responses.GET, f"{DATA}/query/", json=fixture("invalid_session.json"), status=401)

    with pytest.raises(SalesforceAuthError, match="Session expired or invalid") as caught:
        client.query_all("SELECT Id FROM Account")

    assert caught.value.error_code == "INVALID_SESSION_ID"
    assert "session-1" not in f"{caught.value} {caught.value!r}"
    assert len([c for c in responses.calls if "/query/" in c.request.url]) == 2


@responses.activate
def test_describe_is_cached(client: SalesforceClient) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_response())
    responses.add(
        responses.GET, f"{DATA}/sobjects/Account/describe", json=fixture("describe_account.json")
    )

    first = client.describe("Account")
    second = client.describe("Account")

    assert first["fields"][1]["name"] == "QB_External_Id__c"
    assert second is first
    assert len([c for c in responses.calls if "describe" in c.request.url]) == 1


def collection_result(records: list[dict]) -> list[dict]:
    """The documented per-record result shape (research/salesforce.md §1.3)."""
    results = []
    for n, record in enumerate(records):
        if record.get("Name"):
            results.append({"id": f"001xx{n:013d}", "success": True, "errors": [], "created": True})
        else:
            results.append(
                {
                    "success": False,
                    "errors": [
                        {
                            "statusCode": "REQUIRED_FIELD_MISSING",
                            "message": "Required fields are missing: [Name]",
                            "fields": ["Name"],
                        }
                    ],
                }
            )
    return results


@responses.activate
def test_upsert_in_chunks_of_200_reads_every_result(client: SalesforceClient) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_response())
    bodies: list[dict] = []

    def upsert(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        body = json.loads(request.body)
        bodies.append(body)
        return 200, {}, json.dumps(collection_result(body["records"]))

    responses.add_callback(
        responses.PATCH,
        f"{DATA}/composite/sobjects/Account/QB_External_Id__c",
        callback=upsert,
    )
    records = [
        {"QB_External_Id__c": f"9130-Customer-{n}", "Name": "" if n == 250 else f"Customer {n}"}
        for n in range(450)
    ]

    paired = call_in_chunks(
        records, lambda chunk: client.upsert_collection("Account", "QB_External_Id__c", chunk)
    )

    assert [record for record, _ in paired] == records
    results = [result for _, result in paired]
    assert [len(b["records"]) for b in bodies] == [200, 200, 50]
    assert all(b["allOrNone"] is False for b in bodies)
    assert bodies[0]["records"][0] == {
        "QB_External_Id__c": "9130-Customer-0",
        "Name": "Customer 0",
        "attributes": {"type": "Account"},
    }
    assert len(results) == 450
    assert results[0].success and results[0].created and results[0].id == "001xx0000000000000"
    failed = [n for n, r in enumerate(results) if not r.success]
    assert failed == [250]
    assert results[250].errors[0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert (
        results[250].message == "REQUIRED_FIELD_MISSING: Required fields are missing: [Name] [Name]"
    )
    assert not results[250].transient


@responses.activate
def test_update_and_delete_collections(client: SalesforceClient) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_response())
    responses.add(
        responses.PATCH,
        f"{DATA}/composite/sobjects",
        json=[{"id": "001xx0000000001AAA", "success": True, "errors": []}],
        match=[
            matchers.json_params_matcher(
                {
                    "allOrNone": False,
                    "records": [
                        {
                            "attributes": {"type": "Account"},
                            "Id": "001xx0000000001AAA",
                            "QB_Active__c": False,
                        }
                    ],
                }
            )
        ],
    )
    responses.add(
        responses.DELETE,
        f"{DATA}/composite/sobjects",
        json=[
            {"id": "001xx0000000001AAA", "success": True, "errors": []},
            {
                "id": "001xx0000000002AAA",
                "success": False,
                "errors": [
                    {
                        "statusCode": "ENTITY_IS_DELETED",
                        "message": "entity is deleted",
                        "fields": [],
                    }
                ],
            },
        ],
        match=[
            matchers.query_param_matcher(
                {"ids": "001xx0000000001AAA,001xx0000000002AAA", "allOrNone": "false"}
            )
        ],
    )

    updated = client.update_collection(
        [{"attributes": {"type": "Account"}, "Id": "001xx0000000001AAA", "QB_Active__c": False}]
    )
    deleted = client.delete_collection(["001xx0000000001AAA", "001xx0000000002AAA"])

    assert updated[0].success
    assert [r.success for r in deleted] == [True, False]
    assert deleted[1].errors[0]["statusCode"] == "ENTITY_IS_DELETED"


def test_update_collection_needs_a_type(client: SalesforceClient) -> None:
    with pytest.raises(ValueError, match="attributes.type"):
        client.update_collection([{"Id": "001xx0000000001AAA"}])


@pytest.mark.parametrize(
    ("status", "body", "error_code"),
    [
        (400, "unable_to_lock_row.json", "UNABLE_TO_LOCK_ROW"),
        (403, "request_limit_exceeded.json", "REQUEST_LIMIT_EXCEEDED"),
        (503, None, None),
        (500, None, None),
    ],
)
@responses.activate
def test_transient_failures(
    client: SalesforceClient, status: int, body: str | None, error_code: str | None
) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_response())
    responses.add(
        responses.PATCH,
        f"{DATA}/composite/sobjects/Account/QB_External_Id__c",
        json=fixture(body) if body else None,
        body=None if body else "Service Unavailable",
        status=status,
    )

    with pytest.raises(SalesforceTransient) as caught:
        client.upsert_collection("Account", "QB_External_Id__c", [{"QB_External_Id__c": "x"}])

    assert caught.value.status == status
    assert caught.value.error_code == error_code


@responses.activate
def test_timeout_is_transient(client: SalesforceClient) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_response())
    responses.add(responses.GET, f"{DATA}/query/", body=requests.exceptions.ReadTimeout())

    with pytest.raises(SalesforceTransient, match="unreachable"):
        client.query_all("SELECT Id FROM Account")


@responses.activate
def test_permanent_failure_carries_salesforce_message(client: SalesforceClient) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_response())
    responses.add(
        responses.PATCH,
        f"{DATA}/composite/sobjects/Account/QB_External_Id__c",
        json=fixture("required_field_missing.json"),
        status=400,
    )

    with pytest.raises(SalesforceError) as caught:
        client.upsert_collection("Account", "QB_External_Id__c", [{"QB_External_Id__c": "x"}])

    assert type(caught.value) is SalesforceError
    assert caught.value.error_code == "REQUIRED_FIELD_MISSING"
    assert "Required fields are missing: [Name]" in str(caught.value)


@responses.activate
def test_per_record_lock_errors_are_marked_transient(client: SalesforceClient) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_response())
    responses.add(
        responses.PATCH,
        f"{DATA}/composite/sobjects/Account/QB_External_Id__c",
        json=[
            {
                "success": False,
                "errors": [
                    {
                        "statusCode": "UNABLE_TO_LOCK_ROW",
                        "message": "unable to obtain exclusive access to this record",
                        "fields": [],
                    }
                ],
            }
        ],
    )

    [result] = client.upsert_collection(
        "Account", "QB_External_Id__c", [{"QB_External_Id__c": "x"}]
    )

    assert not result.success and result.transient


@responses.activate
def test_one_collections_call_takes_at_most_200_records(client: SalesforceClient) -> None:
    records = [{"QB_External_Id__c": f"9130-Customer-{n}"} for n in range(201)]
    with pytest.raises(ValueError, match="201 records for one sObject Collections call"):
        client.upsert_collection("Account", "QB_External_Id__c", records)
    with pytest.raises(ValueError, match="at most 200"):
        client.delete_collection([f"001xx{n:013d}" for n in range(201)])
    assert len(responses.calls) == 0


def test_api_names_are_checked(client: SalesforceClient) -> None:
    with pytest.raises(ValueError, match="API name"):
        client.upsert_collection("Account/../Contact", "QB_External_Id__c", [])


@responses.activate
def test_empty_collections_make_no_call(client: SalesforceClient) -> None:
    assert client.upsert_collection("Account", "QB_External_Id__c", []) == []
    assert client.delete_collection([]) == []
    assert len(responses.calls) == 0


@responses.activate
def test_client_uses_the_requests_ca_bundle_from_the_environment(
    client: SalesforceClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # requests gives REQUESTS_CA_BUNDLE precedence over Session.verify (DESIGN.md, Pitfalls);
    # the client must leave `verify` alone so the emulator's CA set there is used.
    bundle = tmp_path / "emulator-ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    seen = []

    def token(request: requests.PreparedRequest) -> tuple[int, dict, str]:
        seen.append(request.req_kwargs["verify"])
        return 200, {}, json.dumps(token_response())

    responses.add_callback(responses.POST, TOKEN_URL, callback=token)
    responses.add(responses.GET, f"{DATA}/query/", json=fixture("query_mappings.json"))

    client.query_all("SELECT Id FROM Account")

    assert seen == [str(bundle)]
    assert urlsplit(responses.calls[1].request.url).path == "/services/data/v66.0/query/"


@responses.activate
def test_query_many_sends_long_statements_in_one_composite_call(client: SalesforceClient) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_response())
    long_names = ", ".join(f"'Customer {i:05d}'" for i in range(1000))  # far over a GET's URI
    statements = [
        f"SELECT Id FROM Account WHERE Name IN ({long_names})",  # noqa: S608
        "SELECT Id FROM Product2",
    ]
    first_page = {"totalSize": 3, "done": False, "records": [{"Id": "001A"}, {"Id": "001B"}]}
    first_page["nextRecordsUrl"] = "/services/data/v66.0/query/01gXX-2"
    responses.add(
        responses.POST,
        f"{DATA}/composite",
        json={
            "compositeResponse": [
                {"body": first_page, "httpHeaders": {}, "httpStatusCode": 200, "referenceId": "q0"},
                {
                    "body": {"totalSize": 0, "done": True, "records": []},
                    "httpHeaders": {},
                    "httpStatusCode": 200,
                    "referenceId": "q1",
                },
            ]
        },
    )
    responses.add(
        responses.GET,
        f"{DATA}/query/01gXX-2",
        json={"totalSize": 3, "done": True, "records": [{"Id": "001C"}]},
    )

    results = client.query_many(statements)

    assert [[r["Id"] for r in records] for records in results] == [["001A", "001B", "001C"], []]
    sent = json.loads(responses.calls[1].request.body)
    assert sent["allOrNone"] is False
    (first, second) = sent["compositeRequest"]
    assert first["method"] == "GET" and first["referenceId"] == "q0"
    assert parse_qs(urlsplit(first["url"]).query)["q"] == [statements[0]]
    assert urlsplit(second["url"]).path == "/services/data/v66.0/query/"


@responses.activate
def test_query_many_groups_five_queries_a_call_and_reports_a_failed_one(
    client: SalesforceClient,
) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_response())
    ok = {"body": {"totalSize": 0, "done": True, "records": []}, "httpStatusCode": 200}
    bad = {
        "body": [{"errorCode": "INVALID_FIELD", "message": "No such column 'Nope'"}],
        "httpStatusCode": 400,
    }
    responses.add(responses.POST, f"{DATA}/composite", json={"compositeResponse": [ok] * 5})
    responses.add(responses.POST, f"{DATA}/composite", json={"compositeResponse": [ok, bad]})

    with pytest.raises(SalesforceError) as raised:
        client.query_many(["SELECT Id FROM Account"] * 7)

    assert raised.value.error_code == "INVALID_FIELD" and "No such column" in str(raised.value)
    assert [len(json.loads(c.request.body)["compositeRequest"]) for c in responses.calls[1:]] == [
        5,
        2,
    ]
    with pytest.raises(ValueError, match="100000"):
        client.query_many(["SELECT Id FROM Account WHERE Name = '" + "x" * 100_000 + "'"])


@responses.activate
def test_create_collection_posts_typed_records(client: SalesforceClient) -> None:
    responses.add(responses.POST, TOKEN_URL, json=token_response())
    responses.add(
        responses.POST,
        f"{DATA}/composite/sobjects",
        json=[{"id": "a0A1", "success": True, "errors": []}],
    )

    (result,) = client.create_collection("QB_Match_Review__c", [{"QB_Record_Id__c": "7"}])

    assert result.success and result.id == "a0A1"
    sent = json.loads(responses.calls[1].request.body)
    assert sent["records"][0]["attributes"] == {"type": "QB_Match_Review__c"}
