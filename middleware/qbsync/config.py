"""The one place that reads the environment.

Every setting is documented in docs/operating.md and `.env.example`. A missing or malformed
setting stops start-up with one `ConfigError` naming the variable.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlparse

# Intuit's published endpoints (research/quickbooks.md §4, §5: discovery documents).
INTUIT_ENDPOINTS = {
    "sandbox": {
        "api": "https://sandbox-quickbooks.api.intuit.com",
        "auth": "https://appcenter.intuit.com/connect/oauth2",
        "token": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        "revoke": "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
    },
    "production": {
        "api": "https://quickbooks.api.intuit.com",
        "auth": "https://appcenter.intuit.com/connect/oauth2",
        "token": "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
        "revoke": "https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
    },
}


# A server that does not accept the connection within this is not going to.
CONNECT_TIMEOUT_SECONDS = 5

# CDC returns changes of the last 30 days (research quickbooks.md §3): an applied version is
# kept a day longer (qbsync.store.purge).
MIN_VERSION_DAYS = 31

# The shared key of /api/*: 32 characters of `secrets.token_urlsafe` carry 192 bits.
MIN_API_KEY_LENGTH = 32
# The only hosts an Intuit or redirect URL may name over plain http: this machine (the
# emulator); anywhere else the client secret and the tokens would travel in clear.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Settings attribute -> the variable that sets it, for the checks made on Settings itself.
_URL_VARIABLES = {
    "intuit_redirect_uri": "INTUIT_REDIRECT_URI",
    "intuit_api_base_url": "INTUIT_API_BASE_URL",
    "intuit_auth_url": "INTUIT_AUTH_URL",
    "intuit_token_url": "INTUIT_TOKEN_URL",
    "intuit_revoke_url": "INTUIT_REVOKE_URL",
}


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    # Secrets (and a database URL, which may hold a password) stay out of the repr.
    database_url: str = field(default="sqlite:///qbsync.db", repr=False)
    encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    api_key: str = field(default="", repr=False)
    intuit_client_id: str = ""
    intuit_client_secret: str = field(default="", repr=False)
    intuit_redirect_uri: str = ""
    intuit_webhook_verifier_token: str = field(default="", repr=False)
    intuit_environment: str = "production"
    intuit_api_base_url: str = ""
    intuit_auth_url: str = ""
    intuit_token_url: str = ""
    intuit_revoke_url: str = ""
    salesforce_login_url: str = "https://login.salesforce.com"
    salesforce_client_id: str = ""
    salesforce_username: str = ""
    salesforce_private_key_file: str = ""
    salesforce_client_secret: str = field(default="", repr=False)
    salesforce_api_version: str = "66.0"
    # Lightning origins allowed to start a connect and receive its outcome (callback page).
    salesforce_origins: tuple[str, ...] = ()
    # Tuning (defaults suit production; tests shrink them).
    max_body_bytes: int = 2 * 1024 * 1024
    worker_batch_size: int = 500
    worker_poll_seconds: float = 2.0
    worker_write_lanes: int = 4
    lease_seconds: int = 120
    # A historical sync of at least this many records writes through Bulk API 2.0 ingest jobs of
    # 10,000 records; a smaller one through sObject Collections (qbsync.backfill). A Collections
    # call takes 200 records and answers at once; a Bulk job costs about 8 calls (create, upload,
    # close, polls, three result reads) and a wait while Salesforce processes it asynchronously,
    # so it only saves calls well above 8 × 200 records, and 5,000 (25 Collections calls) is
    # where the saving is worth the wait.
    backfill_bulk_threshold: int = 5000
    max_attempts: int = 12  # 2 s backoff doubling to 10 min, jittered: ~20–40 min of outage
    config_ttl_seconds: int = 60
    reconcile_interval_seconds: int = 900
    # Intuit's refresh tokens expire after 100 days without use (research quickbooks.md §5): a
    # company whose token has not been used for this many days is refreshed by the worker.
    token_keepalive_days: int = 30
    # Intuit: "HTTP Status Code 429 ... wait 60 seconds" (research quickbooks.md §4); the same
    # wait holds a realm whose company is not Connected.
    realm_wait_seconds: float = 60
    # Read timeouts of one HTTP call (the connect timeout is 5 s): QuickBooks API and OAuth, and
    # Salesforce REST and login.
    quickbooks_timeout_seconds: float = 30
    salesforce_timeout_seconds: float = 60
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one JSON object per line (qbsync.logs)
    # Observability (qbsync.metrics, qbsync.health). `/metrics` answers only a caller with this
    # bearer token; without one it is off.
    metrics_token: str = field(default="", repr=False)
    # Where gunicorn's workers keep their metric files; `qbsync serve` makes a fresh directory
    # when unset, and empties this one at start.
    metrics_dir: str = ""
    # host:port of the worker's /healthz, /readyz and /metrics; off when empty.
    worker_health_bind: str = ""
    # Purging (qbsync.store.purge): ages in days, and the worker's interval between passes.
    purge_events_days: int = 30
    purge_quarantine_days: int = 90
    purge_versions_days: int = 90
    purge_oauth_states_days: int = 1
    purge_interval_seconds: int = 3600
    # Alerts to the admins (qbsync.alerts): a refresh token this many days or fewer from its hard
    # expiry, this many failures in the last hour, and the worker's interval between checks.
    alert_token_expiry_days: int = 14
    alert_failures_per_hour: int = 10
    alert_interval_seconds: int = 60
    # Periodic work (reconciliation, purges, alerts, revocations) runs in the one worker holding
    # the deployment's lease (qbsync.periodic); a dead holder's lease is taken over after this.
    periodic_lease_seconds: int = 30

    def __post_init__(self) -> None:
        # Fill the Intuit URLs from the environment name unless overridden.
        defaults = INTUIT_ENDPOINTS.get(self.intuit_environment)
        if defaults is None:
            raise ConfigError(
                f"INTUIT_ENVIRONMENT must be 'sandbox' or 'production', got {self.intuit_environment!r}"
            )
        for attr, key in (
            ("intuit_api_base_url", "api"),
            ("intuit_auth_url", "auth"),
            ("intuit_token_url", "token"),
            ("intuit_revoke_url", "revoke"),
        ):
            if not getattr(self, attr):
                object.__setattr__(self, attr, defaults[key])
        if self.api_key and len(self.api_key) < MIN_API_KEY_LENGTH:
            raise ConfigError(
                f"QBSYNC_API_KEY has {len(self.api_key)} characters; at least "
                f"{MIN_API_KEY_LENGTH} are required (make one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        for attr, variable in _URL_VARIABLES.items():
            _check_transport(getattr(self, attr), variable)

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)

    @property
    def quickbooks_timeout(self) -> tuple[float, float]:
        """(connect, read) seconds for one QuickBooks call, as requests takes them."""
        return (CONNECT_TIMEOUT_SECONDS, self.quickbooks_timeout_seconds)

    @property
    def salesforce_timeout(self) -> tuple[float, float]:
        """(connect, read) seconds for one Salesforce call, as requests takes them."""
        return (CONNECT_TIMEOUT_SECONDS, self.salesforce_timeout_seconds)

    @property
    def salesforce_auth_flow(self) -> str:
        """'jwt' when a private key is configured, else 'client_credentials'."""
        return "jwt" if self.salesforce_private_key_file else "client_credentials"


# Environment variable → (Settings attribute, parser).
def _text(value: str, name: str) -> str:
    return value.strip()


def _https_url(value: str, name: str) -> str:
    parsed = urlparse(value.strip())
    if parsed.scheme != "https" or not parsed.netloc:
        raise ConfigError(f"{name} must be an https:// URL, got {value!r}")
    return value.strip().rstrip("/")


def _http_url(value: str, name: str) -> str:
    parsed = urlparse(value.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name} must be an http(s):// URL, got {value!r}")
    return value.strip().rstrip("/")


def _check_transport(url: str, variable: str) -> None:
    """https, or plain http to this machine only."""
    if not url:
        return
    parsed = urlparse(url)
    if parsed.scheme == "https" or (parsed.scheme == "http" and parsed.hostname in LOOPBACK_HOSTS):
        return
    raise ConfigError(
        f"{variable} must be an https:// URL (http:// only for 127.0.0.1 or localhost), got {url!r}"
    )


def redacted_database_url(url: str) -> str:
    """`url` with its password masked, for any message that names the database."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(a value that is not a database URL)"


