"""How the real clients are pointed at the emulators on 127.0.0.1: the only patches they get.

jsforce and the Salesforce CLI are Node programs: they trust the emulator's throw-away CA through
NODE_EXTRA_CA_CERTS (Node reads it at start-up into its default trust store) and reach 127.0.0.1
directly (no proxy). The CLI also gets a home of its own and no telemetry, update checks or
release notes, so it never tries to reach the internet.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.support.paths import REPO_ROOT

# The CLI and the Node it needs (22+; the machine has 20) come from the npm registry into this
# folder, installed by scripts/lib/setup.sh (setup_sf_cli) from its package-lock.json.
SF_CLI_DIR = REPO_ROOT / "tests" / "conformance" / "salesforce" / "sf-cli"
SF_CLI_BIN = SF_CLI_DIR / "node_modules" / ".bin"

_PROXIES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def node_env(ca_path: Path) -> dict[str, str]:
    """The environment for a Node client of the emulator: its CA trusted, no proxy."""
    env = {k: v for k, v in os.environ.items() if k not in _PROXIES}
    env["NODE_EXTRA_CA_CERTS"] = str(ca_path)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is required (Node 20): install Node.js first")
    return node


def sf_cli_env(ca_path: Path, home: Path) -> dict[str, str]:
    """`node_env` plus the Salesforce CLI's offline switches and a throw-away home."""
    env = node_env(ca_path)
    env.update(
        {
            "HOME": str(home),
            "PATH": f"{SF_CLI_BIN}{os.pathsep}{env.get('PATH', '')}",  # its Node 22 first
            "SF_DISABLE_TELEMETRY": "true",
            "SF_AUTOUPDATE_DISABLE": "true",
            "SF_HIDE_RELEASE_NOTES": "true",
            "SF_HIDE_RELEASE_NOTES_FOOTER": "true",
            "SF_SKIP_NEW_VERSION_CHECK": "true",
            "SF_DISABLE_AUTOUPDATE": "true",
            "SF_USE_GENERIC_UNIX_KEYCHAIN": "true",  # keys in $HOME, not the desktop keychain
            "SF_LOG_LEVEL": "warn",
        }
    )
    return env
