"""Browser tests on the whole sandbox: a running `Stack` and one preview/e2e spec run against it.

Shared by the end-to-end browser drivers (test_browser_e2e.py, test_browser_connect.py): each
starts its own Stack (both emulators, gunicorn and the worker as real processes), serves the QB
Setup preview wired to it (`Stack.preview_app`), and runs one spec file with node's test runner,
so a spec only ever sees the sandbox state its own driver prepared.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from qbsync_sandbox.stack import SF_ADMIN_USERNAME, Stack

from .test_browser import CHROMIUM, PREVIEW_DIR, ensure_bundle, node_binary


def screenshot_dir(tmp_path: Path) -> Path:
    """Where the browser tests save screenshots: $QBSYNC_SCREENSHOT_DIR (./scripts/screenshots)."""
    return Path(os.environ.get("QBSYNC_SCREENSHOT_DIR") or tmp_path / "shots")


def run_e2e_spec(stack: Stack, spec: str, screenshots: Path, *, timeout: float = 600) -> str:
    """Run preview/`spec` in Chromium against `stack`; fails with node's report and the logs.

    The spec gets the preview's and both emulators' URLs, the middleware's URL, the emulated
    company's realm id and name. Returns node's report.
    """
    node = node_binary()
    ensure_bundle()
    server, preview_url = stack.serve_preview(), stack.preview_url
    try:
        env = {
            **os.environ,
            "PREVIEW_URL": preview_url,
            "SALESFORCE_URL": stack.sf_url,
            "SALESFORCE_ADMIN_USERNAME": SF_ADMIN_USERNAME,
            # Node reads extra CAs only at start: the emulator's CA for the specs' own API calls.
            "NODE_EXTRA_CA_CERTS": str(stack.ca_path),
            "QBO_URL": stack.qbo_url,
            "MIDDLEWARE_URL": stack.web_url,
            "REALM_ID": stack.realm_id,
            "COMPANY_NAME": stack.company_name,
            "SCREENSHOT_DIR": str(screenshots),
            "CHROMIUM": CHROMIUM,
        }
        run = subprocess.run(
            [node, "--test", "--test-reporter=spec", spec],
            cwd=PREVIEW_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    finally:
        server.shutdown()
    print(run.stdout[-20000:])
    assert run.returncode == 0, (
        f"browser tests failed:\n{run.stdout[-15000:]}\n{run.stderr[-5000:]}\n{stack.log_tails()}"
    )
    return run.stdout
