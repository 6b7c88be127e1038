"""jsforce, run by Node over real HTTPS against the Salesforce emulator (issue 14).

The checks live in jsforce_suite.cjs; this test starts the emulator, runs the suite, prints its
counts and fails with every check that failed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conformance.salesforce.clients import node_binary, node_env
from tests.support.paths import REPO_ROOT

SUITE = Path(__file__).with_name("jsforce_suite.cjs")
EXPECTED_CHECKS = 27  # a suite that silently ran fewer checks must not pass


def test_jsforce_against_the_salesforce_emulator(salesforce_emulator, capsys):
    env = node_env(salesforce_emulator.ca_path) | {
        "SF_BASE_URL": salesforce_emulator.base_url,
        "SF_CLIENT_ID": salesforce_emulator.client_id,
        # The suite checks the client's protocol on Account, Product2 and Contact, not the
        # package's permissions (tests/sandbox/test_salesforce_permissions.py): full access.
        "SF_USERNAME": salesforce_emulator.sysadmin,
        "SF_KEY_FILE": str(salesforce_emulator.key_file),
    }
    completed = subprocess.run(  # noqa: S603 - our own suite, argv without a shell
        [node_binary(), str(SUITE)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    passed, failed = results["passed"], results["failed"]
    with capsys.disabled():
        print(f"\njsforce conformance: {len(passed)} passed, {len(failed)} failed")
    assert not failed, "\n".join(f"{f['name']}: {f['error']}" for f in failed)
    assert len(passed) == EXPECTED_CHECKS