# The spellings hosting platforms hand out for PostgreSQL; the middleware's driver is psycopg 3.
_POSTGRES_ALIASES = frozenset({"postgres", "postgresql"})


def web_origin(value: str) -> str | None:
    """`scheme://host[:port]` of an origin, lower-cased; None when `value` is not one.

    https only, except a loopback host (the preview and the emulators serve plain http there).
    An origin has no path, query, fragment or user part.
    """
    parsed = urlparse(value.strip())
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError:  # a port that is not a number
        return None
    loopback = host in LOOPBACK_HOSTS
    if not host or parsed.scheme not in (("http", "https") if loopback else ("https",)):
        return None
    if parsed.path not in ("", "/") or parsed.query or parsed.fragment or parsed.username:
        return None
    return f"{parsed.scheme}://{host}" + (f":{port}" if port else "")


def _origins(value: str, name: str) -> tuple[str, ...]:
    origins = []
    for item in (part.strip() for part in value.split(",")):
        origin = web_origin(item) if item else None
        if origin is None:
            raise ConfigError(
                f"{name} must list origins such as https://mydomain.lightning.force.com, "
                f"separated by commas (http only for 127.0.0.1 or localhost), got {item!r}"
            )
        origins.append(origin)
    return tuple(origins)


def _database_url(value: str, name: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    value = value.strip()
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"{name} is not a database URL; use sqlite:///path/qbsync.db or "
            "postgresql+psycopg://user:password@host/database"
        ) from None
    if url.drivername in _POSTGRES_ALIASES:
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if url.drivername not in ("sqlite", "postgresql+psycopg"):
        raise ConfigError(
            f"{name} must be a sqlite:/// or postgresql+psycopg:// URL, "
            f"got {redacted_database_url(value)!r}"
        )
    return value


