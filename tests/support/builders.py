"""Builders of the values the unit suites need again and again: settings, tokens, samples."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet

from qbsync.config import Settings
from qbsync.quickbooks.tokens import TokenSet
from tests.support.paths import FIXTURES

# An API key of the length start-up requires (at least 32 characters).
API_KEY = "builders-api-key-" + "k" * 24


def settings(**overrides: object) -> Settings:
    """Settings for Intuit's sandbox with a fresh encryption key and an API key; `overrides` as
    Settings takes them."""
    values: dict[str, object] = {
        "intuit_environment": "sandbox",
        "encryption_keys": (Fernet.generate_key().decode(),),
        "api_key": API_KEY,
    }
    values.update(overrides)
    return Settings(**values)


def tokens(
    realm_id: str,
    *,
    access: str = "access",
    refresh: str = "refresh",
    access_expires_at: datetime | None = None,
    refresh_expires_at: datetime | None = None,
) -> TokenSet:
    """A connected company's tokens; the access token is good for an hour unless told otherwise."""
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=access_expires_at or datetime.now(UTC) + timedelta(hours=1),
        refresh_expires_at=refresh_expires_at,
        refresh_hard_expires_at=None,
        realm_id=realm_id,
        environment="sandbox",
    )


def quickbooks_sample(name: str) -> dict:
    """A QuickBooks record from tests/fixtures/quickbooks (see the README there for sources)."""
    return json.loads((FIXTURES / "quickbooks" / f"{name}.json").read_text())
