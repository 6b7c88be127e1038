"""The `qbsync` command: start-up refusals name what is wrong; keygen and rotate-keys work."""

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from qbsync.cli import main
from qbsync.quickbooks.tokens import TokenVault
from qbsync.store import Store
from tests.support import builders

REALM = "9341455130166501"


@pytest.fixture
def database(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'qbsync.db'}"


def store_tokens(database: str, key: str) -> None:
    store = Store.open(database)
    TokenVault(store.tokens, [key]).save(
        builders.tokens(REALM, access="access-secret", refresh="refresh-secret")
    )
    store.close()


def worker_env(database: str, key: str) -> dict[str, str]:
    return {
        "QBSYNC_DATABASE_URL": database,
        "QBSYNC_ENCRYPTION_KEY": key,
        "INTUIT_CLIENT_ID": "client",
        "INTUIT_CLIENT_SECRET": "secret",
        "SALESFORCE_LOGIN_URL": "https://login.salesforce.com",
        "SALESFORCE_CLIENT_ID": "consumer",
        "SALESFORCE_CLIENT_SECRET": "consumer-secret",
    }


def run(args: list[str], env: dict[str, str]):
    return CliRunner().invoke(main, args, env=env, catch_exceptions=False)


def test_serve_without_a_required_setting_names_it(database):
    result = run(["serve"], {"QBSYNC_DATABASE_URL": database, "QBSYNC_ENCRYPTION_KEY": ""})
    assert result.exit_code == 1
    assert "QBSYNC_ENCRYPTION_KEY is required" in result.output


def test_worker_refuses_a_key_that_cannot_decrypt_the_stored_tokens(database):
    store_tokens(database, Fernet.generate_key().decode())
    result = run(["worker", "--once"], worker_env(database, Fernet.generate_key().decode()))
    assert result.exit_code == 1
    assert f"realm {REALM} cannot be decrypted" in result.output
    assert "refresh-secret" not in result.output


def test_keygen_prints_a_fernet_key():
    result = run(["keygen"], {})
    assert result.exit_code == 0
    Fernet(result.output.strip())  # raises when it is not a key


def test_rotate_keys_re_encrypts_with_the_newest_key(database):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    store_tokens(database, old)
    store = Store.open(database)
    waiting = TokenVault(store.tokens, [old]).seal("revoke-me")
    store.revocations.add(REALM, waiting, "Intuit answered 503", datetime.now(UTC))
    store.close()

    result = run(
        ["rotate-keys"], {"QBSYNC_DATABASE_URL": database, "QBSYNC_ENCRYPTION_KEY": f"{new},{old}"}
    )

    assert result.exit_code == 0, result.output
    assert "re-encrypted 1 token set(s) and 1 token(s) waiting for revocation" in result.output
    store = Store.open(database)
    vault = TokenVault(store.tokens, [new])
    assert vault.get(REALM).refresh_token == "refresh-secret"
    (pending,) = store.revocations.pending()
    assert vault.unseal(pending.secret, REALM) == "revoke-me"  # the old key is no longer needed
    store.close()


def test_events_lists_counts_of_an_empty_ledger(database):
    result = run(["events"], {"QBSYNC_DATABASE_URL": database})
    assert result.exit_code == 0
    assert "pending=0" in result.output


def test_an_unreachable_database_is_named_not_a_traceback(tmp_path):
    missing = f"sqlite:///{tmp_path / 'no' / 'such' / 'directory' / 'qbsync.db'}"
    result = run(["events"], {"QBSYNC_DATABASE_URL": missing})
    assert result.exit_code == 1
    assert "QBSYNC_DATABASE_URL: the database is unavailable" in result.output
    assert "unable to open database file" in result.output
    assert "Traceback" not in result.output


def test_migrate_brings_an_empty_database_to_the_newest_revision(tmp_path):
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect

    from qbsync.store.database import make_engine
    from qbsync.store.migrate import alembic_config

    # DATABASE_URL, as Heroku Postgres sets it, when QBSYNC_DATABASE_URL is not set.
    url = f"sqlite:///{tmp_path / 'release.db'}"
    result = run(["migrate"], {"DATABASE_URL": url, "QBSYNC_DATABASE_URL": ""})
    assert result.exit_code == 0, result.output
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert result.output.strip() == f"schema at revision {head}"
    engine = make_engine(url)
    assert {"events", "qb_tokens", "alembic_version"} <= set(inspect(engine).get_table_names())
    engine.dispose()
