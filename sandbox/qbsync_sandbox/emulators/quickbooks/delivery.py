"""The background deliverer: batches changes into webhooks, signs, posts, retries, misbehaves.

Intuit's behaviour (research §3): the endpoint must answer HTTP 200 within 3 s; otherwise the batch
is resent at once, then after 10 s, 20 s, 30 s, 5 min, 20 min, 2 h, 4 h, 6 h and every 6 h after
that ("0s, 10s, 20s, 30s, 5m, 20m, 2h, 4h, 6h", Intuit's current schedule in
blogs.a.intuit.com/2025/10/14/introducing-enhanced-webhooks-monitoring; the older best-practices
page starts at 10 s), and later events wait until the failing batch is acknowledged
(head-of-line blocking). The schedule here is
the same, multiplied by `retry_scale` so tests do not wait minutes. Optional chaos (seeded):
duplicate deliveries, reordered batches and events, and dropped batches.

Per company: "Event notifications are sent one realm ID at a time" (Intuit's best-practices
page, developer.intuit.com/app/developer/qbo/docs/develop/webhooks/best-practices, "Manage
concurrency"; the legacy body is "designed to accommodate multiple RealmIDs, it only uses one at
this time", research §1a). Intuit documents nothing that holds one company's notifications
behind another's, so each realm has its own queue, its notification in flight, its retries and
its head-of-line blocking, and realms are delivered side by side: a busy company's backlog does
not delay a quiet one's change (issue 19's seventh realm). Within a realm, one notification at a
time and in order ("send them in the order they happened", blogs.intuit.com/2024/12/02/
introducing-our-new-webhooks-page). A CloudEvents batch therefore holds one realm's events
too; a third party says a batch may span realms (research §1b, unconfirmed), which the
middleware handles all the same.

When: "For sandbox, webhooks fire near real time. For production, developers can configure ...
1 Minute, 3 Minutes, and 5 Minutes" (research/quickbooks.md, Aggregation). So a queued change
wakes the deliverer and goes out at once by default (`batch_interval` 0, as Intuit's sandbox);
`batch_interval` > 0 waits that long after the first queued change, as production's
aggregation window does (60 for its 1 minute), per realm. Changes queued while a realm's
notification is in flight go together in its next one (up to `max_batch`).
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import requests

from qbsync_sandbox.emulators.quickbooks import webhooks
from qbsync_sandbox.emulators.quickbooks.clock import event_time, utc_now
from qbsync_sandbox.emulators.quickbooks.state import Change
from qbsync_sandbox.emulators.quickbooks.webhooks import QueuedEvent

RETRY_SCHEDULE_SECONDS = (0, 10, 20, 30, 300, 1200, 7200, 14400, 21600)  # then 21600 for ever
_MAX_ATTEMPT_LOG = 500
# Realms whose notifications are posted at the same moment: the emulator's own bound (threads),
# not Intuit's, which documents none; more realms than this take turns.
_REALMS_IN_FLIGHT = 16


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


@dataclass
class _Realm:
    """One company's notifications: its queue, and its batch failing or held back."""

    queue: deque[QueuedEvent] = field(default_factory=deque)
    failing: _Batch | None = None  # head of line, waiting for its retry
    deferred: _Batch | None = None  # held back to arrive after the next batch
    deferred_until: float = 0.0  # time.monotonic(): it goes alone if nothing overtook it
    first_queued_at: float | None = None  # time.monotonic(): opens the window
    busy: bool = False  # a notification of the realm is being posted

    def waiting(self) -> bool:
        return bool(self.queue or self.failing or self.deferred or self.busy)


