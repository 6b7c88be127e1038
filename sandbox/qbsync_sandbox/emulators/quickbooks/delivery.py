"""The background deliverer: batches changes into webhooks, signs, posts, retries, misbehaves.

Intuit's behaviour (research §3): the endpoint must answer HTTP 200 within 3 s; otherwise the batch
is resent at once, then after 10 s, 20 s, 30 s, 5 min, 20 min, 2 h, 4 h, 6 h and every 6 h after
that ("0s, 10s, 20s, 30s, 5m, 20m, 2h, 4h, 6h", Intuit's current schedule in
blogs.a.intuit.com/2025/10/14/introducing-enhanced-webhooks-monitoring; the older best-practices
page starts at 10 s), and later events wait until the failing batch is acknowledged
(head-of-line blocking). The schedule here is
the same, multiplied by `retry_scale` so tests do not wait minutes. Optional chaos (seeded):
duplicate deliveries, reordered batches and events, and dropped batches.

When: "For sandbox, webhooks fire near real time. For production, developers can configure ...
1 Minute, 3 Minutes, and 5 Minutes" (research/quickbooks.md, Aggregation). So a queued change
wakes the deliverer and goes out at once by default (`batch_interval` 0, as Intuit's sandbox);
`batch_interval` > 0 waits that long after the first queued change, as production's
aggregation window does (60 for its 1 minute). Changes queued while a notification is in flight
go together in the next one (up to `max_batch`).
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import requests

from qbsync_sandbox.emulators.quickbooks import webhooks
from qbsync_sandbox.emulators.quickbooks.clock import event_time, utc_now
from qbsync_sandbox.emulators.quickbooks.state import Change
from qbsync_sandbox.emulators.quickbooks.webhooks import QueuedEvent

RETRY_SCHEDULE_SECONDS = (0, 10, 20, 30, 300, 1200, 7200, 14400, 21600)  # then 21600 for ever
_MAX_ATTEMPT_LOG = 500


@dataclass
class DeliverySettings:
    """How webhooks are delivered; every field can be changed at run time (admin API)."""

    url: str | None = None
    format: str = "cloudevents"
    # Seconds from the first queued change to its notification; 0: at once, as Intuit's sandbox.
    batch_interval: float = 0.0
    max_batch: int = 100  # "Up to 100 events can be batched in a single webhook notification"
    timeout: float = 3.0  # Intuit wants the 200 within 3 s
    retry_scale: float = 0.01  # 10 s → 0.1 s
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int | None = None
    paused: bool = False
    # Intuit only notifies companies connected to the app, and only about later changes.
    require_connection: bool = True

    def validate(self) -> None:
        if self.format not in webhooks.FORMATS:
            raise ValueError(f"format must be cloudevents or legacy, got {self.format!r}")
        for name in ("duplicate_rate", "reorder_rate", "drop_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if not 1 <= self.max_batch <= 1000:
            raise ValueError("max_batch must be between 1 and 1000")
        if self.batch_interval < 0 or self.timeout <= 0 or self.retry_scale < 0:
            raise ValueError("batch_interval, timeout and retry_scale must be positive")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must be http(s), got {self.url!r}")


def settings_fields() -> set[str]:
    return {f.name for f in fields(DeliverySettings)}


@dataclass
class _Batch:
    number: int
    events: list[QueuedEvent]
    body: bytes
    attempts: int = 0
    retry_at: float | None = None  # time.monotonic() of the next attempt


class Deliverer:
    """Owns the queue and one background thread; `enqueue` is the state's change listener."""

    def __init__(
        self,
        settings: DeliverySettings,
        *,
        verifier_token: str,
        source: str,
        is_connected: Callable[[str], bool],
    ) -> None:
        settings.validate()
        self._settings = settings
        self._verifier_token = verifier_token
        self._source = source
        self._is_connected = is_connected
        self._rng = random.Random(settings.seed)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._queue: deque[QueuedEvent] = deque()
        self._failing: _Batch | None = None  # head of line, waiting for its retry
        self._deferred: _Batch | None = None  # held back to arrive after the next batch
        self._first_queued_at: float | None = None  # time.monotonic(): opens the window
        self._busy = False
        self._batch_numbers = 0
        self._counts = dict.fromkeys(
            ("queued", "unconnected", "batches", "attempts", "failedAttempts", "deliveredEvents",
             "dropped", "duplicated", "reordered"),
            0,
        )  # fmt: skip
        self._attempts: deque[dict[str, Any]] = deque(maxlen=_MAX_ATTEMPT_LOG)
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._run, name="qbo-webhook-deliverer", daemon=True)

    # -- control -----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._session.close()

    def settings(self) -> DeliverySettings:
        with self._lock:
            return DeliverySettings(**asdict(self._settings))

    def configure(self, **changes: Any) -> DeliverySettings:
        """Change settings; unknown names or bad values raise ValueError and change nothing."""
        unknown = set(changes) - settings_fields()
        if unknown:
            raise ValueError(f"unknown delivery setting(s): {', '.join(sorted(unknown))}")
        with self._lock:
            updated = DeliverySettings(**{**asdict(self._settings), **changes})
            updated.validate()
            if "seed" in changes:
                self._rng = random.Random(updated.seed)
            self._settings = updated
        self._wake.set()
        return self.settings()

    def enqueue(self, change: Change) -> None:
        """Queue a change for delivery (called by QboState for every change)."""
        with self._lock:
            if self._settings.require_connection and not self._is_connected(change.realm_id):
                self._counts["unconnected"] += 1
                return
            self._queue.append(webhooks.new_event(change))
            self._counts["queued"] += 1
            if self._first_queued_at is None:
                self._first_queued_at = time.monotonic()
        self._wake.set()

    def idle(self) -> bool:
        """Nothing queued, failing, deferred or in flight."""
        with self._lock:
            return not (self._queue or self._failing or self._deferred or self._busy)

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            self._stop.wait(0.02)
        return self.idle()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                **self._counts,
                "pending": len(self._queue),
                "retrying": None
                if self._failing is None
                else {
                    "batch": self._failing.number,
                    "attempts": self._failing.attempts,
                    "retryInSeconds": None
                    if self._failing.retry_at is None
                    else max(0.0, round(self._failing.retry_at - time.monotonic(), 3)),
                },
                "attemptLog": list(self._attempts),
            }

    # -- the loop ----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._seconds_to_next_step())
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._step()
            finally:
                with self._lock:
                    self._busy = False

    def _seconds_to_next_step(self) -> float | None:
        """How long the loop may sleep; None: until woken (a change, new settings, stop)."""
        with self._lock:
            settings, now = self._settings, time.monotonic()
            if settings.paused or not settings.url:
                return None
            if self._failing is not None:
                return max(0.0, (self._failing.retry_at or now) - now)
            if self._queue:
                return max(0.0, self._window_end(settings) - now)
            if self._deferred is not None:  # nothing to overtake it yet: one window, then alone
                return settings.batch_interval
            return None

    def _window_end(self, settings: DeliverySettings) -> float:
        opened = self._first_queued_at if self._first_queued_at is not None else time.monotonic()
        return opened + settings.batch_interval

    def _step(self) -> None:
        with self._lock:
            settings = self._settings
            if settings.paused or not settings.url:
                return
            self._busy = True
            if self._failing is not None:
                if self._failing.retry_at is not None and time.monotonic() < self._failing.retry_at:
                    return
                due = [self._failing]
            elif self._queue and time.monotonic() < self._window_end(settings):
                return  # the aggregation window is still open
            else:
                batch = self._next_batch(settings)
                if batch is None:
                    due = [self._deferred] if self._deferred else []
                    self._deferred = None
                elif self._deferred is None and self._rng.random() < settings.reorder_rate:
                    self._deferred = batch  # hold it back; it goes out after the next one
                    self._counts["reordered"] += 1
                    due = []
                else:
                    due = [batch] + ([self._deferred] if self._deferred else [])
                    self._deferred = None
        for index, batch in enumerate(due):
            if not self._deliver(batch, settings):
                with self._lock:  # head-of-line: what was behind the failing batch waits
                    self._deferred = self._deferred or next(iter(due[index + 1 :]), None)
                return

    def _next_batch(self, settings: DeliverySettings) -> _Batch | None:
        """Take the next events off the queue (legacy: one realm per notification)."""
        while self._queue:
            realm = self._queue[0].change.realm_id
            events: list[QueuedEvent] = []
            rest: deque[QueuedEvent] = deque()
            while self._queue and len(events) < settings.max_batch:
                event = self._queue.popleft()
                if settings.format == "legacy" and event.change.realm_id != realm:
                    rest.append(event)
                else:
                    events.append(event)
            self._queue.extendleft(reversed(rest))
            if not self._queue:  # what is left over (max_batch, legacy realms) is due at once
                self._first_queued_at = None
            if (
                settings.reorder_rate
                and len(events) > 1
                and self._rng.random() < settings.reorder_rate
            ):
                self._rng.shuffle(events)
                self._counts["reordered"] += 1
            if self._rng.random() < settings.drop_rate:
                self._counts["dropped"] += len(events)
                continue  # lost for good, as if Intuit never sent it
            self._batch_numbers += 1
            payload: Any = (
                webhooks.legacy_payload(events)
                if settings.format == "legacy"
                else webhooks.cloudevents_payload(events, self._source)
            )
            return _Batch(self._batch_numbers, events, webhooks.encode(payload))
        return None

    def _deliver(self, batch: _Batch, settings: DeliverySettings) -> bool:
        ok = self._post(batch, settings)
        with self._lock:
            if not ok:
                delay = RETRY_SCHEDULE_SECONDS[
                    min(batch.attempts - 1, len(RETRY_SCHEDULE_SECONDS) - 1)
                ]
                batch.retry_at = time.monotonic() + delay * settings.retry_scale
                self._failing = batch
                return False
            self._failing = None
            self._counts["batches"] += 1
            self._counts["deliveredEvents"] += len(batch.events)
            duplicate = self._rng.random() < settings.duplicate_rate
        if duplicate:
            with self._lock:
                self._counts["duplicated"] += 1
            self._post(batch, settings)  # a duplicate is best effort, like Intuit's
        self._wake.set()  # more may be waiting: do not sleep a whole interval
        return True

    def _post(self, batch: _Batch, settings: DeliverySettings) -> bool:
        batch.attempts += 1
        sent_at = utc_now()
        headers = webhooks.delivery_headers(
            batch.body, self._verifier_token, settings.format, sent_at
        )
        record: dict[str, Any] = {
            "batch": batch.number,
            "attempt": batch.attempts,
            "at": event_time(sent_at),
            "events": len(batch.events),
            "eventIds": [event.event_id for event in batch.events],
            "format": settings.format,
            "status": None,
            "error": None,
        }
        try:
            response = self._session.post(
                str(settings.url), data=batch.body, headers=headers, timeout=settings.timeout
            )
            record["status"] = response.status_code
            ok = response.status_code == 200  # Intuit wants exactly 200
        except requests.RequestException as error:
            record["error"] = type(error).__name__
            ok = False
        with self._lock:
            self._counts["attempts"] += 1
            if not ok:
                self._counts["failedAttempts"] += 1
            self._attempts.append(record)
        return ok
