import pytest
from cryptography.fernet import Fernet

from qbsync.config import ConfigError, load_settings

KEY = Fernet.generate_key().decode()


def test_defaults_follow_intuit_environment():
    settings = load_settings({"INTUIT_ENVIRONMENT": "sandbox"})
    assert settings.intuit_api_base_url == "https://sandbox-quickbooks.api.intuit.com"
    assert settings.intuit_token_url == "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
    assert settings.database_url == "sqlite:///qbsync.db"
    assert settings.salesforce_api_version == "66.0"


def test_overrides_win_over_environment_defaults():
    settings = load_settings({"INTUIT_API_BASE_URL": "http://127.0.0.1:9000/"})
    assert settings.intuit_api_base_url == "http://127.0.0.1:9000"


def test_several_encryption_keys_newest_first():
    other = Fernet.generate_key().decode()
    settings = load_settings({"QBSYNC_ENCRYPTION_KEY": f"{KEY}, {other}"})
    assert settings.encryption_keys == (KEY, other)


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        ({"QBSYNC_ENCRYPTION_KEY": "not-a-key"}, "QBSYNC_ENCRYPTION_KEY key #1"),
        ({"SALESFORCE_LOGIN_URL": "http://login.salesforce.com"}, "SALESFORCE_LOGIN_URL"),
        ({"SALESFORCE_API_VERSION": "v66"}, "SALESFORCE_API_VERSION"),
        ({"INTUIT_ENVIRONMENT": "staging"}, "INTUIT_ENVIRONMENT"),
        ({"QBSYNC_DATABASE_URL": "mysql://x"}, "QBSYNC_DATABASE_URL"),
        ({"QBSYNC_MAX_ATTEMPTS": "0"}, "QBSYNC_MAX_ATTEMPTS"),
        ({"QBSYNC_WORKER_BATCH_SIZE": "many"}, "QBSYNC_WORKER_BATCH_SIZE"),
        ({"QBSYNC_REALM_WAIT_SECONDS": "-1"}, "QBSYNC_REALM_WAIT_SECONDS"),
        ({"QBSYNC_QUICKBOOKS_TIMEOUT_SECONDS": "soon"}, "QBSYNC_QUICKBOOKS_TIMEOUT_SECONDS"),
        ({"QBSYNC_SALESFORCE_TIMEOUT_SECONDS": "0"}, "QBSYNC_SALESFORCE_TIMEOUT_SECONDS"),
        ({"QBSYNC_TOKEN_KEEPALIVE_DAYS": "0"}, "QBSYNC_TOKEN_KEEPALIVE_DAYS"),
        ({"QBSYNC_TOKEN_KEEPALIVE_DAYS": "100"}, "QBSYNC_TOKEN_KEEPALIVE_DAYS must be under 100"),
    ],
)
def test_malformed_setting_names_the_variable(environ, names):
    with pytest.raises(ConfigError, match=names):
        load_settings(environ)


def test_realm_wait_and_timeouts_default_to_the_platforms_and_can_be_shortened():
    defaults = load_settings({})
    assert defaults.realm_wait_seconds == 60  # Intuit: "wait 60 seconds" after a 429
    assert (defaults.quickbooks_timeout, defaults.salesforce_timeout) == ((5, 30), (5, 60))
    short = load_settings(
        {
            "QBSYNC_REALM_WAIT_SECONDS": "2.5",
            "QBSYNC_QUICKBOOKS_TIMEOUT_SECONDS": "3",
            "QBSYNC_SALESFORCE_TIMEOUT_SECONDS": "4",
        }
    )
    assert short.realm_wait_seconds == 2.5
    assert (short.quickbooks_timeout, short.salesforce_timeout) == ((5, 3), (5, 4))


