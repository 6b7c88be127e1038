"""Keep-alive of idle companies' refresh tokens (issue 13, item 1) on both emulators.

Intuit's refresh tokens expire after 100 days without use (research quickbooks.md §5); the
QuickBooks emulator enforces it on its companies' clock, which the test moves. Real parts: both
emulators over HTTP(S), the QuickBooks client, OAuth and token vault, the Salesforce client, the
reconciler (whose full pass keeps tokens alive), a SQLite store.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from qbsync.catalog import load_catalog
from qbsync.config import Settings
from qbsync.quickbooks import IntuitOAuth, QuickBooksAuthError, QuickBooksClient, TokenVault
from qbsync.reconcile import Reconciler
from qbsync.salesforce import SalesforceClient
from qbsync.services import Services
from qbsync.store import Store
from qbsync_sandbox.emulators.quickbooks import create_qbo_app
from qbsync_sandbox.emulators.quickbooks.state import QboState
from qbsync_sandbox.emulators.salesforce import Org, create_salesforce_app, load_schema
from qbsync_sandbox.emulators.salesforce import run_in_thread as run_salesforce
from qbsync_sandbox.emulators.salesforce.tls import connected_app_keys
from tests.support import builders
from tests.support.emulators import serving_quickbooks
from tests.support.fakes import Clock
from tests.support.paths import FORCE_APP

REALM = "9341452000000088"
REDIRECT = "https://middleware.example/oauth/quickbooks/callback"
SF_CLIENT_ID = "3MVG9-keepalive-test"
SF_SECRET = "client-secret-KKKK"
COMPANY_QUERY = (
    "SELECT Renewed_At__c, Refresh_Token_Expires_At__c FROM QB_Company__c "
    "WHERE Realm_Id__c = '9341452000000088'"
)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def quickbooks_url(clock: Clock) -> Iterator[str]:
    state = QboState(clock=clock)
    state.create_company(REALM)
    app = create_qbo_app(
        state,
        verifier_token="verifier",
        client_id="client-id",
        client_secret="client-secret",
        start_deliverer=False,
    )
    with serving_quickbooks(app) as url:
        yield url


@pytest.fixture
def salesforce_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    _, certificate = connected_app_keys("keep-alive test")
    app = create_salesforce_app(
        Org(load_schema(FORCE_APP), username="integration@qbsync.example"),
        client_id=SF_CLIENT_ID,
        certificate_pem=certificate,
        client_secret=SF_SECRET,
    )
    server, url, ca_path = run_salesforce(app, tmp_path / "tls")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_path))
    yield url
    server.shutdown()
    server.server_close()


def salesforce_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_an_idle_company_stays_connected_past_100_days(
    quickbooks_url: str, salesforce_url: str, clock: Clock, tmp_path: Path
) -> None:
    url = quickbooks_url
    settings = Settings(
        intuit_environment="sandbox",
        intuit_client_id="client-id",
        intuit_client_secret="client-secret",
        intuit_redirect_uri=REDIRECT,
        intuit_api_base_url=url,
        intuit_auth_url=f"{url}/connect/oauth2",
        intuit_token_url=f"{url}/oauth2/v1/tokens/bearer",
        intuit_revoke_url=f"{url}/v2/oauth2/tokens/revoke",
        salesforce_login_url=salesforce_url,
        salesforce_client_id=SF_CLIENT_ID,
        salesforce_client_secret=SF_SECRET,
        token_keepalive_days=30,
    )
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    vault = TokenVault(store.tokens, builders.settings().encryption_keys, clock=clock)
    oauth = IntuitOAuth(settings, clock=clock)
    consent = requests.get(
        oauth.authorization_url("s"), params={"realmId": REALM}, allow_redirects=False, timeout=5
    )
    back = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    vault.save(oauth.exchange_code(back["code"], back["realmId"]))
    salesforce = SalesforceClient(settings)
    salesforce.upsert_collection(
        "QB_Company__c", "Realm_Id__c", [{"Realm_Id__c": REALM, "Name": "Idle Co"}]
    )
    services = Services(
        settings,
        store=store,
        vault=vault,
        oauth=oauth,
        quickbooks=QuickBooksClient(settings, vault, oauth=oauth),
        salesforce=salesforce,
        catalog=load_catalog(),
        clock=clock,
    )
    reconciler = Reconciler(services)

    # 29 days idle: not due yet.
    clock.advance(days=29)
    assert reconciler.run_once().tokens_refreshed == []
    # 30 days: refreshed, and the ledger's token row and the company record say when.
    clock.advance(days=1)
    counts = reconciler.run_once()
    assert counts.tokens_refreshed == [REALM]
    connection = vault.connection(REALM)
    assert connection.refreshed_at == clock()
    [company] = salesforce.query_all(COMPANY_QUERY)
    assert salesforce_time(company["Renewed_At__c"]) == clock()
    assert salesforce_time(company["Refresh_Token_Expires_At__c"]) == clock() + timedelta(days=100)

    # Four more idle months, one pass a day: the company never made a call, yet it still reads.
    for _ in range(120):
        clock.advance(days=1)
        assert reconciler.run_once().errors == []
    assert services.quickbooks.company_info(REALM)["CompanyName"]


def test_without_keep_alive_an_idle_company_needs_a_new_consent(
    quickbooks_url: str, clock: Clock, tmp_path: Path
) -> None:
    # The emulator's side of the rule the keep-alive works around: 100 days unused is the end.
    url = quickbooks_url
    settings = Settings(
        intuit_environment="sandbox",
        intuit_client_id="client-id",
        intuit_client_secret="client-secret",
        intuit_redirect_uri=REDIRECT,
        intuit_api_base_url=url,
        intuit_auth_url=f"{url}/connect/oauth2",
        intuit_token_url=f"{url}/oauth2/v1/tokens/bearer",
        intuit_revoke_url=f"{url}/v2/oauth2/tokens/revoke",
    )
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    vault = TokenVault(store.tokens, builders.settings().encryption_keys, clock=clock)
    oauth = IntuitOAuth(settings, clock=clock)
    consent = requests.get(
        oauth.authorization_url("s"), params={"realmId": REALM}, allow_redirects=False, timeout=5
    )
    back = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    vault.save(oauth.exchange_code(back["code"], back["realmId"]))

    clock.advance(days=100)
    with pytest.raises(QuickBooksAuthError) as raised:
        QuickBooksClient(settings, vault, oauth=oauth).company_info(REALM)
    assert raised.value.fault_code == "invalid_grant"
