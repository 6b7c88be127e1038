"""Slow and stalled clients cannot keep a signed webhook from its 200 (issue 20, item 1).

`qbsync serve` is started as docs/operating.md starts it (`--workers 4`, on 127.0.0.1 here). A pool of
300 connections that send part of a request's headers and then nothing is kept open (a closed one
is opened again at once, as an attacker would); meanwhile signed webhooks are POSTed one after the
other, until the server has dropped the first 300 at its header deadline (gunicorn's keepalive)
and the pool has replaced them. Each webhook must be answered 200 within Intuit's 3 s (a 10 s
client timeout tells a hang from a slow answer); the latencies are printed. With gunicorn's sync workers, four such connections held
every worker for its 30 s timeout.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid

import pytest
import requests
from cryptography.fernet import Fernet

from qbsync.webhooks.signature import sign
from qbsync_sandbox.stalls import StalledPool

pytestmark = pytest.mark.e2e

STALLED = 300
WEBHOOKS = 20
VERIFIER = "stall-verifier"
REALM = "9341455130166501"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def signed_webhook(number: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        [
            {
                "specversion": "1.0",
                "id": str(uuid.uuid4()),
                "source": "intuit.stall-test",
                "type": "qbo.customer.updated.v1",
                "datacontenttype": "application/json",
                "time": "2026-01-01T00:00:00Z",
                "intuitentityid": str(number),
                "intuitaccountid": REALM,
                "data": {},
            }
        ]
    ).encode()
    return body, {"intuit-signature": sign(body, VERIFIER), "Content-Type": "application/json"}


@pytest.fixture
def served(tmp_path):
    port = free_port()
    environ = {
        **os.environ,
        "QBSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'qbsync.db'}",
        "QBSYNC_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "INTUIT_WEBHOOK_VERIFIER_TOKEN": VERIFIER,
        "INTUIT_ENVIRONMENT": "sandbox",
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "qbsync.cli", "serve"]
            + ["--bind", f"127.0.0.1:{port}", "--workers", "4"],
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                    break
            except (requests.ConnectionError, requests.Timeout):  # the workers are still booting
                pass
            assert time.monotonic() < deadline, f"qbsync serve did not answer:\n{log.read_text()}"
            time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_stalled_connections_do_not_delay_signed_webhooks(served):
    latencies = []
    with StalledPool("127.0.0.1", served, STALLED) as pool, requests.Session() as session:
        # Until the server has dropped every first stalled connection (its header deadline) and
        # the pool has opened as many again, and at least WEBHOOKS were answered; bounded in time.
        deadline = time.monotonic() + 30
        number = 0
        while (
            len(latencies) < WEBHOOKS
            or pool.closed_by_server < STALLED
            or pool.opened < 2 * STALLED
        ):
            assert time.monotonic() < deadline, (
                f"after 30 s the server had closed {pool.closed_by_server} stalled connections "
                f"and the pool had opened {pool.opened}"
            )
            body, headers = signed_webhook(number := number + 1)
            started = time.monotonic()
            response = session.post(
                f"http://127.0.0.1:{served}/webhooks/quickbooks",
                data=body,
                headers=headers,
                timeout=10,
            )
            latencies.append(time.monotonic() - started)
            assert response.status_code == 200, response.text
            assert response.json()["stored"] == 1
    print(
        f"\nwebhook 200 with {STALLED} stalled connections held: "
        f"median {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms over {len(latencies)} webhooks "
        f"({pool.opened} stalled connections opened, {pool.closed_by_server} closed by the server)"
    )
    # Intuit wants the 200 within 3 s (research/quickbooks.md §3); the goal is well under 1 s.
    assert max(latencies) < 3, latencies
