"""TokenVault: encryption at rest, key rotation, refresh ahead of expiry, and the refresh race."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, delete, select, text

from qbsync.config import Settings
from qbsync.quickbooks import (
    IntuitOAuth,
    QuickBooksAuthError,
    QuickBooksTransient,
    TokenSet,
    TokenVault,
    TokenVaultError,
)
from qbsync.store.database import make_engine
from qbsync.store.migrate import migrate
from qbsync.store.schema import qb_tokens
from qbsync.store.tokens import TokenRows

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ACCESS = "access-token-AAAA-1111"
REFRESH = "refresh-token-RRRR-2222"
POSTGRES_URL = os.environ.get("QBSYNC_TEST_POSTGRES_URL")


def key() -> str:
    return Fernet.generate_key().decode()


def tokens(
    realm: str = "9130", *, expires_in: timedelta = timedelta(hours=1), **changes
) -> TokenSet:
    values = {
        "access_token": ACCESS,
        "refresh_token": REFRESH,
        "access_expires_at": NOW + expires_in,
        "refresh_expires_at": NOW + timedelta(days=100),
        "refresh_hard_expires_at": NOW + timedelta(days=5 * 365),
        "realm_id": realm,
        "environment": "sandbox",
    }
    return TokenSet(**{**values, **changes})


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'vault.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


class FakeRefresher:
    """Stands in for IntuitOAuth.refresh: counts calls, rotates the refresh token."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[str] = []
        self.error = error

    def __call__(self, current: TokenSet) -> TokenSet:
        self.calls.append(current.refresh_token)
        if self.error:
            raise self.error
        n = len(self.calls)
        return TokenSet(
            access_token=f"access-{n}",
            refresh_token=f"refresh-{n}",
            access_expires_at=NOW + timedelta(hours=1),
            refresh_expires_at=NOW + timedelta(days=100),
            refresh_hard_expires_at=None,
            realm_id=current.realm_id,
            environment=current.environment,
        )


def test_tokens_are_encrypted_at_rest(engine: Engine, tmp_path: Path) -> None:
    vault = TokenVault(TokenRows(engine), [key()], clock=lambda: NOW)
    vault.save(tokens())

    with engine.connect() as conn:
        raw_rows = [tuple(row) for row in conn.execute(text("SELECT * FROM qb_tokens"))]
    assert len(raw_rows) == 1
    assert ACCESS not in repr(raw_rows) and REFRESH not in repr(raw_rows)
    engine.dispose()
    for path in tmp_path.iterdir():  # the database file, its WAL and shared memory
        assert ACCESS.encode() not in path.read_bytes()
        assert REFRESH.encode() not in path.read_bytes()
    stored = vault.get("9130")
    assert (stored.access_token, stored.refresh_token) == (ACCESS, REFRESH)
    assert stored.refresh_hard_expires_at == NOW + timedelta(days=5 * 365)


def test_token_values_stay_out_of_repr() -> None:
    assert ACCESS not in repr(tokens()) and REFRESH not in repr(tokens())


def test_rotation_re_encrypts_with_the_newest_key(engine: Engine) -> None:
    old, new = key(), key()
    TokenVault(TokenRows(engine), [old]).save(tokens())
    TokenVault(TokenRows(engine), [old]).save(tokens("4620"))

    both = TokenVault(TokenRows(engine), [new, old])
    assert both.get("9130").access_token == ACCESS  # old rows readable during the rotation
    assert both.rotate() == 2

    only_new = TokenVault(TokenRows(engine), [new])
    assert only_new.get("9130").refresh_token == REFRESH
    assert only_new.get("4620").refresh_token == REFRESH
    assert only_new.verify() == 2
    with pytest.raises(TokenVaultError):
        TokenVault(TokenRows(engine), [old]).get("9130")


def test_rotation_keeps_each_company_its_own_tokens(engine: Engine) -> None:
    # Several connected companies: after the rotation each still holds its own tokens.
    old, new = key(), key()
    realms = ("9130", "4620", "1185")
    for realm in realms:
        TokenVault(TokenRows(engine), [old]).save(
            tokens(realm, access_token=f"access-{realm}", refresh_token=f"refresh-{realm}")
        )

    assert TokenVault(TokenRows(engine), [new, old]).rotate() == 3

    only_new = TokenVault(TokenRows(engine), [new])
    for realm in realms:
        stored = only_new.get(realm)
        assert (stored.realm_id, stored.access_token, stored.refresh_token) == (
            realm,
            f"access-{realm}",
            f"refresh-{realm}",
        )


