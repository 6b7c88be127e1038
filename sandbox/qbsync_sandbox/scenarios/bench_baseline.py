"""`./scripts/bench --baseline`: the per-event connector the product is compared with (issue 19).

Typical connectors handle a webhook event by itself: one QuickBooks read of the changed record,
then one single-record Salesforce upsert. `PerEventConnector` does exactly that, in the sandbox
only: it claims the events the web process stored in the ledger one at a time (the product's
worker is stopped meanwhile), so both modes drain the same deliveries and are measured side by
side. It holds its own OAuth grant (the emulator's consent approves at once) and keeps inside
Intuit's per-realm limits of 500 requests a minute and 10 a second with a sliding window, as a
well-behaved connector must; at 500 reads a minute, 10,000 events take at least 20 minutes.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlparse

import requests
from simple_salesforce import Salesforce

from qbsync.salesforce.schema import external_id
from qbsync.store import Store
from qbsync_sandbox.stack import Stack, StackError

# Intuit's per-realm throttles (docs/performance.md, "Intuit's limits").
READS_PER_MINUTE = 500
READS_PER_SECOND = 10
MINOR_VERSION = 75


class SlidingWindow:
    """At most `limit` acquisitions in any `seconds`; `acquire` waits for room."""

    def __init__(self, limit: int, seconds: float) -> None:
        self._limit, self._seconds = limit, seconds
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                while self._times and now - self._times[0] >= self._seconds:
                    self._times.popleft()
                if len(self._times) < self._limit:
                    self._times.append(now)
                    return
                wait = self._seconds - (now - self._times[0])
            time.sleep(wait)


def _access_token(stack: Stack) -> str:
    """An OAuth grant of the baseline's own, through the emulator's auto-consent."""
    env = stack.middleware_env
    consent = requests.get(
        env["INTUIT_AUTH_URL"],
        params={
            "client_id": stack.intuit_client_id,
            "redirect_uri": env["INTUIT_REDIRECT_URI"],
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "state": "baseline",
        },
        allow_redirects=False,
        timeout=10,
    )
    code = parse_qs(urlparse(consent.headers.get("Location", "")).query).get("code")
    if not code:
        raise StackError(f"baseline consent gave no code ({consent.status_code})")
    token = requests.post(
        env["INTUIT_TOKEN_URL"],
        data={
            "grant_type": "authorization_code",
            "code": code[0],
            "redirect_uri": env["INTUIT_REDIRECT_URI"],
        },
        auth=(stack.intuit_client_id, stack.intuit_client_secret),
        timeout=10,
    )
    token.raise_for_status()
    return token.json()["access_token"]


class PerEventConnector:
    """One QuickBooks read and one single-record Salesforce upsert per ledger event."""

    def __init__(self, stack: Stack, sf: Salesforce, concurrency: int = 4) -> None:
        self._stack, self._sf, self._concurrency = stack, sf, concurrency
        self._ledger = Store.open(stack.middleware_env["QBSYNC_DATABASE_URL"]).events
        self._session = requests.Session()
        self._session.headers.update(
            {"Authorization": f"Bearer {_access_token(stack)}", "Accept": "application/json"}
        )
        # The emulator counts a request when it arrives, after the injected latency, whose
        # scheduling jitter can put 11 of ours in its one second: pace with a margin.
        self._windows = (
            SlidingWindow(READS_PER_MINUTE, 61.0),
            SlidingWindow(READS_PER_SECOND, 1.25),
        )
        self._lock = threading.Lock()
        self.quickbooks_reads = 0
        self.salesforce_calls = 0
        self.throttled = 0
        self.handled = 0

    def _read(self, realm_id: str, entity: str, entity_id: str) -> dict:
        url = f"{self._stack.qbo_url}/v3/company/{realm_id}/{entity.lower()}/{entity_id}"
        while True:
            for window in self._windows:
                window.acquire()
            response = self._session.get(url, params={"minorversion": MINOR_VERSION}, timeout=30)
            with self._lock:
                self.quickbooks_reads += 1
            if response.status_code != 429:
                response.raise_for_status()
                return response.json()[entity]
            with self._lock:
                self.throttled += 1
            time.sleep(60)  # Intuit: wait a minute after a 429

    def _handle_one(self) -> bool:
        claimed = self._ledger.claim("baseline", limit=1, lease_seconds=120)
        if not claimed:
            return False
        event = claimed[0]
        customer = self._read(event.realm_id, event.entity, event.entity_id)
        key = external_id(event.realm_id, event.entity, event.entity_id)
        self._sf.Account.upsert(f"QB_External_Id__c/{key}", {"Name": customer["DisplayName"]})
        self._ledger.mark_done([event.id], "baseline")
        with self._lock:
            self.salesforce_calls += 1
            self.handled += 1
        return True

    def drain(self, events: int, timeout: float) -> None:
        """Handle events until `events` are done (the deliveries may still be arriving)."""
        deadline = time.monotonic() + timeout

        def loop() -> None:
            while self.handled < events:
                if time.monotonic() > deadline:
                    raise StackError(f"baseline handled {self.handled} of {events} in time")
                if not self._handle_one():
                    time.sleep(0.01)  # nothing claimable yet: deliveries still arriving

        with ThreadPoolExecutor(self._concurrency) as pool:
            for future in [pool.submit(loop) for _ in range(self._concurrency)]:
                future.result()
