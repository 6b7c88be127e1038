"""A running Salesforce emulator (real HTTPS on 127.0.0.1) for the client conformance suites."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from qbsync_sandbox.emulators.salesforce import (
    Org,
    create_salesforce_app,
    load_schema,
    run_in_thread,
)
from qbsync_sandbox.emulators.salesforce.tls import connected_app_keys
from tests.support.paths import FORCE_APP

CLIENT_ID = "3MVG9-conformance-consumer-key"
USERNAME = "integration@qbsync.example"
# The org's System Administrator: a client's protocol checks on objects the package's users have
# no access to (Contact) run as it; the integration user's own commands run as USERNAME.
SYSADMIN = "sysadmin@qbsync.example"


@dataclass
class RunningEmulator:
    org: Org
    base_url: str
    ca_path: Path
    key_file: Path
    client_id: str = CLIENT_ID
    username: str = USERNAME
    sysadmin: str = SYSADMIN


@pytest.fixture
def salesforce_emulator(tmp_path):
    key, certificate = connected_app_keys("qbsync conformance connected app")
    key_file = tmp_path / "connected-app.key"
    key_file.write_bytes(key)
    key_file.chmod(0o600)
    org = Org(load_schema(FORCE_APP), username=USERNAME)
    app = create_salesforce_app(
        org,
        client_id=CLIENT_ID,
        certificate_pem=certificate,
        # jsforce's faye client sends its /meta/disconnect only after the connect it holds open
        # returns, and Node waits for that request before exiting: held 110 s, as Salesforce
        # holds it, the suite would end 110 s after its last check.
        cometd_hold_seconds=2,
    )
    server, base_url, ca_path = run_in_thread(app, tmp_path / "tls")
    yield RunningEmulator(org, base_url, ca_path, key_file)
    server.shutdown()
    server.server_close()