def test_wrong_key_gives_a_clear_error(engine: Engine) -> None:
    TokenVault(TokenRows(engine), [key()]).save(tokens())
    stranger = TokenVault(TokenRows(engine), [key()])

    with pytest.raises(TokenVaultError, match="realm 9130 cannot be decrypted") as caught:
        stranger.get("9130")
    assert "QBSYNC_ENCRYPTION_KEY" in str(caught.value)
    with pytest.raises(TokenVaultError, match="realm 9130"):
        stranger.verify()
    with pytest.raises(TokenVaultError, match="realm 9130"):
        stranger.rotate()


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([], "QBSYNC_ENCRYPTION_KEY is not set; make a key with `qbsync keygen`"),
        (
            ["not-a-key"],
            "QBSYNC_ENCRYPTION_KEY key #1 is not a Fernet key (32 url-safe base64 bytes); "
            "make one with `qbsync keygen`",
        ),
    ],
)
def test_missing_or_malformed_key_is_refused(engine: Engine, keys: list, message: str) -> None:
    # The admin is told how to make a key.
    with pytest.raises(TokenVaultError) as raised:
        TokenVault(TokenRows(engine), keys)
    assert str(raised.value) == message


def test_save_get_delete_realms(engine: Engine) -> None:
    vault = TokenVault(TokenRows(engine), [key()], clock=lambda: NOW)
    vault.save(tokens("2"))
    vault.save(tokens("1"))
    vault.save(tokens("1", access_token="access-again"))  # a reconnect replaces the row

    assert vault.realms() == ["1", "2"]
    assert vault.get("1").access_token == "access-again"
    assert vault.connection("1").connected_at == NOW
    assert vault.delete("1") is True
    assert vault.delete("1") is False
    assert vault.get("1") is None
    assert [c.realm_id for c in vault.connections()] == ["2"]


@pytest.mark.parametrize(
    ("expires_in", "refreshed"),
    [
        (timedelta(minutes=10), False),
        (timedelta(minutes=5, seconds=1), False),
        (timedelta(minutes=5), True),  # the 5-minute margin is reached
        (timedelta(minutes=4), True),
        (-timedelta(hours=2), True),
    ],
)
def test_refreshes_ahead_of_expiry(engine: Engine, expires_in: timedelta, refreshed: bool) -> None:
    vault = TokenVault(TokenRows(engine), [key()], clock=lambda: NOW)
    vault.save(tokens(expires_in=expires_in))
    refresher = FakeRefresher()

    token = vault.access_token("9130", refresher)

    assert (token == "access-1") is refreshed
    assert refresher.calls == ([REFRESH] if refreshed else [])


def test_rotated_refresh_token_is_committed_before_the_access_token_is_returned(
    engine: Engine, tmp_path: Path
) -> None:
    vault = TokenVault(TokenRows(engine), [k := key()], clock=lambda: NOW)
    vault.save(tokens(expires_in=timedelta(0)))

    token = vault.access_token("9130", FakeRefresher())

    # A separate engine sees only committed data: the rotated token is already durable.
    other = make_engine(f"sqlite:///{tmp_path / 'vault.db'}")
    stored = TokenVault(TokenRows(other), [k]).get("9130")
    other.dispose()
    assert token == stored.access_token == "access-1"
    assert stored.refresh_token == "refresh-1"
    # The hard cap is kept when a refresh response does not repeat it.
    assert stored.refresh_hard_expires_at == NOW + timedelta(days=5 * 365)


def test_a_rejected_access_token_is_refreshed_once(engine: Engine) -> None:
    vault = TokenVault(TokenRows(engine), [key()], clock=lambda: NOW)
    vault.save(tokens())
    refresher = FakeRefresher()

    assert vault.access_token("9130", refresher, stale=ACCESS) == "access-1"
    # Another caller still holding the old token finds the new one, no second refresh.
    assert vault.access_token("9130", refresher, stale=ACCESS) == "access-1"
    assert refresher.calls == [REFRESH]


