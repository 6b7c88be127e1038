"""The admin's steps in a real browser: runs preview/tests/*.test.mjs (playwright-core driving
Debian's Chromium) against the preview server and the Salesforce emulator started here.

Screenshots go to a temporary folder, or to $QBSYNC_SCREENSHOT_DIR (./scripts/screenshots sets
docs/screenshots). The bundle is rebuilt with ./scripts/preview-build when it is missing or older
than the components, the adapters or the page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ADMIN_USERNAME, REPO_ROOT, PreviewStack

PREVIEW_DIR = REPO_ROOT / "preview"
BUNDLE = PREVIEW_DIR / "dist" / "app.js"
BUNDLE_SOURCES = [
    REPO_ROOT / "force-app" / "main" / "default" / "lwc",
    PREVIEW_DIR / "src",
    PREVIEW_DIR / "adapters",
    PREVIEW_DIR / "rollup.config.mjs",
    PREVIEW_DIR / "salesforceModules.mjs",
    PREVIEW_DIR / "package-lock.json",
]
pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _newest_source_mtime() -> float:
    newest = 0.0
    for source in BUNDLE_SOURCES:
        files = [source] if source.is_file() else [p for p in source.rglob("*") if p.is_file()]
        newest = max([newest, *(f.stat().st_mtime for f in files if "__tests__" not in f.parts)])
    return newest


def ensure_bundle() -> None:
    """Build preview/dist when it is missing or older than its sources."""
    if BUNDLE.is_file() and BUNDLE.stat().st_mtime >= _newest_source_mtime():
        return
    build = subprocess.run(
        [str(REPO_ROOT / "scripts" / "preview-build")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, (
        f"preview build failed:\n{build.stdout[-4000:]}\n{build.stderr[-4000:]}"
    )


def node_binary() -> str:
    """Node for the browser tests; fails (not skips) when it or Chromium is missing."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium")
    node = shutil.which("node")
    assert node, "node (20) is required for the browser tests"
    return node


def test_admin_steps_in_chromium(preview_stack: PreviewStack, tmp_path: Path) -> None:
    node = node_binary()
    ensure_bundle()
    screenshots = os.environ.get("QBSYNC_SCREENSHOT_DIR") or str(tmp_path / "screenshots")
    env = {
        **os.environ,
        "PREVIEW_URL": preview_stack.preview_url,
        "SALESFORCE_URL": preview_stack.salesforce_url,
        "SALESFORCE_ADMIN_USERNAME": ADMIN_USERNAME,
        # Node reads extra CAs only at start: the emulator's CA for the tests' own API calls.
        "NODE_EXTRA_CA_CERTS": str(preview_stack.ca_path),
        "SCREENSHOT_DIR": screenshots,
        "CHROMIUM": CHROMIUM,
    }
    run = subprocess.run(
        [node, "--test", "--test-concurrency=1", "--test-reporter=spec", "tests/"],
        cwd=PREVIEW_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    # The node test runner's own report, visible with `pytest -s` and on failure.
    print(run.stdout[-20000:])
    assert run.returncode == 0, (
        f"browser tests failed:\n{run.stdout[-15000:]}\n{run.stderr[-5000:]}"
    )
    for name in (
        "connection-card",
        "health-strip",
        "object-mapping",
        "field-mapping",
        "line-mapping",
        "realtime-configuration",
    ):
        assert (Path(screenshots) / f"{name}.png").stat().st_size > 10_000, f"{name}.png missing"
