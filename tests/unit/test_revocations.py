"""Tokens Intuit did not confirm revoked are tried again until it does (issue 15 item 3).

Intuit is mocked at the transport layer with `responses`; the store is a real temp SQLite database.
"""

from datetime import UTC, datetime

import pytest
import responses
from cryptography.fernet import Fernet

from qbsync.config import Settings
from qbsync.revocations import FIRST_RETRY, LONGEST_RETRY, Revoker
from qbsync.services import Services
from qbsync.store import Store
from tests.support.fakes import Clock

REALM = "9341455130166501"
REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def services(tmp_path, clock):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'ledger.db'}",
        encryption_keys=(Fernet.generate_key().decode(),),
        intuit_client_id="intuit-client",
        intuit_client_secret="intuit-secret",
        intuit_environment="sandbox",
    )
    return Services(settings, store=Store.open(settings.database_url), clock=clock)


@responses.activate
def test_a_failed_revocation_is_retried_until_intuit_confirms(services, clock):
    revoker = Revoker(services)
    responses.post(REVOKE_URL, status=503, json={"error": "server_error"})
    assert revoker.revoke(REALM, "refresh-1") is False
    assert revoker.retry_due() == 0  # not due before the first wait
    (pending,) = services.store.revocations.pending()
    assert pending.attempts == 1

    clock.advance(seconds=FIRST_RETRY.total_seconds())
    assert revoker.retry_due() == 0  # Intuit still down: the wait doubles
    (pending,) = services.store.revocations.pending()
    assert pending.attempts == 2
    clock.advance(seconds=FIRST_RETRY.total_seconds())
    assert revoker.retry_due() == 0
    assert len(responses.calls) == 2

    responses.replace(responses.POST, REVOKE_URL, status=200)
    clock.advance(seconds=FIRST_RETRY.total_seconds())
    assert revoker.retry_due() == 1
    assert services.store.revocations.pending() == []
    assert responses.calls[-1].request.body == b'{"token": "refresh-1"}'


@responses.activate
def test_a_token_intuit_no_longer_knows_is_not_kept(services, clock):
    responses.post(REVOKE_URL, status=400, json={"error": "invalid_token"})
    assert Revoker(services).revoke(REALM, "refresh-gone") is True
    assert services.store.revocations.pending() == []


@responses.activate
def test_the_wait_between_tries_is_capped(services, clock):
    responses.post(REVOKE_URL, status=502, json={"error": "server_error"})
    revoker = Revoker(services)
    revoker.revoke(REALM, "refresh-1")
    for _ in range(12):
        clock.advance(seconds=LONGEST_RETRY.total_seconds())
        revoker.retry_due()
    (pending,) = services.store.revocations.pending()
    assert pending.attempts == 13
    # Due within the cap, however many tries failed before.
    clock.advance(seconds=LONGEST_RETRY.total_seconds() - 1)
    assert services.store.revocations.due(clock()) == []
    clock.advance(seconds=1)
    assert len(services.store.revocations.due(clock())) == 1


def test_a_pending_token_no_key_decrypts_is_dropped(services, clock, tmp_path):
    services.store.revocations.add(
        REALM, Fernet(Fernet.generate_key()).encrypt(b"x").decode(), "e", T0
    )
    assert Revoker(services).retry_due() == 0
    assert services.store.revocations.pending() == []
