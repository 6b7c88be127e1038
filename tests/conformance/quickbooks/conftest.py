"""A running QuickBooks emulator and Intuit's clients connected to it; the suite's counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from intuitlib.client import AuthClient
from quickbooks import QuickBooks

from qbsync_sandbox.emulators.quickbooks import QboState, create_qbo_app
from qbsync_sandbox.emulators.salesforce.server import run_in_thread as run_https
from tests.conformance.quickbooks import clients as intuit_clients

CLIENT_ID = "ABconformance0123"
CLIENT_SECRET = "conformance-secret"
REDIRECT = "https://middleware.example/oauth/quickbooks/callback"
VERIFIER = "conformance-verifier"
REALM = "9341455130166501"


@dataclass
class Running:
    base: str
    state: QboState
    realm: str


@pytest.fixture
def emulator(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Running]:
    state = QboState()
    realm = state.create_company(REALM, "Conformance Company")
    app = create_qbo_app(
        state,
        verifier_token=VERIFIER,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uris=[REDIRECT],
        start_deliverer=False,
    )
    # The Salesforce emulator's HTTPS server (a CA made on the spot) serves any Flask app.
    server, base, ca_path = run_https(app, tmp_path / "tls")
    intuit_clients.trust(monkeypatch, ca_path)
    yield Running(base, state, realm)
    server.shutdown()
    app.extensions["qbo_emulator"].close()


@pytest.fixture
def auth(emulator: Running) -> AuthClient:
    """An AuthClient that went through consent and the code exchange."""
    client = intuit_clients.auth_client(emulator.base, CLIENT_ID, CLIENT_SECRET, REDIRECT)
    back = intuit_clients.consent(client)
    client.get_bearer_token(back["code"], realm_id=back["realmId"])
    return client


@pytest.fixture
def qb(emulator: Running, auth: AuthClient) -> QuickBooks:
    return intuit_clients.quickbooks(emulator.base, auth, emulator.realm)


# -- counts ---------------------------------------------------------------------------------------

_OUTCOMES: Counter[str] = Counter()
_SUITE = "tests/conformance/quickbooks/"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _SUITE not in report.nodeid.replace("\\", "/"):
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _OUTCOMES[report.outcome] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _OUTCOMES:
        counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(_OUTCOMES.items()))
        terminalreporter.write_line(
            f"QuickBooks conformance (python-quickbooks + intuit-oauth): {counts}"
        )
