"""POST /api/match-reviews/<id> against both emulators over real HTTP: the admin's link, create or
skip really writes (external id set, mapped fields written) and resolves the review.

Real parts: the web app, the Salesforce client and emulator, the QuickBooks client, vault and
emulator, a SQLite store. The configuration is a parsed Customer → Account mapping.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from qbsync.app import create_app
from qbsync.catalog import load_catalog
from qbsync.quickbooks import IntuitOAuth, QuickBooksClient, TokenVault
from qbsync.salesforce import SalesforceClient
from qbsync.services import Services
from qbsync.store import Store
from qbsync.sync_config import parse_realm_config
from qbsync_sandbox.emulators.quickbooks import create_qbo_app
from qbsync_sandbox.emulators.quickbooks.state import QboState
from qbsync_sandbox.emulators.salesforce import Org, create_salesforce_app, load_schema
from qbsync_sandbox.emulators.salesforce import run_in_thread as run_salesforce
from tests.support import builders
from tests.support.emulators import serving_quickbooks
from tests.support.paths import FORCE_APP

REALM = "9341452000000091"
REDIRECT = "https://middleware.example/oauth/quickbooks/callback"
SF_CLIENT = "3MVG9-review-test"
SF_SECRET = "client-secret-RRRR"
CATALOG = load_catalog()
EXT = "QB_External_Id__c"


def mapping_row() -> dict:
    fields = [("DisplayName", "Name"), ("PrimaryPhone.FreeFormNumber", "Phone")]
    return {
        "Id": "a01Customer",
        "QB_Object__c": "Customer",
        "Salesforce_Object__c": "Account",
        "External_Id_Field__c": EXT,
        "Realtime_Enabled__c": True,
        "Delete_Behavior__c": "Ignore",
        "Match_Rules__c": "Name",
        "Company__r": {"Realm_Id__c": REALM, "Status__c": "Connected"},
        "Field_Mappings__r": {
            "records": [
                {"Id": f"a02{i}", "QB_Field__c": qb, "Salesforce_Field__c": sf}
                for i, (qb, sf) in enumerate(fields)
            ]
        },
    }


class Configs:
    def get(self, realm_id: str):
        return parse_realm_config(realm_id, [mapping_row()], CATALOG)


@pytest.fixture
def quickbooks() -> Iterator[tuple[str, QboState]]:
    state = QboState()
    state.create_company(REALM)
    app = create_qbo_app(
        state,
        verifier_token="verifier",
        client_id="client-id",
        client_secret="client-secret",
        start_deliverer=False,
    )
    with serving_quickbooks(app) as url:
        yield url, state


@pytest.fixture
def org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Org, str]]:
    org = Org(load_schema(FORCE_APP))
    app = create_salesforce_app(org, client_id=SF_CLIENT, client_secret=SF_SECRET)
    server, base_url, ca_path = run_salesforce(app, tmp_path / "tls")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_path))
    yield org, base_url
    server.shutdown()
    server.server_close()


@pytest.fixture
def services(quickbooks, org, tmp_path: Path) -> Services:
    qbo_url, _ = quickbooks
    settings = builders.settings(
        intuit_client_id="client-id",
        intuit_client_secret="client-secret",
        intuit_redirect_uri=REDIRECT,
        intuit_api_base_url=qbo_url,
        intuit_auth_url=f"{qbo_url}/connect/oauth2",
        intuit_token_url=f"{qbo_url}/oauth2/v1/tokens/bearer",
        intuit_revoke_url=f"{qbo_url}/v2/oauth2/tokens/revoke",
        salesforce_login_url=org[1],
        salesforce_client_id=SF_CLIENT,
        salesforce_client_secret=SF_SECRET,
    )
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    vault = TokenVault(store.tokens, settings.encryption_keys)
    oauth = IntuitOAuth(settings)
    consent = requests.get(
        oauth.authorization_url("s"), params={"realmId": REALM}, allow_redirects=False, timeout=5
    )
    back = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    vault.save(oauth.exchange_code(back["code"], back["realmId"]))
    return Services(
        settings,
        store=store,
        vault=vault,
        oauth=oauth,
        quickbooks=QuickBooksClient(settings, vault, oauth=oauth),
        salesforce=SalesforceClient(settings),
        configs=Configs(),
        catalog=CATALOG,
    )


@pytest.fixture
def scene(quickbooks, org) -> dict:
    """A customer in QuickBooks, two Salesforce Accounts of its name, its Open review."""
    state = quickbooks[1]
    sf = org[0]
    customer = state.create(
        REALM,
        "Customer",
        {"DisplayName": "Acme Ltd", "PrimaryPhone": {"FreeFormNumber": "555-0100"}},
    )
    company = sf.create("QB_Company__c", {"Name": "Acme Books", "Realm_Id__c": REALM})
    job = sf.create("QB_Sync_Job__c", {"Company__c": company, "Job_Key__c": "job-1"})
    first = sf.create("Account", {"Name": "Acme Ltd"})
    second = sf.create("Account", {"Name": "ACME LTD", "Phone": "old"})
    other = sf.create("Account", {"Name": "Unrelated"})
    review = sf.create(
        "QB_Match_Review__c",
        {
            "Sync_Job__c": job,
            "Company__c": company,
            "QB_Object__c": "Customer",
            "QB_Record_Id__c": customer["Id"],
            "QB_Record_Name__c": "Acme Ltd",
            "Salesforce_Object__c": "Account",
            "Candidate_Ids__c": f"{first},{second}",
            "Matched_By__c": "Name",
            "Status__c": "Open",
        },
    )
    key = f"{REALM}-Customer-{customer['Id']}"
    return {"review": review, "first": first, "second": second, "other": other, "key": key}


@pytest.fixture
def client(services: Services):
    return create_app(services=services).test_client()


def post(client, review_id: str, body) -> tuple[int, dict]:
    response = client.post(
        f"/api/match-reviews/{review_id}",
        json=body,
        headers={"Authorization": f"Bearer {builders.API_KEY}"},
    )
    return response.status_code, response.json


def record(org, sobject: str, record_id: str) -> dict:
    return next(r for r in org[0].rows(sobject) if r["Id"] == record_id)


def test_link_sets_the_external_id_writes_the_fields_and_resolves(client, org, scene) -> None:
    status, body = post(client, scene["review"], {"action": "link", "recordId": scene["second"]})

    assert status == 200, body
    assert body == {"status": "Linked", "recordId": scene["second"]}
    linked = record(org, "Account", scene["second"])
    assert linked[EXT] == scene["key"]
    assert linked["Name"] == "Acme Ltd" and linked["Phone"] == "555-0100"
    assert record(org, "Account", scene["first"]).get(EXT) is None
    assert len(org[0].rows("Account")) == 3  # linked, not duplicated
    review = record(org, "QB_Match_Review__c", scene["review"])
    assert review["Status__c"] == "Linked" and review["Resolved_Record_Id__c"] == scene["second"]

    again, answer = post(client, scene["review"], {"action": "skip"})
    assert again == 409 and "already resolved (Linked)" in answer["error"]


def test_create_writes_a_new_record_by_its_external_id(client, org, scene) -> None:
    status, body = post(client, scene["review"], {"action": "create"})

    assert status == 200, body
    created = record(org, "Account", body["recordId"])
    assert created[EXT] == scene["key"] and created["Name"] == "Acme Ltd"
    assert len(org[0].rows("Account")) == 4
    review = record(org, "QB_Match_Review__c", scene["review"])
    assert review["Status__c"] == "Created" and review["Resolved_Record_Id__c"] == body["recordId"]


def test_skip_writes_nothing(client, org, scene) -> None:
    status, body = post(client, scene["review"], {"action": "skip"})

    assert (status, body) == (200, {"status": "Skipped", "recordId": None})
    assert len(org[0].rows("Account")) == 3
    assert all(r.get(EXT) is None for r in org[0].rows("Account"))
    assert record(org, "QB_Match_Review__c", scene["review"])["Status__c"] == "Skipped"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"action": "merge"}, "action must be link, create or skip"),
        ({"action": "link"}, "link needs recordId"),
        ([], "must be a JSON object"),
    ],
)
def test_bad_bodies_are_400(client, scene, body, words) -> None:
    status, answer = post(client, scene["review"], body)
    assert status == 400 and words in answer["error"]


def test_a_record_outside_the_candidates_is_400_and_unknown_reviews_404(client, org, scene) -> None:
    status, answer = post(client, scene["review"], {"action": "link", "recordId": scene["other"]})
    assert status == 400 and "not among the review's candidates" in answer["error"]
    assert record(org, "QB_Match_Review__c", scene["review"])["Status__c"] == "Open"

    unknown = scene["review"][:3] + "000000000009"  # a 15-character id of no record
    assert post(client, unknown, {"action": "skip"})[0] == 404
    assert post(client, "not-an-id", {"action": "skip"})[0] == 404
    refused = client.post(f"/api/match-reviews/{scene['review']}", json={"action": "skip"})
    assert refused.status_code == 401


def test_a_candidate_linked_meanwhile_is_409(client, org, scene) -> None:
    org[0].update("Account", scene["first"], {EXT: f"{REALM}-Customer-999"})

    status, answer = post(client, scene["review"], {"action": "link", "recordId": scene["first"]})

    assert status == 409 and "is linked to" in answer["error"]
    assert record(org, "QB_Match_Review__c", scene["review"])["Status__c"] == "Open"
