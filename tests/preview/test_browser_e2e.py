"""The admin's steps in Chromium against the whole sandbox: both emulators, gunicorn and the worker
as real processes (qbsync.sandbox.stack.Stack), the company connected through the real OAuth flow,
the preview logged in to the Salesforce emulator as the middleware is (JWT bearer) and notifying
the middleware of configuration changes with its API key. Runs preview/e2e/*.test.mjs."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from qbsync.sandbox.preview import serve_in_thread
from qbsync.sandbox.stack import Stack

from .test_browser import CHROMIUM, PREVIEW_DIR, ensure_bundle, node_binary

pytestmark = pytest.mark.e2e


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path / "sandbox")
    stack.start()
    try:
        stack.connect()
        yield stack
    except BaseException:
        for name in stack.processes:
            print(f"--- {name} log ---\n{stack.log_path(name).read_text()[-4000:]}")
        raise
    finally:
        stack.stop()


def test_customer_arrives_after_the_admin_enables_it(sandbox: Stack, tmp_path: Path) -> None:
    node = node_binary()
    ensure_bundle()
    server, preview_url = serve_in_thread(sandbox.preview_app())
    try:
        env = {
            **os.environ,
            "PREVIEW_URL": preview_url,
            "SALESFORCE_URL": sandbox.sf_url,
            "NODE_EXTRA_CA_CERTS": str(sandbox.ca_path),
            "QBO_URL": sandbox.qbo_url,
            "REALM_ID": sandbox.realm_id,
            "COMPANY_NAME": sandbox.company_name,
            "SCREENSHOT_DIR": os.environ.get("QBSYNC_SCREENSHOT_DIR") or str(tmp_path / "shots"),
            "CHROMIUM": CHROMIUM,
        }
        run = subprocess.run(
            [node, "--test", "--test-reporter=spec", "e2e/"],
            cwd=PREVIEW_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        server.shutdown()
    print(run.stdout[-20000:])
    assert run.returncode == 0, (
        f"browser tests failed:\n{run.stdout[-15000:]}\n{run.stderr[-5000:]}"
    )