def test_invalid_grant_marks_reconnect_required(engine: Engine) -> None:
    vault = TokenVault(TokenRows(engine), [key()], clock=lambda: NOW)
    vault.save(tokens(expires_in=timedelta(0)))
    refresher = FakeRefresher(
        QuickBooksAuthError("Intuit: invalid_grant", fault_code="invalid_grant")
    )

    with pytest.raises(QuickBooksAuthError, match="invalid_grant"):
        vault.access_token("9130", refresher)

    connection = vault.connection("9130")
    assert connection.status == "reconnect_required"
    assert "invalid_grant" in connection.last_error
    with pytest.raises(QuickBooksAuthError, match="needs a new consent"):
        vault.access_token("9130", refresher)
    assert len(refresher.calls) == 1  # held: no second attempt at Intuit

    vault.save(tokens(access_token="access-reconnected"))  # the admin reconnects
    assert vault.connection("9130").status == "connected"
    assert vault.access_token("9130", refresher) == "access-reconnected"


def test_transient_refresh_failure_keeps_the_tokens(engine: Engine) -> None:
    vault = TokenVault(TokenRows(engine), [key()], clock=lambda: NOW)
    vault.save(tokens(expires_in=timedelta(0)))

    with pytest.raises(QuickBooksTransient):
        vault.access_token("9130", FakeRefresher(QuickBooksTransient("timeout")))

    assert vault.connection("9130").status == "connected"
    assert vault.get("9130").refresh_token == REFRESH


# -- the refresh race: two OS processes, one real token endpoint -----------------------


class TokenEndpoint:
    """A tiny Intuit token endpoint on 127.0.0.1: rotates refresh tokens, burns used ones."""

    def __init__(self) -> None:
        self.valid = {REFRESH}
        self.calls = 0
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                refresh_token = form["refresh_token"][0]
                with endpoint.lock:
                    endpoint.calls += 1
                    n = endpoint.calls
                    accepted = refresh_token in endpoint.valid
                    endpoint.valid.discard(refresh_token)
                    if accepted:
                        endpoint.valid.add(f"refresh-{n}")
                time.sleep(0.5)  # a slow Intuit widens the window for a second refresher
                if accepted:
                    status, body = (
                        200,
                        {
                            "token_type": "bearer",
                            "expires_in": 3600,
                            "refresh_token": f"refresh-{n}",
                            "x_refresh_token_expires_in": 8726400,
                            "access_token": f"access-{n}",
                        },
                    )
                else:
                    status, body = 400, {"error": "invalid_grant"}
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/oauth2/v1/tokens/bearer"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TokenEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _refresh_in_another_process(db_url, keys, token_url, realm, barrier, results) -> None:
    settings = Settings(
        intuit_environment="sandbox",
        intuit_client_id="client-id",
        intuit_client_secret="client-secret",
        intuit_token_url=token_url,
    )
    engine = make_engine(db_url)
    try:
        vault = TokenVault(TokenRows(engine), keys)
        barrier.wait(timeout=60)
        results.put(("ok", vault.access_token(realm, IntuitOAuth(settings).refresh)))
    except Exception as exc:  # reported to the test, which fails on it
        results.put(("error", repr(exc)))
    finally:
        engine.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def race_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'race.db'}"
    if not POSTGRES_URL:
        pytest.skip("QBSYNC_TEST_POSTGRES_URL is not set")
    return POSTGRES_URL


def test_two_processes_refreshing_one_realm_call_intuit_once(race_db_url: str) -> None:
    realm = f"race-{uuid.uuid4().hex[:12]}"  # the PostgreSQL database may be shared
    keys = [key()]
    engine = make_engine(race_db_url)
    migrate(engine)
    vault = TokenVault(TokenRows(engine), keys)
    now = datetime.now(UTC)
    vault.save(tokens(realm, access_expires_at=now - timedelta(minutes=1)))
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()

    try:
        with TokenEndpoint() as endpoint:
            workers = [
                context.Process(
                    target=_refresh_in_another_process,
                    args=(race_db_url, keys, endpoint.url, realm, barrier, results),
                )
                for _ in range(2)
            ]
            for worker in workers:
                worker.start()
            outcomes = [results.get(timeout=90) for _ in workers]
            for worker in workers:
                worker.join(timeout=30)

        assert outcomes == [("ok", "access-1"), ("ok", "access-1")]
        assert endpoint.calls == 1
        stored = vault.get(realm)
        assert stored.refresh_token == "refresh-1"
        assert stored.refresh_token in endpoint.valid  # the stored token still works at Intuit
        assert vault.connection(realm).status == "connected"
    finally:
        with engine.begin() as conn:
            conn.execute(delete(qb_tokens).where(qb_tokens.c.realm_id == realm))
        engine.dispose()


