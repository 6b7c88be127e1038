"""The Salesforce emulator (HTTPS, in a thread) and the LWC preview server in front of it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from qbsync_preview.app import create_preview_app, serve_in_thread
from qbsync_sandbox.emulators.salesforce import (
    Org,
    create_salesforce_app,
    load_schema,
    run_in_thread,
)
from tests.support.paths import REPO_ROOT

CLIENT_ID = "3MVG9-preview-test"
CLIENT_SECRET = "preview-client-secret"
# The preview runs as the org's admin (QuickBooks_Sync_Admin over a minimum-access profile), as the
# QB Setup tab's Apex runs as the admin who opened it: the client-credentials flow's run-as user.
ADMIN_USERNAME = "admin@qbsync.example"
# The org's System Administrator: loads test fixtures through REST without the admin's limits.
SYSADMIN_USERNAME = "sysadmin@qbsync.example"
COMPANY = {
    "Name": "Sandbox Company US",
    "Realm_Id__c": "9341455130166501",
    "Status__c": "Connected",
    "Environment__c": "sandbox",
    "Connected_At__c": "2026-11-20T10:00:00.000+0000",
    "Refresh_Token_Expires_At__c": "2027-02-28T10:00:00.000+0000",
    "Refresh_Token_Hard_Expires_At__c": "2031-11-20T10:00:00.000+0000",
}


@dataclass
class PreviewStack:
    salesforce_url: str
    ca_path: Path
    preview_url: str

    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        """The emulator's admin API (seeding and reading records as a test does)."""
        return requests.request(
            method,
            f"{self.salesforce_url}/_admin{path}",
            verify=str(self.ca_path),
            timeout=10,
            **kwargs,
        )

    def seed(self, sobject: str, records: dict | list[dict]) -> list[str]:
        response = self.admin("POST", f"/records/{sobject}", json=records)
        assert response.status_code == 201, response.text
        return response.json()["ids"]

    def records(self, sobject: str) -> list[dict]:
        return self.admin("GET", f"/records/{sobject}").json()["records"]

    def apex(self, method: str, params: dict | None = None) -> requests.Response:
        return requests.post(
            f"{self.preview_url}/apex/QBSetupController/{method}", json=params or {}, timeout=10
        )


@pytest.fixture(scope="session")
def preview_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreviewStack]:
    # One line per request from both servers would bury a failure's report.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    org = Org(load_schema(REPO_ROOT / "force-app"), admin_username=ADMIN_USERNAME)
    emulator = create_salesforce_app(
        org, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, username=ADMIN_USERNAME
    )
    sf_server, salesforce_url, ca_path = run_in_thread(emulator, tmp_path_factory.mktemp("tls"))
    preview = create_preview_app(
        salesforce_url, ca_path, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    preview_server, preview_url = serve_in_thread(preview)
    yield PreviewStack(salesforce_url, ca_path, preview_url)
    preview_server.shutdown()
    sf_server.shutdown()


@pytest.fixture
def company_id(preview_stack: PreviewStack) -> str:
    """A clean org holding one connected QuickBooks company; returns its Id."""
    assert preview_stack.admin("DELETE", "/records").status_code == 204
    return preview_stack.seed("QB_Company__c", COMPANY)[0]
