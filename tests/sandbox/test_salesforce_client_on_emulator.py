"""SalesforceClient over real HTTPS against the Salesforce emulator (trusted via REQUESTS_CA_BUNDLE)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from qbsync.config import Settings
from qbsync.salesforce import (
    SalesforceAuthError,
    SalesforceClient,
    SalesforceTransient,
    call_in_chunks,
)
from qbsync_sandbox.emulators.salesforce import (
    Org,
    create_salesforce_app,
    load_schema,
    run_in_thread,
)
from qbsync_sandbox.emulators.salesforce.tls import connected_app_keys
from tests.support.paths import FORCE_APP

CLIENT_ID = "3MVG9-client-test-key"
USERNAME = "integration@qbsync.example"
SECRET = "client-secret-SSSS"


@pytest.fixture(scope="module")
def connected_app() -> tuple[bytes, bytes]:
    return connected_app_keys("qbsync client test")


@pytest.fixture
def emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, connected_app: tuple[bytes, bytes]
) -> Iterator[str]:
    app = create_salesforce_app(
        Org(load_schema(FORCE_APP), username=USERNAME),
        client_id=CLIENT_ID,
        certificate_pem=connected_app[1],
        client_secret=SECRET,
    )
    server, base_url, ca_path = run_in_thread(app, tmp_path / "tls")
    # requests prefers REQUESTS_CA_BUNDLE over Session.verify (DESIGN.md, Pitfalls).
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_path))
    yield base_url
    server.shutdown()
    server.server_close()


@pytest.fixture
def jwt_settings(emulator: str, tmp_path: Path, connected_app: tuple[bytes, bytes]) -> Settings:
    key_file = tmp_path / "server.key"
    key_file.write_bytes(connected_app[0])
    return Settings(
        salesforce_login_url=emulator,
        salesforce_client_id=CLIENT_ID,
        salesforce_username=USERNAME,
        salesforce_private_key_file=str(key_file),
    )


def admin(base_url: str, path: str, body: dict) -> dict:
    response = requests.post(f"{base_url}/_admin/{path}", json=body, timeout=5)
    response.raise_for_status()
    return response.json()


def test_jwt_client_writes_reads_and_survives_an_expired_session(
    emulator: str, jwt_settings: Settings
) -> None:
    client = SalesforceClient(jwt_settings)

    [company] = client.upsert_collection(
        "QB_Company__c", "Realm_Id__c", [{"Realm_Id__c": "9130", "Name": "Acme"}]
    )
    assert company.success and company.created
    accounts = [
        {"QB_External_Id__c": f"9130-Customer-{n}", "Name": f"Customer {n}"} for n in range(205)
    ]
    accounts[3]["Name"] = "x" * 256  # too long: this record fails, the others do not
    paired = call_in_chunks(
        accounts, lambda chunk: client.upsert_collection("Account", "QB_External_Id__c", chunk)
    )
    results = [result for _, result in paired]
    assert len(results) == 205
    assert [n for n, r in enumerate(results) if not r.success] == [3]
    assert results[3].errors[0]["statusCode"] == "STRING_TOO_LONG"
    assert client.api_usage is not None and client.api_usage.used >= 3

    fields = {f["name"] for f in client.describe("Account")["fields"]}
    assert {"QB_External_Id__c", "QB_Active__c"} <= fields

    # Sessions die (timeout, revoked): one re-login, then the call goes through.
    assert admin(emulator, "faults", {"kind": "expire_sessions"})["expired"] >= 1
    rows = client.query_all(
        "SELECT Id, QB_External_Id__c FROM Account WHERE QB_External_Id__c = '9130-Customer-0'"
    )
    assert len(rows) == 1

    [updated] = client.update_collection([{"Id": rows[0]["Id"], "QB_Active__c": False}], "Account")
    assert updated.success
    deleted = client.delete_collection([rows[0]["Id"], rows[0]["Id"][:15] + "ZZZ"])
    assert deleted[0].success and not deleted[1].success


def test_client_credentials_request_limit_and_a_wrong_secret(emulator: str) -> None:
    settings = Settings(
        salesforce_login_url=emulator,
        salesforce_client_id=CLIENT_ID,
        salesforce_client_secret=SECRET,
    )
    client = SalesforceClient(settings)
    admin(emulator, "faults", {"kind": "request_limit"})
    with pytest.raises(SalesforceTransient) as caught:
        client.query_all("SELECT Id FROM Account")
    assert caught.value.error_code == "REQUEST_LIMIT_EXCEEDED"
    assert client.query_all("SELECT Id FROM Account") == []

    wrong = settings.with_overrides(salesforce_client_secret="wrong-secret-XYZ")
    with pytest.raises(SalesforceAuthError) as caught:
        SalesforceClient(wrong).query_all("SELECT Id FROM Account")
    assert "wrong-secret-XYZ" not in f"{caught.value} {caught.value!r}"
