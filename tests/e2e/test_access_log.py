"""`qbsync serve`'s access log keeps the OAuth callback's query out (issue 15, item 4).

Real gunicorn, started by `qbsync serve` with its configuration file, on 127.0.0.1; the callback
is called as Intuit's redirect would call it (`?code=…&state=…&realmId=…`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import requests
from cryptography.fernet import Fernet

pytestmark = pytest.mark.e2e

CODE = "AB11700000000secret-authorization-code"
STATE = "secret-state-value"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_callback_query_never_reaches_the_access_log(tmp_path):
    port = free_port()
    environ = {
        **os.environ,
        "QBSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'qbsync.db'}",
        "QBSYNC_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "INTUIT_WEBHOOK_VERIFIER_TOKEN": "verifier",
        "INTUIT_ENVIRONMENT": "sandbox",
    }
    stdout = tmp_path / "stdout.log"
    with stdout.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "qbsync.cli", "serve", "--bind", f"127.0.0.1:{port}"],
            env=environ,
            stdout=out,
            stderr=subprocess.PIPE,
        )
    try:
        # Gunicorn says when a worker is up; wait for that line, not for a time.
        started = b""
        while b"Booting worker" not in started:
            line = server.stderr.readline()
            assert line, f"gunicorn ended: {started.decode()}"
            started += line
        url = f"http://127.0.0.1:{port}/oauth/quickbooks/callback"
        response = requests.get(
            url, params={"code": CODE, "state": STATE, "realmId": "9341455130166501"}, timeout=10
        )
        assert response.status_code == 400  # the state is not one the middleware issued
    finally:
        server.terminate()
        _, rest = server.communicate(timeout=30)
    access = stdout.read_text()
    assert '"GET /oauth/quickbooks/callback HTTP/1.1" 400' in access
    everything = access + (started + rest).decode()
    assert CODE not in everything and STATE not in everything
