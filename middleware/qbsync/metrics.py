"""Prometheus metrics: what the web process and the worker count, and what a scrape reads.

Counters and the latency histogram are module-level, incremented where things happen (the
webhook view, the QuickBooks and Salesforce clients, the token vault, one call in the worker).
Under gunicorn each worker process writes them to files in `PROMETHEUS_MULTIPROC_DIR`, which
`qbsync serve` empties at start and gunicorn's `child_exit` hook marks when a worker dies
(prometheus_client's multiprocess mode; its docs: the variable must be set before the library is
imported, and Gauges need a mode, which is why the ledger's figures are not Gauges here but read
at scrape time by `LedgerCollector`). The `qbsync worker` process keeps its own counters in memory
and serves them on its health port (`qbsync.health`).
"""

from __future__ import annotations

import hmac
import logging
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from qbsync.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

__all__ = [
    "CONTENT_TYPE_LATEST",
    "BACKFILL",
    "REALTIME",
    "authorized",
    "counted_as",
    "current_work",
    "exposition",
    "observe_settled",
    "prepare_multiprocess_dir",
    "remove_own_multiprocess_dir",
]

WEBHOOKS_RECEIVED = Counter(
    "qbsync_webhooks_received", "Webhook POSTs received on /webhooks/quickbooks"
)
WEBHOOKS_REJECTED = Counter(
    "qbsync_webhooks_rejected",
    "Webhook POSTs answered without storing them, by reason",
    ["reason"],  # signature, too_large, store_unavailable
)
WEBHOOK_EVENTS = Counter(
    "qbsync_webhook_events",
    "Change events in signed webhooks, by what the ledger did with them",
    ["outcome"],  # stored, duplicate
)
WEBHOOKS_QUARANTINED = Counter(
    "qbsync_webhooks_quarantined", "Signed webhook bodies kept in quarantine (not understood)"
)
EVENTS_SETTLED = Counter(
    "qbsync_events_settled",
    "Events the worker settled, by sync-log status",
    ["status"],
)
# From the webhook's (or CDC's) receipt to the record applied in Salesforce. The target is about
# a second; retries after an outage land in the long buckets.
SYNC_LATENCY = Histogram(
    "qbsync_sync_latency_seconds",
    "Seconds from an event's receipt to its record applied in Salesforce",
    buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600),
)
# The work a QuickBooks or Salesforce call is made for: real-time sync (webhooks, CDC
# reconciliation, sync logs, cards) or a historical sync's own reads and writes, so an operator
# can read what a backfill costs against the org's daily API allocation and Intuit's limits.
REALTIME, BACKFILL = "realtime", "backfill"
# A contextvar: set around a backfill page by the thread that runs it, and read by the clients.
# A new thread starts with an empty context, so every other thread (write lanes, the sync-log
# sender, the lease renewer) counts as real time unless it says otherwise.
_WORK: ContextVar[str] = ContextVar("qbsync_work", default=REALTIME)
QUICKBOOKS_CALLS = Counter(
    "qbsync_quickbooks_calls",
    "QuickBooks Accounting API calls, by kind and work",
    ["kind", "work"],  # work: realtime, backfill
)
QUICKBOOKS_ERRORS = Counter(
    "qbsync_quickbooks_errors",
    "QuickBooks Accounting API calls that failed, by kind and error",
    ["kind", "error"],  # error: transient, throttled, auth, fault
)
SALESFORCE_CALLS = Counter(
    "qbsync_salesforce_calls",
    "Salesforce REST and Bulk API calls, by kind and work",
    ["kind", "work"],  # work: realtime, backfill
)
SALESFORCE_ERRORS = Counter(
    "qbsync_salesforce_errors",
    "Salesforce REST calls that failed, by kind and error",
    ["kind", "error"],  # error: transient, auth, error
)
RATE_LIMIT_WAITS = Counter(
    "qbsync_rate_limit_waits",
    "Times a realm was held back because QuickBooks answered 429",
)
TOKEN_REFRESHES = Counter(
    "qbsync_token_refreshes",
    "QuickBooks access-token refreshes, by outcome",
    ["outcome"],  # ok, refused (invalid_grant: the company needs reconnecting), failed
)


@contextmanager
def counted_as(work: str) -> Iterator[None]:
    """Count the calls made in this block (in this thread) as `work` (REALTIME or BACKFILL);
    also a decorator."""
    token = _WORK.set(work)
    try:
        yield
    finally:
        _WORK.reset(token)


def current_work() -> str:
    """What the calls made here are counted as: REALTIME unless `counted_as` says otherwise."""
    return _WORK.get()