def _private_key_file(path: str) -> None:
    """The JWT key file exists and only its owner can read it (as ssh insists for its keys)."""
    if not os.path.isfile(path):
        raise ConfigError(f"SALESFORCE_PRIVATE_KEY_FILE points to {path!r}, which is not a file")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"SALESFORCE_PRIVATE_KEY_FILE {path!r} can be used by other users (mode "
            f"{mode:04o}); make it readable by its owner only: chmod 600 {path}"
        )


def _keys(value: str, name: str) -> tuple[str, ...]:
    from cryptography.fernet import Fernet

    keys = tuple(k.strip() for k in value.split(",") if k.strip())
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ConfigError(
                f"{name} key #{position} is not a Fernet key (32 url-safe base64 bytes); "
                "make one with `qbsync keygen`"
            ) from None
    return keys


def _api_version(value: str, name: str) -> str:
    value = value.strip()
    major, dot, minor = value.partition(".")
    if not (major.isdigit() and dot and minor.isdigit()):
        raise ConfigError(f"{name} must look like 66.0, got {value!r}")
    return value


def _environment(value: str, name: str) -> str:
    value = value.strip().lower()
    if value not in INTUIT_ENDPOINTS:
        raise ConfigError(f"{name} must be 'sandbox' or 'production', got {value!r}")
    return value


