"""Intuit's own Python clients pointed at the QuickBooks emulator on 127.0.0.1.

The ONE place that adapts clients we did not write (issue 14): nothing else in the conformance
suite changes their behaviour.

- intuit-oauth (`intuitlib.AuthClient`) reads Intuit's OpenID discovery document in its
  constructor. Its `environment` argument takes a discovery URL besides "sandbox"/"production"
  (`intuitlib.utils.get_discovery_doc`), so it is given the emulator's document: no patch.
- python-quickbooks (`quickbooks.QuickBooks`) builds every URL from `api_url_v3` (production) or
  `sandbox_api_url_v3`, constants pointing at Intuit. The one patch: the instance's `api_url_v3`
  becomes the emulator's `/v3`.
- CA bundle: the emulator serves HTTPS (requests_oauthlib refuses plain HTTP) with a CA made at
  start-up; both clients use `requests`, which trusts the bundle named by `REQUESTS_CA_BUNDLE`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from quickbooks import QuickBooks

DISCOVERY_PATH = "/.well-known/openid_sandbox_configuration/"
MINOR_VERSION = 75  # the floor since 2025-08-01 (research quickbooks.md §4)


def trust(monkeypatch: pytest.MonkeyPatch, ca_path: Path) -> None:
    """Make `requests` (and so both clients) trust the emulator's certificate authority."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_path))


def auth_client(base: str, client_id: str, client_secret: str, redirect_uri: str) -> AuthClient:
    """An `AuthClient` whose endpoints come from the emulator's discovery document."""
    return AuthClient(client_id, client_secret, redirect_uri, environment=base + DISCOVERY_PATH)


def consent(client: AuthClient) -> dict[str, str]:
    """Follow the authorization URL as a browser would; the emulator consents at once.

    Returns the redirect's query (`code`, `state`, `realmId`).
    """
    url = client.get_authorization_url([Scopes.ACCOUNTING])
    response = requests.get(url, allow_redirects=False, timeout=10)
    if response.status_code != 302:
        raise AssertionError(f"authorize answered {response.status_code}: {response.text}")
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    return {key: values[0] for key, values in query.items()}


def quickbooks(
    base: str, client: AuthClient, realm_id: str, refresh_token: str | None = None
) -> QuickBooks:
    """A python-quickbooks client on the emulator's Accounting API.

    With a client that holds no access token yet, python-quickbooks refreshes `refresh_token`
    first, through the AuthClient (its README's flow).
    """
    qb = QuickBooks(
        auth_client=client,
        refresh_token=refresh_token or client.refresh_token,
        company_id=realm_id,
        minorversion=MINOR_VERSION,
    )
    qb.api_url_v3 = base + "/v3"  # the one patch: Intuit's host → the emulator
    return qb
