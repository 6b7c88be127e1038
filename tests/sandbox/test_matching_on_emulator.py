"""Matching's queries against the Salesforce emulator over real HTTPS: a page's candidate query
through the Composite resource, and the SOQL limits and LIKE escapes it relies on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from qbsync.config import Settings
from qbsync.mapping import FieldMapping, ObjectMapping
from qbsync.matching import candidate_queries, like_pattern, plan_page, rules_for, soql_string
from qbsync.salesforce import SalesforceClient, SalesforceError
from qbsync_sandbox.emulators.salesforce import (
    Org,
    create_salesforce_app,
    load_schema,
    run_in_thread,
)
from tests.support.paths import FORCE_APP

CLIENT_ID = "3MVG9-matching-test"
USERNAME = "integration@qbsync.example"
SECRET = "client-secret-MMMM"
EXT = "QB_External_Id__c"


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceClient]:
    app = create_salesforce_app(
        Org(load_schema(FORCE_APP), username=USERNAME), client_id=CLIENT_ID, client_secret=SECRET
    )
    server, base_url, ca_path = run_in_thread(app, tmp_path / "tls")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_path))
    yield SalesforceClient(
        Settings(
            salesforce_login_url=base_url,
            salesforce_client_id=CLIENT_ID,
            salesforce_client_secret=SECRET,
        )
    )
    server.shutdown()
    server.server_close()


def seed(client: SalesforceClient, sobject: str, records: list[dict]) -> list[str]:
    results = client.create_collection(sobject, records)
    assert all(r.success for r in results), [r.message for r in results]
    return [r.id for r in results]


MAPPING = ObjectMapping(
    "Customer",
    "Account",
    EXT,
    field_mappings=(
        FieldMapping("DisplayName", "Name"),
        FieldMapping("PrimaryPhone.FreeFormNumber", "Phone"),
        FieldMapping("WebAddr.URI", "Website"),
    ),
    match_rules=("Name", "EmailDomain", "Phone"),
)


def test_a_page_of_a_thousand_is_planned_in_one_composite_call(client: SalesforceClient) -> None:
    acme, twin_a, twin_b, linked, phone, web, pct = seed(
        client,
        "Account",
        [
            {"Name": "O'Brien & Sons"},
            {"Name": "Twin Ltd"},
            {"Name": "twin ltd"},
            {"Name": "Already Linked", EXT: "R1-Customer-99"},
            {"Name": "Phone Only Inc", "Phone": "(555) 123-4567"},
            {"Name": "Web Only Inc", "Website": "https://www.globex.com/"},
            {"Name": "100% Cotton_Co"},
        ],
    )
    seed(client, "Account", [{"Name": "100x Cottonx Co"}])  # what unescaped % and _ would find
    bodies = {str(i): {"Name": f"Customer number {i:05d}"} for i in range(1000)}
    bodies.update(
        {
            "1": {"Name": "  o'brien & SONS "},
            "2": {"Name": "Twin Ltd"},
            "3": {"Name": "Already Linked"},
            "4": {"Name": "Somebody", "Phone": "+1 555-123-4567"},
            "5": {"Name": "Globex Corp", "Website": "globex.com"},
            "6": {"Name": "100% Cotton_Co"},
            "7": {"Name": "Gmail User", "Website": "gmail.com"},
        }
    )
    rules = rules_for(MAPPING)
    assert len(candidate_queries(rules, list(bodies.values()))) == 1  # over a GET's 16,384 bytes
    before = client.api_usage

    result = plan_page(client, MAPPING, bodies)

    assert result.links == {"1": acme, "4": phone, "5": web, "6": pct}
    assert result.ambiguous == {"2": sorted([twin_a, twin_b])}
    assert result.matched_by["4"] == "Phone" and result.matched_by["5"] == "EmailDomain"
    assert "3" not in result.links and linked not in result.ambiguous.get("3", [])
    assert client.api_usage.used == before.used + 1  # one Composite call (after the login's)


def test_a_long_get_is_refused_as_salesforce_refuses_it(client: SalesforceClient) -> None:
    names = ", ".join(soql_string(f"Customer number {i:05d}") for i in range(1000))
    statement = f"SELECT Id FROM Account WHERE Name IN ({names})"  # noqa: S608
    with pytest.raises(SalesforceError) as refused:
        client.query_all(statement)
    assert refused.value.status == 414
    assert client.query_many([statement]) == [[]]


def test_statement_and_subrequest_limits(client: SalesforceClient) -> None:
    name = soql_string("x" * 100_000)
    too_long = f"SELECT Id FROM Account WHERE Name = {name}"  # noqa: S608
    assert len(too_long) > 100_000
    with pytest.raises(SalesforceError) as refused:
        client._composite_queries([too_long])  # past the client's own check, as sent
    assert refused.value.error_code == "MALFORMED_QUERY"
    assert "can not be longer than 100000 characters" in str(refused.value)

    sf = client._connect()  # the raw Composite resource: at most 5 query operations
    url = f"{sf.base_url}composite"
    query = f"/services/data/v{sf.sf_version}/query/?q=SELECT+Id+FROM+Account"
    subrequests = [{"method": "GET", "url": query, "referenceId": f"q{i}"} for i in range(6)]
    answer = requests.post(
        url,
        json={"compositeRequest": subrequests},
        headers={"Authorization": f"Bearer {sf.session_id}"},
        timeout=10,
    )
    assert answer.status_code == 400 and "query operations (5)" in answer.text


def test_like_escapes_match_themselves(client: SalesforceClient) -> None:
    seed(client, "Account", [{"Name": "a_b%c"}, {"Name": "axbyc"}, {"Name": "a\\b"}])
    escaped = like_pattern("", "a_b%c", "")
    (found,) = client.query_many([f"SELECT Name FROM Account WHERE Name LIKE {escaped}"])  # noqa: S608
    assert [r["Name"] for r in found] == ["a_b%c"]
    (wild,) = client.query_many(["SELECT Name FROM Account WHERE Name LIKE 'a_b%c'"])
    assert sorted(r["Name"] for r in wild) == ["a_b%c", "axbyc"]
    backslash = soql_string("a\\b")
    (slash,) = client.query_many([f"SELECT Name FROM Account WHERE Name = {backslash}"])  # noqa: S608
    assert [r["Name"] for r in slash] == ["a\\b"]