def error_kind(error: Exception) -> str:
    """A short label for an error class: QuickBooksThrottled → throttled, QuickBooksAuthError →
    auth, SalesforceError → error."""
    name = type(error).__name__
    for prefix in ("QuickBooks", "Salesforce"):
        name = name.removeprefix(prefix)
    return name.removesuffix("Error").lower() or "error"


def observe_settled(events: Sequence, entries: Iterable, success: str) -> None:
    """Count a settled batch's outcomes and time its successes from their receipt.

    `events` are the batch's ledger rows (`received_at`), `entries` the sync-log entries the
    worker wrote for them (`event_key`, `status`, `synced_at`); `success` is the status of an
    applied record (`qbsync.sync_log.SUCCESS`, not imported here: sync_log imports the clients,
    which import this module).
    """
    received = {event.event_key: event.received_at for event in events}
    for entry in entries:
        EVENTS_SETTLED.labels(entry.status).inc()
        if entry.status == success and entry.event_key in received:
            seconds = (entry.synced_at - received[entry.event_key]).total_seconds()
            SYNC_LATENCY.observe(max(0.0, seconds))


class LedgerCollector:
    """Figures read from the database at each scrape, with a few grouped queries."""

    def __init__(self, store: Store, clock=lambda: datetime.now(UTC)) -> None:  # noqa: ANN001
        self.store, self.clock = store, clock

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("qbsync_ledger_up", "1 when the ledger answered this scrape")
        try:
            counts = self.store.events.counts()
            backlog = self.store.events.backlog()
            companies = self.store.tokens.count_by_status()
        except StoreUnavailable as error:
            log.warning("metrics: the ledger did not answer: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        by_state = GaugeMetricFamily(
            "qbsync_events", "Events in the ledger, by state", labels=["state"]
        )
        for state, count in counts.items():
            by_state.add_metric([state], count)
        yield by_state
        waiting = GaugeMetricFamily(
            "qbsync_backlog_events",
            "Events waiting per realm: pending, claimed, and failed ones due a retry",
            labels=["realm"],
        )
        oldest = GaugeMetricFamily(
            "qbsync_oldest_pending_age_seconds",
            "Age of the oldest waiting event per realm, from its receipt",
            labels=["realm"],
        )
        now = self.clock()
        for realm, count, earliest in backlog:
            waiting.add_metric([realm], count)
            oldest.add_metric([realm], max(0.0, (now - earliest).total_seconds()))
        yield waiting
        yield oldest
        status = GaugeMetricFamily(
            "qbsync_companies", "Connected QuickBooks companies, by status", labels=["status"]
        )
        for name, count in sorted(companies.items()):
            status.add_metric([name], count)
        yield status
        reconnect = GaugeMetricFamily(
            "qbsync_companies_reconnect_required",
            "QuickBooks companies that need a new consent (Reconnect Required)",
        )
        reconnect.add_metric([], companies.get("reconnect_required", 0))
        yield reconnect


def exposition(store: Store, multiprocess_dir: str = "") -> bytes:
    """The text exposition of this process's metrics (all gunicorn workers' when
    `multiprocess_dir` is set) plus the ledger's figures."""
    if multiprocess_dir:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=multiprocess_dir)
        registry.register(LedgerCollector(store))
        return generate_latest(registry)
    return generate_latest(REGISTRY) + generate_latest(_ledger_registry(store))


def _ledger_registry(store: Store) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(LedgerCollector(store))
    return registry


def authorized(header: str | None, token: str) -> bool:
    """Whether an `Authorization` header carries the metrics token (`Bearer <token>`)."""
    scheme, _, given = (header or "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given, token)


# The name of a directory `qbsync serve` made for itself (and gunicorn's on_exit removes).
_OWN_DIR_PREFIX = "qbsync-metrics-"


def prepare_multiprocess_dir(path: str) -> str:
    """The directory for gunicorn's workers' metric files: `path`, emptied of the files a
    previous run left (prometheus_client's docs: wipe it between runs), or a new one."""
    if not path:
        return tempfile.mkdtemp(prefix=_OWN_DIR_PREFIX)
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return str(directory)


def remove_own_multiprocess_dir(path: str) -> None:
    """Remove `path` if `prepare_multiprocess_dir` made it (a new temporary directory); a
    directory the operator named stays."""
    directory = Path(path)
    if (
        path
        and directory.parent == Path(tempfile.gettempdir())
        and directory.name.startswith(_OWN_DIR_PREFIX)
    ):
        shutil.rmtree(directory, ignore_errors=True)
