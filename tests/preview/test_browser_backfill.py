"""Historical sync in Chromium against the whole sandbox (issue 17): both emulators, gunicorn and
the worker as real processes, the company connected through the real OAuth flow. Customers exist
in QuickBooks from before the connection (no webhooks) and Accounts in Salesforce from before the
sync; preview/e2e/backfill.test.mjs starts "Sync existing records" in QB Setup, follows the job's
progress there (docs/screenshots/backfill-progress.png) and resolves the review it leaves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from qbsync_sandbox.stack import Stack

from .sandbox_browser import run_e2e_spec, screenshot_dir

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SYSADMIN = "sysadmin@qbsync.sandbox"
# More than one page of 1,000 (the backfill reads QuickBooks a page at a time).
CUSTOMERS = 1200
SOLO, TWIN = "Solo Traders Ltd", "Twin Peaks Supply"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Stack]:
    with Stack(tmp_path / "sandbox").running() as stack:
        stack.connect()
        names = [f"Existing Customer {n:04d}" for n in range(CUSTOMERS - 2)] + [SOLO, TWIN]
        stack.qbo(
            "POST",
            f"/companies/{stack.realm_id}/Customer/bulk",
            json={"records": [{"DisplayName": name} for name in names], "notify": False},
        )
        typed_in = stack.salesforce(SYSADMIN)
        for name in (SOLO, TWIN, TWIN.upper()):
            typed_in.Account.create({"Name": name})
        yield stack


def test_admin_syncs_existing_customers_and_resolves_a_match(
    sandbox: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BACKFILL_CUSTOMERS", str(CUSTOMERS))
    monkeypatch.setenv("TWIN_NAME", TWIN)
    run_e2e_spec(sandbox, "e2e/backfill.test.mjs", screenshot_dir(tmp_path))