def test_rows_are_readable_by_plain_sql(engine: Engine) -> None:
    # The connection status is stored in clear, so operators can query it without the key.
    TokenVault(TokenRows(engine), [key()]).save(tokens())
    with engine.connect() as conn:
        status = conn.execute(select(qb_tokens.c.status)).scalar_one()
    assert status == "connected"


def test_the_undecryptable_message_says_what_to_do(engine: Engine) -> None:
    TokenVault(TokenRows(engine), [key()]).save(tokens())
    with pytest.raises(TokenVaultError) as raised:
        TokenVault(TokenRows(engine), [key()]).get("9130")
    assert str(raised.value) == (
        "The stored QuickBooks tokens of realm 9130 cannot be decrypted with any key in "
        "QBSYNC_ENCRYPTION_KEY; keep the key that encrypted them in the list (newest first) "
        "until `qbsync rotate-keys` has run"
    )


def test_a_company_never_connected_is_named(engine: Engine) -> None:
    vault = TokenVault(TokenRows(engine), [key()], clock=lambda: NOW)
    with pytest.raises(QuickBooksAuthError) as raised:
        vault.access_token("5555", FakeRefresher())
    assert str(raised.value) == "No QuickBooks tokens stored for realm 5555; connect the company"


@pytest.mark.parametrize(
    ("reason", "shown"), [("consent revoked", "consent revoked"), ("", "authorization lost")]
)
def test_a_company_marked_for_reconnection_is_held(engine: Engine, reason: str, shown: str) -> None:
    vault = TokenVault(TokenRows(engine), [key()], clock=lambda: NOW)
    vault.save(tokens())
    vault.save(tokens("4620"))
    refresher = FakeRefresher()

    vault.mark_reconnect_required("9130", reason)

    with pytest.raises(QuickBooksAuthError) as raised:
        vault.access_token("9130", refresher)
    assert str(raised.value) == (
        f"QuickBooks realm 9130 needs a new consent (Reconnect): {shown} (code reconnect_required)"
    )
    assert raised.value.fault_code == "reconnect_required"
    assert refresher.calls == []
    held = vault.connection("9130")
    assert (held.status, held.last_error) == ("reconnect_required", reason)
    assert vault.connection("4620").status == "connected"  # the other company is untouched
    assert vault.access_token("4620", refresher) == ACCESS


def test_the_connection_shows_the_stored_dates(engine: Engine) -> None:
    # What the connections page lists: environment, expiry dates, when connected and refreshed.
    later = NOW + timedelta(minutes=30)
    now = [NOW]
    vault = TokenVault(TokenRows(engine), [key()], clock=lambda: now[0])
    vault.save(tokens(environment="production", expires_in=timedelta(0)))
    now[0] = later
    vault.access_token("9130", FakeRefresher())

    connection = vault.connection("9130")
    assert connection.environment == "production"
    assert connection.access_expires_at == NOW + timedelta(hours=1)
    assert connection.refresh_expires_at == NOW + timedelta(days=100)
    assert connection.refresh_hard_expires_at == NOW + timedelta(days=5 * 365)
    assert (connection.connected_at, connection.refreshed_at) == (NOW, later)
    stored = vault.get("9130")
    assert (stored.environment, stored.refresh_expires_at) == (
        "production",
        NOW + timedelta(days=100),
    )


def test_refreshes_and_lost_consent_are_logged_with_the_realm(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="qbsync")
    vault = TokenVault(TokenRows(engine), [key()], clock=lambda: NOW)
    vault.save(tokens(expires_in=timedelta(0)))
    vault.save(tokens("4620", expires_in=timedelta(0)))
    vault.access_token("9130", FakeRefresher())
    refused = QuickBooksAuthError("Intuit: invalid_grant", fault_code="invalid_grant")
    with pytest.raises(QuickBooksAuthError):
        vault.access_token("4620", FakeRefresher(refused))

    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "Refreshed the QuickBooks access token of realm 9130"),
        (
            "WARNING",
            "QuickBooks realm 4620 needs a new consent: Intuit: invalid_grant (code invalid_grant)",
        ),
    ]