def _positive_int(value: str, name: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{name} must be greater than 0, got {value!r}")
    return number


def _keepalive_days(value: str, name: str) -> int:
    number = _positive_int(value, name)
    if number >= 100:
        raise ConfigError(
            f"{name} must be under 100 (Intuit's refresh tokens expire after 100 days "
            f"without use), got {value!r}"
        )
    return number


def _positive_float(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{name} must be greater than 0, got {value!r}")
    return number


def _version_days(value: str, name: str) -> int:
    days = _positive_int(value, name)
    if days < MIN_VERSION_DAYS:
        raise ConfigError(
            f"{name} must be at least {MIN_VERSION_DAYS}: CDC returns changes of the last 30 "
            f"days, and their applied versions keep reconciliation from enqueuing them again; "
            f"got {value!r}"
        )
    return days


def _log_format(value: str, name: str) -> str:
    form = value.strip().lower()
    if form not in ("text", "json"):
        raise ConfigError(f"{name} must be text or json, got {value!r}")
    return form


def _metrics_token(value: str, name: str) -> str:
    value = value.strip()
    if len(value) < MIN_API_KEY_LENGTH:
        raise ConfigError(
            f"{name} has {len(value)} characters; at least {MIN_API_KEY_LENGTH} are required "
            "(make one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    return value


def _bind(value: str, name: str) -> str:
    host, colon, port = value.strip().rpartition(":")
    if not (colon and host and port.isdigit() and 0 < int(port) < 65536):
        raise ConfigError(f"{name} must be host:port, such as 127.0.0.1:9101, got {value!r}")
    return value.strip()


def _log_level(value: str, name: str) -> str:
    level = value.strip().upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"{name} must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {value!r}")
    return level


ENVIRONMENT = {
    "QBSYNC_DATABASE_URL": ("database_url", _database_url),
    "QBSYNC_ENCRYPTION_KEY": ("encryption_keys", _keys),
    "QBSYNC_API_KEY": ("api_key", _text),
    "INTUIT_CLIENT_ID": ("intuit_client_id", _text),
    "INTUIT_CLIENT_SECRET": ("intuit_client_secret", _text),
    "INTUIT_REDIRECT_URI": ("intuit_redirect_uri", _http_url),
    "INTUIT_WEBHOOK_VERIFIER_TOKEN": ("intuit_webhook_verifier_token", _text),
    "INTUIT_ENVIRONMENT": ("intuit_environment", _environment),
    "INTUIT_API_BASE_URL": ("intuit_api_base_url", _http_url),
    "INTUIT_AUTH_URL": ("intuit_auth_url", _http_url),
    "INTUIT_TOKEN_URL": ("intuit_token_url", _http_url),
    "INTUIT_REVOKE_URL": ("intuit_revoke_url", _http_url),
    "SALESFORCE_LOGIN_URL": ("salesforce_login_url", _https_url),
    "SALESFORCE_CLIENT_ID": ("salesforce_client_id", _text),
    "SALESFORCE_USERNAME": ("salesforce_username", _text),
    "SALESFORCE_PRIVATE_KEY_FILE": ("salesforce_private_key_file", _text),
    "SALESFORCE_CLIENT_SECRET": ("salesforce_client_secret", _text),
    "SALESFORCE_API_VERSION": ("salesforce_api_version", _api_version),
    "QBSYNC_SALESFORCE_ORIGINS": ("salesforce_origins", _origins),
    "QBSYNC_MAX_BODY_BYTES": ("max_body_bytes", _positive_int),
    "QBSYNC_WORKER_BATCH_SIZE": ("worker_batch_size", _positive_int),
    "QBSYNC_WORKER_POLL_SECONDS": ("worker_poll_seconds", _positive_float),
    "QBSYNC_WORKER_WRITE_LANES": ("worker_write_lanes", _positive_int),
    "QBSYNC_LEASE_SECONDS": ("lease_seconds", _positive_int),
    "QBSYNC_BACKFILL_BULK_THRESHOLD": ("backfill_bulk_threshold", _positive_int),
    "QBSYNC_MAX_ATTEMPTS": ("max_attempts", _positive_int),
    "QBSYNC_CONFIG_TTL_SECONDS": ("config_ttl_seconds", _positive_int),
    "QBSYNC_RECONCILE_SECONDS": ("reconcile_interval_seconds", _positive_int),
    "QBSYNC_TOKEN_KEEPALIVE_DAYS": ("token_keepalive_days", _keepalive_days),
    "QBSYNC_REALM_WAIT_SECONDS": ("realm_wait_seconds", _positive_float),
    "QBSYNC_QUICKBOOKS_TIMEOUT_SECONDS": ("quickbooks_timeout_seconds", _positive_float),
    "QBSYNC_SALESFORCE_TIMEOUT_SECONDS": ("salesforce_timeout_seconds", _positive_float),
    "QBSYNC_LOG_LEVEL": ("log_level", _log_level),
    "QBSYNC_LOG_FORMAT": ("log_format", _log_format),
    "QBSYNC_METRICS_TOKEN": ("metrics_token", _metrics_token),
    "PROMETHEUS_MULTIPROC_DIR": ("metrics_dir", _text),
    "QBSYNC_WORKER_HEALTH_BIND": ("worker_health_bind", _bind),
    "QBSYNC_PURGE_EVENTS_DAYS": ("purge_events_days", _positive_int),
    "QBSYNC_PURGE_QUARANTINE_DAYS": ("purge_quarantine_days", _positive_int),
    "QBSYNC_PURGE_VERSIONS_DAYS": ("purge_versions_days", _version_days),
    "QBSYNC_PURGE_OAUTH_STATES_DAYS": ("purge_oauth_states_days", _positive_int),
    "QBSYNC_PURGE_INTERVAL_SECONDS": ("purge_interval_seconds", _positive_int),
    "QBSYNC_ALERT_TOKEN_EXPIRY_DAYS": ("alert_token_expiry_days", _positive_int),
    "QBSYNC_ALERT_FAILURES_PER_HOUR": ("alert_failures_per_hour", _positive_int),
    "QBSYNC_PERIODIC_LEASE_SECONDS": ("periodic_lease_seconds", _positive_int),
    "QBSYNC_ALERT_INTERVAL_SECONDS": ("alert_interval_seconds", _positive_int),
}

# What each process cannot start without.
REQUIRED = {
    "web": ("QBSYNC_ENCRYPTION_KEY", "INTUIT_WEBHOOK_VERIFIER_TOKEN"),
    "worker": (
        "QBSYNC_ENCRYPTION_KEY",
        "INTUIT_CLIENT_ID",
        "INTUIT_CLIENT_SECRET",
        "SALESFORCE_LOGIN_URL",
        "SALESFORCE_CLIENT_ID",
    ),
}


def load_settings(environ: Mapping[str, str] | None = None, role: str | None = None) -> Settings:
    """Read settings from `environ` (default: os.environ).

    `role` ('web' or 'worker') adds the variables that process cannot run without.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for variable, (attr, parse) in ENVIRONMENT.items():
        raw = environ.get(variable)
        if raw is None or raw.strip() == "":
            continue
        values[attr] = parse(raw, variable)
    if "database_url" not in values and environ.get("DATABASE_URL", "").strip():
        # The variable Heroku Postgres (and other platforms' databases) set, when ours is not.
        values["database_url"] = _database_url(environ["DATABASE_URL"], "DATABASE_URL")
    for variable in REQUIRED.get(role or "", ()):
        if not environ.get(variable, "").strip():
            raise ConfigError(
                f"{variable} is required but not set (see docs/operating.md, Configuration)"
            )
    if role == "worker" and not (
        environ.get("SALESFORCE_PRIVATE_KEY_FILE") or environ.get("SALESFORCE_CLIENT_SECRET")
    ):
        raise ConfigError(
            "SALESFORCE_PRIVATE_KEY_FILE (JWT bearer flow) or SALESFORCE_CLIENT_SECRET "
            "(client credentials flow) is required but neither is set"
        )
    if role == "worker" and environ.get("SALESFORCE_PRIVATE_KEY_FILE"):
        for variable in ("SALESFORCE_USERNAME",):
            if not environ.get(variable, "").strip():
                raise ConfigError(f"{variable} is required for the JWT bearer flow but not set")
        _private_key_file(environ["SALESFORCE_PRIVATE_KEY_FILE"])
    return Settings(**values)
