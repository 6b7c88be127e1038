"""The admin's steps in Chromium against the whole sandbox: both emulators, gunicorn and the worker
as real processes (qbsync_sandbox.stack.Stack), the company connected through the real OAuth flow,
the preview logged in to the Salesforce emulator as the middleware is (JWT bearer) and notifying
the middleware of configuration changes with its API key. Runs preview/e2e/customer-sync.test.mjs
(each preview/e2e spec has its own driver: they need different sandbox states)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qbsync_sandbox.stack import Stack

from .sandbox_browser import run_e2e_spec, screenshot_dir

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Stack]:
    with Stack(tmp_path / "sandbox").running() as stack:
        stack.connect()
        yield stack


def test_customer_arrives_after_the_admin_enables_it(sandbox: Stack, tmp_path: Path) -> None:
    run_e2e_spec(sandbox, "e2e/customer-sync.test.mjs", screenshot_dir(tmp_path))
