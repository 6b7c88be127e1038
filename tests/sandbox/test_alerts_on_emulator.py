"""Alerts to the admins (issue 20, item 5) through the Salesforce emulator's invocable actions.

Real parts: the Salesforce emulator over HTTPS (its actions, CustomNotificationType from
force-app, permission sets and assignments), the middleware's Salesforce client, a SQLite store
with its ledger, token vault and `qb_alerts`. The clock is the test's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from qbsync.alerts import FAILURES, RECONNECT, TOKEN_EXPIRY, Alerts
from qbsync.events import ChangeEvent
from qbsync.quickbooks import TokenVault
from qbsync.salesforce import SalesforceClient
from qbsync.services import Services
from qbsync.store import Store
from qbsync_sandbox.emulators.salesforce import Org, create_salesforce_app, load_schema
from qbsync_sandbox.emulators.salesforce import run_in_thread as run_salesforce
from tests.support import builders
from tests.support.fakes import Clock
from tests.support.paths import FORCE_APP

REALM = "9341452000000077"
OTHER_REALM = "9341452000000078"
SF_CLIENT_ID = "3MVG9-alerts-test"
SF_SECRET = "client-secret-AAAA"
ADMIN = "admin@qbsync.example"
SYSADMIN = "sysadmin@qbsync.example"
REFRESH_TOKEN = "refresh-token-that-must-never-show"


class Emulator:
    def __init__(self, org: Org, url: str) -> None:
        self.org, self.url = org, url

    def sent(self) -> tuple[list[dict], list[dict]]:
        notifications = requests.get(f"{self.url}/_admin/notifications", timeout=5).json()
        emails = requests.get(f"{self.url}/_admin/emails", timeout=5).json()
        return notifications["records"], emails["records"]


@pytest.fixture
def emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    org = Org(load_schema(FORCE_APP), username="integration@qbsync.example", admin_username=ADMIN)
    app = create_salesforce_app(org, client_id=SF_CLIENT_ID, client_secret=SF_SECRET)
    server, url, ca_path = run_salesforce(app, tmp_path / "tls")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_path))
    yield Emulator(org, url)
    server.shutdown()
    server.server_close()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def services(emulator: Emulator, clock: Clock, tmp_path: Path) -> Iterator[Services]:
    settings = builders.settings(
        salesforce_login_url=emulator.url,
        salesforce_client_id=SF_CLIENT_ID,
        salesforce_client_secret=SF_SECRET,
        alert_token_expiry_days=14,
        alert_failures_per_hour=3,
    )
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    salesforce = SalesforceClient(settings)
    salesforce.upsert_collection(
        "QB_Company__c",
        "Realm_Id__c",
        [{"Realm_Id__c": REALM, "Name": "Acme Ltd"}, {"Realm_Id__c": OTHER_REALM, "Name": "Other"}],
    )
    vault = TokenVault(store.tokens, settings.encryption_keys, clock=clock)
    for realm in (REALM, OTHER_REALM):
        vault.save(builders.tokens(realm, refresh=REFRESH_TOKEN))
    yield Services(settings, store=store, vault=vault, salesforce=salesforce, clock=clock)
    store.close()


def _hard_expiry(services: Services, realm: str, when: datetime) -> None:
    services.store.tokens.update(realm, refresh_hard_expires_at=when)


def _fail(services: Services, realm: str, count: int, start: int = 0) -> None:
    """`count` events of `realm` that failed for good."""
    ledger = services.store.events
    ledger.add(
        [
            ChangeEvent(realm, "Customer", str(n), "Update", None, f"test:{realm}:{n}")
            for n in range(start, start + count)
        ]
    )
    claimed = ledger.claim("test", 100, 60)
    ledger.mark_failed([e.id for e in claimed], "REQUIRED_FIELD_MISSING: Name", None)


def test_reconnect_required_alerts_the_admins_once_until_it_clears(emulator, services, clock):
    alerts = Alerts(services)
    assert alerts.run_once().sent == []

    services.vault.mark_reconnect_required(REALM, f"invalid_grant for {REFRESH_TOKEN}")
    assert alerts.run_once().sent == [(REALM, RECONNECT)]
    notifications, emails = emulator.sent()
    (notification,) = notifications
    admin = emulator.org.user(ADMIN)
    assert notification["recipientIds"] == [admin.id]
    assert notification["notificationType"] == "QBSync_Alert"
    assert "Acme Ltd" in notification["title"] and "reconnect" in notification["title"].lower()
    [company] = services.salesforce.query_all(
        f"SELECT Id FROM QB_Company__c WHERE Realm_Id__c = '{REALM}'"  # noqa: S608 - a constant
    )
    assert notification["targetId"] == company["Id"]
    (email,) = emails
    assert email["to"] == [ADMIN]  # the admin's User.Email
    assert (email["subject"], email["body"]) == (notification["title"], notification["body"])

    # While it holds: no second alert, however many passes.
    for _ in range(3):
        clock.advance(minutes=1)
        assert alerts.run_once().sent == []
    assert [len(items) for items in emulator.sent()] == [1, 1]

    # Reconnected: the alert clears; turning Reconnect Required again alerts again.
    services.vault.save(builders.tokens(REALM, refresh=REFRESH_TOKEN))
    assert alerts.run_once().cleared == [(REALM, RECONNECT)]
    services.vault.mark_reconnect_required(REALM, "invalid_grant")
    assert alerts.run_once().sent == [(REALM, RECONNECT)]
    assert [len(items) for items in emulator.sent()] == [2, 2]


def test_a_token_near_its_hard_expiry_alerts_once_and_again_after_a_new_consent(
    emulator, services, clock
):
    alerts = Alerts(services)
    _hard_expiry(services, REALM, clock() + timedelta(days=15))
    assert alerts.run_once().sent == []
    clock.advance(days=1)  # 14 days left
    assert alerts.run_once().sent == [(REALM, TOKEN_EXPIRY)]
    clock.advance(days=5)
    assert alerts.run_once().sent == []
    (notification,), _ = emulator.sent()
    expiry = (clock() + timedelta(days=9)).date().isoformat()
    assert expiry in notification["title"]

    # A new consent gives a new five-year cap: cleared; nearing that one alerts again.
    _hard_expiry(services, REALM, clock() + timedelta(days=5 * 365))
    assert alerts.run_once().cleared == [(REALM, TOKEN_EXPIRY)]
    clock.advance(days=5 * 365 - 10)
    assert alerts.run_once().sent == [(REALM, TOKEN_EXPIRY)]
    assert [len(items) for items in emulator.sent()] == [2, 2]


def test_failures_past_the_threshold_alert_per_company_until_the_hour_is_quiet(
    emulator, services, clock
):
    alerts = Alerts(services)
    _fail(services, REALM, 2)
    assert alerts.run_once().sent == []  # 2 of 3
    _fail(services, REALM, 1, start=2)
    _fail(services, OTHER_REALM, 1)
    assert alerts.run_once().sent == [(REALM, FAILURES)]
    _fail(services, REALM, 5, start=3)
    assert alerts.run_once().sent == []  # still the same condition
    (notification,), _ = emulator.sent()
    assert "3 failures in the last hour" in notification["title"]

    # An hour later the failures are out of the window: cleared; new ones alert again.
    clock.advance(hours=1, minutes=1)
    assert alerts.run_once().cleared == [(REALM, FAILURES)]
    clock.advance(hours=-1, minutes=-1)  # the ledger stamps new failures with the real time
    _fail(services, REALM, 3, start=100)
    clock.advance(minutes=1)
    assert alerts.run_once().sent == [(REALM, FAILURES)]


def test_recipients_are_exactly_the_assigned_admins(emulator, services, clock):
    sysadmin = emulator.org.user(SYSADMIN)
    admin = emulator.org.user(ADMIN)
    admin_set = emulator.org.query(
        "SELECT Id FROM PermissionSet WHERE Name = 'QuickBooks_Sync_Admin'"
    )[1][0]["Id"]
    emulator.org.create(
        "PermissionSetAssignment", {"AssigneeId": sysadmin.id, "PermissionSetId": admin_set}
    )
    services.vault.mark_reconnect_required(REALM, "invalid_grant")
    Alerts(services).run_once()
    (notification,), emails = emulator.sent()
    assert sorted(notification["recipientIds"]) == sorted([admin.id, sysadmin.id])
    assert sorted(address for email in emails for address in email["to"]) == [ADMIN, SYSADMIN]


def test_texts_hold_no_secret_and_no_raw_error(emulator, services, clock):
    services.vault.mark_reconnect_required(REALM, f"invalid_grant: {REFRESH_TOKEN}")
    _hard_expiry(services, OTHER_REALM, clock() + timedelta(days=3))
    _fail(services, OTHER_REALM, 3)
    assert sorted(Alerts(services).run_once().sent) == sorted(
        [(REALM, RECONNECT), (OTHER_REALM, TOKEN_EXPIRY), (OTHER_REALM, FAILURES)]
    )
    notifications, emails = emulator.sent()
    texts = [n["title"] + n["body"] for n in notifications]
    texts += [e["subject"] + e["body"] for e in emails]
    assert len(texts) == 6
    secrets = (REFRESH_TOKEN, "invalid_grant", *services.settings.encryption_keys, SF_SECRET)
    assert not [text for text in texts if any(secret in text for secret in secrets)]


def test_nothing_is_recorded_while_salesforce_cannot_deliver(emulator, services, clock):
    services.vault.mark_reconnect_required(REALM, "invalid_grant")
    requests.post(
        f"{emulator.url}/_admin/faults", json={"kind": "request_limit", "count": 1}, timeout=5
    )
    first = Alerts(services).run_once()
    assert first.sent == [] and first.errors
    assert services.store.alerts.raised() == set()
    assert Alerts(services).run_once().sent == [(REALM, RECONNECT)]