def test_web_role_requires_its_secrets():
    with pytest.raises(ConfigError, match="QBSYNC_ENCRYPTION_KEY is required"):
        load_settings({}, role="web")
    with pytest.raises(ConfigError, match="INTUIT_WEBHOOK_VERIFIER_TOKEN is required"):
        load_settings({"QBSYNC_ENCRYPTION_KEY": KEY}, role="web")


def test_worker_role_needs_a_salesforce_credential(tmp_path):
    environ = {
        "QBSYNC_ENCRYPTION_KEY": KEY,
        "INTUIT_CLIENT_ID": "id",
        "INTUIT_CLIENT_SECRET": "secret",
        "SALESFORCE_LOGIN_URL": "https://login.salesforce.com",
        "SALESFORCE_CLIENT_ID": "consumer",
    }
    with pytest.raises(ConfigError, match="SALESFORCE_PRIVATE_KEY_FILE"):
        load_settings(environ, role="worker")
    with pytest.raises(ConfigError, match="SALESFORCE_USERNAME is required"):
        load_settings({**environ, "SALESFORCE_PRIVATE_KEY_FILE": "/nope"}, role="worker")
    with pytest.raises(ConfigError, match="not a file"):
        load_settings(
            {**environ, "SALESFORCE_PRIVATE_KEY_FILE": "/nope", "SALESFORCE_USERNAME": "u"},
            role="worker",
        )
    key = tmp_path / "server.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    key.chmod(0o600)
    settings = load_settings(
        {**environ, "SALESFORCE_PRIVATE_KEY_FILE": str(key), "SALESFORCE_USERNAME": "u"},
        role="worker",
    )
    assert settings.salesforce_auth_flow == "jwt"
    assert load_settings({**environ, "SALESFORCE_CLIENT_SECRET": "s"}).salesforce_auth_flow == (
        "client_credentials"
    )


def test_config_error_never_echoes_a_secret():
    with pytest.raises(ConfigError) as error:
        load_settings({"QBSYNC_ENCRYPTION_KEY": "supersecretvalue"})
    assert "supersecretvalue" not in str(error.value)


def test_token_keep_alive_defaults_well_under_intuits_100_days():
    assert load_settings({}).token_keepalive_days == 30
    assert load_settings({"QBSYNC_TOKEN_KEEPALIVE_DAYS": "99"}).token_keepalive_days == 99


def test_salesforce_origins_are_normalised_origins():
    settings = load_settings(
        {
            "QBSYNC_SALESFORCE_ORIGINS": "https://Acme.lightning.force.com/, "
            "https://acme--uat.sandbox.lightning.force.com,http://127.0.0.1:8123"
        }
    )
    assert settings.salesforce_origins == (
        "https://acme.lightning.force.com",
        "https://acme--uat.sandbox.lightning.force.com",
        "http://127.0.0.1:8123",
    )


@pytest.mark.parametrize(
    "value",
    [
        "http://acme.lightning.force.com",  # clear text outside loopback
        "https://acme.lightning.force.com/lightning/n/QB_Setup",  # a page, not an origin
        "acme.lightning.force.com",
        "https://acme.lightning.force.com,,https://b.lightning.force.com",
        "https://user@acme.lightning.force.com",
        "https://acme.lightning.force.com:x",
    ],
)
def test_a_malformed_salesforce_origin_names_the_variable(value):
    with pytest.raises(ConfigError, match="QBSYNC_SALESFORCE_ORIGINS must list origins"):
        load_settings({"QBSYNC_SALESFORCE_ORIGINS": value})


def test_database_url_is_read_when_qbsync_database_url_is_unset():
    heroku = "postgres://user:pw@db.example.com:5432/d1"
    assert load_settings({"DATABASE_URL": heroku}).database_url == (
        "postgresql+psycopg://user:pw@db.example.com:5432/d1"
    )
    ours = "sqlite:///ours.db"
    both = {"DATABASE_URL": heroku, "QBSYNC_DATABASE_URL": ours}
    assert load_settings(both).database_url == ours
