"""Weak settings are refused and secrets are never printed (issue 15, items 3 and 4)."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from qbsync.cli import main
from qbsync.config import ConfigError, Settings, load_settings, redacted_database_url
from qbsync.store import Store
from tests.support import builders

KEY = Fernet.generate_key().decode()
GOOD_API_KEY = "k" * 32


# --- the API key -------------------------------------------------------------------------------


def test_an_api_key_under_32_characters_stops_start_up_without_echoing_it():
    with pytest.raises(ConfigError) as error:
        load_settings({"QBSYNC_API_KEY": "x" * 31})
    message = str(error.value)
    assert message.startswith("QBSYNC_API_KEY has 31 characters; at least 32 are required")
    assert "x" * 31 not in message
    with pytest.raises(ConfigError, match="QBSYNC_API_KEY has 1 characters"):
        load_settings({"QBSYNC_API_KEY": "k"})


def test_an_api_key_of_32_characters_is_taken():
    assert load_settings({"QBSYNC_API_KEY": GOOD_API_KEY}).api_key == GOOD_API_KEY


# --- transport of the Intuit URLs --------------------------------------------------------------


@pytest.mark.parametrize(
    "variable",
    [
        "INTUIT_REDIRECT_URI",
        "INTUIT_API_BASE_URL",
        "INTUIT_AUTH_URL",
        "INTUIT_TOKEN_URL",
        "INTUIT_REVOKE_URL",
    ],
)
def test_plain_http_to_another_host_is_refused(variable):
    with pytest.raises(ConfigError) as error:
        load_settings({variable: "http://qbsync.example.com/x"})
    assert str(error.value) == (
        f"{variable} must be an https:// URL (http:// only for 127.0.0.1 or localhost), "
        "got 'http://qbsync.example.com/x'"
    )


@pytest.mark.parametrize("host", ["127.0.0.1:9000", "localhost:9000", "[::1]:9000"])
def test_plain_http_to_this_machine_is_allowed_for_the_emulator(host):
    settings = load_settings(
        {"INTUIT_TOKEN_URL": f"http://{host}/token", "INTUIT_REDIRECT_URI": f"http://{host}/cb"}
    )
    assert settings.intuit_token_url == f"http://{host}/token"


def test_settings_built_in_code_are_checked_too():
    with pytest.raises(ConfigError, match="INTUIT_REVOKE_URL must be an https:// URL"):
        builders.settings(intuit_revoke_url="http://revoke.example.com")
    with pytest.raises(ConfigError, match="QBSYNC_API_KEY has 5 characters"):
        builders.settings(api_key="short")


# --- secrets never printed ---------------------------------------------------------------------


def test_the_settings_repr_holds_no_secret():
    settings = Settings(
        database_url="postgresql+psycopg://qbsync:db-password@db.example.com/qbsync",
        encryption_keys=(KEY,),
        api_key="api-key-" + "a" * 32,
        intuit_client_secret="intuit-client-secret",
        intuit_webhook_verifier_token="verifier-token",
        salesforce_client_secret="salesforce-client-secret",
        intuit_client_id="client-id-is-not-secret",
    )
    text = repr(settings)
    for secret in (
        "db-password",
        KEY,
        "api-key-",
        "intuit-client-secret",
        "verifier-token",
        "salesforce-client-secret",
    ):
        assert secret not in text
    assert "client-id-is-not-secret" in text


def test_a_refused_database_url_is_shown_without_its_password():
    with pytest.raises(ConfigError) as error:
        load_settings({"QBSYNC_DATABASE_URL": "mysql://qbsync:s3cret-pw@db.example.com/qbsync"})
    message = str(error.value)
    assert "s3cret-pw" not in message
    assert "mysql://qbsync:***@db.example.com/qbsync" in message
    with pytest.raises(ConfigError) as error:
        load_settings({"QBSYNC_DATABASE_URL": "not a url with s3cret-pw"})
    assert "s3cret-pw" not in str(error.value)


def test_the_postgres_url_hosting_platforms_hand_out_uses_psycopg():
    for given in (
        "postgres://qbsync:pw@db.example.com:5432/qbsync",
        "postgresql://qbsync:pw@db.example.com:5432/qbsync",
    ):
        settings = load_settings({"QBSYNC_DATABASE_URL": given})
        assert settings.database_url == "postgresql+psycopg://qbsync:pw@db.example.com:5432/qbsync"


def test_redacted_database_url():
    assert redacted_database_url("postgresql+psycopg://u:p%40ss@h/d") == (
        "postgresql+psycopg://u:***@h/d"
    )
    assert redacted_database_url("sqlite:///qbsync.db") == "sqlite:///qbsync.db"


# --- files ------------------------------------------------------------------------------------


def worker_environ(key_file) -> dict[str, str]:
    return {
        "QBSYNC_ENCRYPTION_KEY": KEY,
        "INTUIT_CLIENT_ID": "id",
        "INTUIT_CLIENT_SECRET": "secret",
        "SALESFORCE_LOGIN_URL": "https://login.salesforce.com",
        "SALESFORCE_CLIENT_ID": "consumer",
        "SALESFORCE_USERNAME": "integration@example.com",
        "SALESFORCE_PRIVATE_KEY_FILE": str(key_file),
    }


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_jwt_key_file_others_can_read_is_refused(tmp_path, mode):
    key = tmp_path / "server.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    key.chmod(mode)
    with pytest.raises(ConfigError) as error:
        load_settings(worker_environ(key), role="worker")
    assert str(error.value) == (
        f"SALESFORCE_PRIVATE_KEY_FILE '{key}' can be used by other users (mode {mode:04o}); "
        f"make it readable by its owner only: chmod 600 {key}"
    )


def test_a_jwt_key_file_only_its_owner_reads_is_taken(tmp_path):
    key = tmp_path / "server.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    key.chmod(0o400)
    assert load_settings(worker_environ(key), role="worker").salesforce_auth_flow == "jwt"


def test_a_new_sqlite_ledger_is_readable_by_its_owner_only(tmp_path):
    previous = os.umask(0o022)  # a usual umask would leave a new file world-readable
    try:
        store = Store.open(f"sqlite:///{tmp_path / 'qbsync.db'}")
        store.events.ping()
        store.close()
    finally:
        os.umask(previous)
    for name in ("qbsync.db", "qbsync.db-wal", "qbsync.db-shm"):
        path = tmp_path / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    assert (tmp_path / "qbsync.db").exists()


def test_an_existing_ledger_keeps_its_permissions(tmp_path):
    path = tmp_path / "qbsync.db"
    path.touch(mode=0o640)
    path.chmod(0o640)
    Store.open(f"sqlite:///{path}").close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_an_unreachable_postgres_database_is_named_without_its_password():
    # Port 1 on this machine: the connection is refused at once.
    url = "postgres://qbsync:s3cret-pw@127.0.0.1:1/qbsync"
    result = CliRunner().invoke(main, ["events"], env={"QBSYNC_DATABASE_URL": url})

    assert result.exit_code == 1
    assert result.output.startswith("Error: QBSYNC_DATABASE_URL: the database is unavailable")
    assert "s3cret-pw" not in result.output  # before: the refused URL was echoed whole
