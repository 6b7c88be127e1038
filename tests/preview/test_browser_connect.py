"""Step 1 of the setup in Chromium on the whole sandbox: a fresh Stack with no company connected,
the admin clicks Connect to QuickBooks in the QB Setup preview, the consent window runs the real
OAuth flow (QuickBooks emulator → middleware callback), the card shows Connected; then Disconnect,
confirmed, revokes the grant. Runs preview/e2e/connect.test.mjs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qbsync_sandbox.stack import Stack

from .sandbox_browser import run_e2e_spec, screenshot_dir

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def unconnected_sandbox(tmp_path: Path) -> Iterator[Stack]:
    with Stack(tmp_path / "sandbox").running() as stack:
        yield stack


def _listed_realms(stack: Stack) -> list[str]:
    response = stack.api("GET", "/api/connections")
    assert response.status_code == 200, response.text
    return [connection["realmId"] for connection in response.json()["connections"]]


def _grants(stack: Stack) -> list[dict]:
    """The QuickBooks emulator's OAuth grants (summaries, never the tokens)."""
    return stack.qbo("GET", "/oauth")["grants"]


def test_admin_connects_and_disconnects_in_the_browser(
    unconnected_sandbox: Stack, tmp_path: Path
) -> None:
    stack = unconnected_sandbox
    assert _listed_realms(stack) == []
    assert _grants(stack) == []
    shots = screenshot_dir(tmp_path)

    run_e2e_spec(stack, "e2e/connect.test.mjs", shots, timeout=120)

    # The browser's consent made one grant at Intuit; Disconnect revoked it and the middleware
    # forgot the tokens.
    grants = _grants(stack)
    assert [(g["realmId"], g["revoked"]) for g in grants] == [(stack.realm_id, True)]
    assert stack.realm_id not in _listed_realms(stack)
    for name in ("connect-before", "connect-after"):
        assert (shots / f"{name}.png").stat().st_size > 10_000, f"{name}.png missing"