def test_keep_alive_refreshes_only_connected_realms_idle_that_long(engine: Engine) -> None:
    now = [NOW]
    vault = TokenVault(TokenRows(engine), [key()], clock=lambda: now[0])
    vault.save(tokens("9130"))
    vault.save(tokens("4620"))
    vault.mark_reconnect_required("4620", "invalid_grant")
    refresher = FakeRefresher()
    idle = timedelta(days=30)

    now[0] = NOW + idle - timedelta(seconds=1)
    assert not vault.keep_alive("9130", refresher, idle)
    now[0] = NOW + idle
    assert vault.keep_alive("9130", refresher, idle)
    assert not vault.keep_alive("4620", refresher, idle)  # needs a new consent, not a refresh
    assert not vault.keep_alive("1111", refresher, idle)  # not connected at all
    assert refresher.calls == [REFRESH]
    assert vault.get("9130").refresh_token == "refresh-1"
    assert vault.connection("9130").refreshed_at == NOW + idle
    # Just refreshed: the next pass leaves it alone.
    assert not vault.keep_alive("9130", refresher, idle)


def test_keep_alive_refreshes_an_idle_realm_whose_access_token_is_still_valid(
    engine: Engine,
) -> None:
    # The refresh token's age decides: Intuit expires it after 100 days without use, whatever
    # the access token's expiry says.
    now = [NOW]
    vault = TokenVault(TokenRows(engine), [key()], clock=lambda: now[0])
    vault.save(tokens("9130", expires_in=timedelta(days=60)))
    refresher = FakeRefresher()
    idle = timedelta(days=30)

    now[0] = NOW + idle
    assert vault.keep_alive("9130", refresher, idle)
    assert refresher.calls == [REFRESH]
    assert vault.get("9130").refresh_token == "refresh-1"


def test_refreshes_are_counted_by_outcome(engine: Engine) -> None:
    from prometheus_client import REGISTRY

    def count(outcome: str) -> float:
        return REGISTRY.get_sample_value("qbsync_token_refreshes_total", {"outcome": outcome}) or 0

    before = {outcome: count(outcome) for outcome in ("ok", "refused", "failed")}
    vault = TokenVault(TokenRows(engine), [key()], clock=lambda: NOW)
    vault.save(tokens(expires_in=timedelta(0)))
    vault.access_token("9130", FakeRefresher())
    vault.save(tokens("9131", expires_in=timedelta(0)))
    refused = FakeRefresher(
        QuickBooksAuthError("Intuit: invalid_grant", fault_code="invalid_grant")
    )
    with pytest.raises(QuickBooksAuthError):
        vault.access_token("9131", refused)
    vault.save(tokens("9132", expires_in=timedelta(0)))
    # Any other refusal (a wrong client secret) is a failure, the consent is kept.
    failed = FakeRefresher(
        QuickBooksAuthError("Intuit: invalid_client", fault_code="invalid_client")
    )
    with pytest.raises(QuickBooksAuthError):
        vault.access_token("9132", failed)
    assert count("ok") - before["ok"] == 1
    assert count("refused") - before["refused"] == 1
    assert count("failed") - before["failed"] == 1


# --- tokens kept outside the vault (pending revocations) --------------------------------------


def test_a_sealed_token_opens_with_its_key_and_is_not_readable_without(engine: Engine) -> None:
    old, new = key(), key()
    sealed = TokenVault(TokenRows(engine), [old]).seal("refresh-token-é-3333")

    assert "refresh-token" not in sealed
    assert TokenVault(TokenRows(engine), [new, old]).unseal(sealed, "r1") == "refresh-token-é-3333"
    with pytest.raises(TokenVaultError, match="^The stored QuickBooks tokens of realm r1 cannot"):
        TokenVault(TokenRows(engine), [new]).unseal(sealed, "r1")


def test_resealing_moves_a_token_to_the_newest_key(engine: Engine) -> None:
    old, new = key(), key()
    sealed = TokenVault(TokenRows(engine), [old]).seal("refresh-token-é-3333")

    resealed = TokenVault(TokenRows(engine), [new, old]).reseal(sealed, "r1")

    assert TokenVault(TokenRows(engine), [new]).unseal(resealed, "r1") == "refresh-token-é-3333"
    with pytest.raises(TokenVaultError, match="^The stored QuickBooks tokens of realm r2 cannot"):
        TokenVault(TokenRows(engine), [new]).reseal(sealed, "r2")