class Deliverer:
    """Owns the realms' queues, a scheduling thread and the threads that post; `enqueue` is the
    state's change listener."""

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
        self._realms: dict[str, _Realm] = {}
        self._batch_numbers = 0
        self._counts = dict.fromkeys(
            ("queued", "unconnected", "batches", "attempts", "failedAttempts", "deliveredEvents",
             "dropped", "duplicated", "reordered"),
            0,
        )  # fmt: skip
        self._attempts: deque[dict[str, Any]] = deque(maxlen=_MAX_ATTEMPT_LOG)
        # A session per posting thread: requests does not promise a Session is thread-safe.
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._posters = ThreadPoolExecutor(_REALMS_IN_FLIGHT, thread_name_prefix="qbo-webhook")
        self._thread = threading.Thread(target=self._run, name="qbo-webhook-deliverer", daemon=True)

    # -- control -----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._posters.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()

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
            realm = self._realms.setdefault(change.realm_id, _Realm())
            realm.queue.append(webhooks.new_event(change))
            self._counts["queued"] += 1
            if realm.first_queued_at is None:
                realm.first_queued_at = time.monotonic()
        self._wake.set()

    def idle(self) -> bool:
        """Nothing queued, failing, deferred or in flight, in any realm."""
        with self._lock:
            return not any(realm.waiting() for realm in self._realms.values())

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            self._stop.wait(0.02)
        return self.idle()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            now = time.monotonic()
            return {
                **self._counts,
                "pending": sum(len(realm.queue) for realm in self._realms.values()),
                "retrying": [
                    {
                        "realmId": realm_id,
                        "batch": realm.failing.number,
                        "attempts": realm.failing.attempts,
                        "retryInSeconds": None
                        if realm.failing.retry_at is None
                        else max(0.0, round(realm.failing.retry_at - now, 3)),
                    }
                    for realm_id, realm in self._realms.items()
                    if realm.failing is not None
                ],
                "attemptLog": list(self._attempts),
            }

    # -- the loop ----------------------------------------------------------------------------

    def _run(self) -> None:
        """Hand each realm whose next step is due to a posting thread, one step at a time per
        realm; sleep until the next one is due or something changes."""
        while not self._stop.is_set():
            self._wake.wait(self._seconds_to_next_step())
            self._wake.clear()
            if self._stop.is_set():
                return
            with self._lock:
                now = time.monotonic()
                due = [
                    realm_id
                    for realm_id, realm in self._realms.items()
                    if (at := self._due_at(realm, self._settings, now)) is not None and at <= now
                ]
                for realm_id in due:
                    self._realms[realm_id].busy = True
            for realm_id in due:
                self._posters.submit(self._step_and_free, realm_id)

    def _step_and_free(self, realm_id: str) -> None:
        try:
            self._step(realm_id)
        finally:
            with self._lock:
                self._realms[realm_id].busy = False
            self._wake.set()  # its next step may be due at once

    def _seconds_to_next_step(self) -> float | None:
        """How long the loop may sleep; None: until woken (a change, new settings, a realm's
        step ended, stop)."""
        with self._lock:
            now = time.monotonic()
            due = [
                at
                for realm in self._realms.values()
                if (at := self._due_at(realm, self._settings, now)) is not None
            ]
        return max(0.0, min(due) - now) if due else None

    def _due_at(self, realm: _Realm, settings: DeliverySettings, now: float) -> float | None:
        """time.monotonic() when the realm's next step is due; None: nothing to do for now."""
        if settings.paused or not settings.url or realm.busy:
            return None
        if realm.failing is not None:
            return realm.failing.retry_at if realm.failing.retry_at is not None else now
        if realm.queue:
            return self._window_end(realm, settings)
        if realm.deferred is not None:  # nothing to overtake it yet: one window, then alone
            return realm.deferred_until
        return None

    @staticmethod
    def _window_end(realm: _Realm, settings: DeliverySettings) -> float:
        opened = realm.first_queued_at if realm.first_queued_at is not None else time.monotonic()
        return opened + settings.batch_interval

    def _step(self, realm_id: str) -> None:
        with self._lock:
            settings, realm = self._settings, self._realms[realm_id]
            if settings.paused or not settings.url:
                return
            if realm.failing is not None:
                if realm.failing.retry_at is not None and time.monotonic() < realm.failing.retry_at:
                    return
                due = [realm.failing]
            elif realm.queue and time.monotonic() < self._window_end(realm, settings):
                return  # the aggregation window is still open
            else:
                batch = self._next_batch(realm, settings)
                if batch is None:
                    due = [realm.deferred] if realm.deferred else []
                    realm.deferred = None
                elif realm.deferred is None and self._rng.random() < settings.reorder_rate:
                    realm.deferred = batch  # hold it back; it goes out after the next one
                    realm.deferred_until = time.monotonic() + settings.batch_interval
                    self._counts["reordered"] += 1
                    due = []
                else:
                    due = [batch] + ([realm.deferred] if realm.deferred else [])
                    realm.deferred = None
        for index, batch in enumerate(due):
            if not self._deliver(realm, batch, settings):
                with self._lock:  # head-of-line: what was behind the failing batch waits
                    realm.deferred = realm.deferred or next(iter(due[index + 1 :]), None)
                return

    def _next_batch(self, realm: _Realm, settings: DeliverySettings) -> _Batch | None:
        """Take the realm's next events off its queue (one realm per notification)."""
        while realm.queue:
            events = [
                realm.queue.popleft() for _ in range(min(settings.max_batch, len(realm.queue)))
            ]
            if not realm.queue:  # what is left over (max_batch) is due at once
                realm.first_queued_at = None
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

    def _deliver(self, realm: _Realm, batch: _Batch, settings: DeliverySettings) -> bool:
        ok = self._post(batch, settings)
        with self._lock:
            if not ok:
                delay = RETRY_SCHEDULE_SECONDS[
                    min(batch.attempts - 1, len(RETRY_SCHEDULE_SECONDS) - 1)
                ]
                batch.retry_at = time.monotonic() + delay * settings.retry_scale
                realm.failing = batch
                return False
            realm.failing = None
            self._counts["batches"] += 1
            self._counts["deliveredEvents"] += len(batch.events)
            duplicate = self._rng.random() < settings.duplicate_rate
        if duplicate:
            with self._lock:
                self._counts["duplicated"] += 1
            self._post(batch, settings)  # a duplicate is best effort, like Intuit's
        return True

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            with self._lock:
                self._sessions.append(session)
        return session

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
            response = self._session().post(
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
