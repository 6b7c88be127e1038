"""Wake-ups (qbsync.store.wakeups): an event the web app stores wakes a waiting worker.

The worker's safety poll is set to an hour, so only the wake-up can explain that the event is
worked at all. The web app and the worker each have their own engine, as two processes would.
Each test waits for the outcome itself (the event's sync-log row reaching Salesforce), never
for a time.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

from qbsync.app import create_app
from qbsync.catalog import load_catalog
from qbsync.events import ChangeEvent
from qbsync.salesforce.client import RecordResult
from qbsync.services import Services
from qbsync.store import Store
from qbsync.store.database import make_engine
from qbsync.store.wakeups import Wakeups
from qbsync.sync_config import RealmConfig
from qbsync.worker import Worker
from tests.support import builders
from tests.support.worker_loop import run_until_idle, stop_worker
from tests.unit.test_webhook_endpoint import TOKEN, deliver, fixture

HOUR = 3600.0
# A guard against a hang, not a timing assertion: the outcome is what is awaited.
OUTCOME_TIMEOUT = 30.0


class Configs:
    """Every realm is connected and maps nothing: each event ends skipped ("not mapped")."""

    def get(self, realm_id: str) -> RealmConfig:
        return RealmConfig(realm_id, "Connected")

    def invalidate(self, realm_id: str) -> None:
        pass


class SyncLogs:
    """A Salesforce that takes sync-log rows and says when it has seen `expected` of them."""

    def __init__(self, expected: int) -> None:
        self.rows: list[dict] = []
        self.expected = expected
        self.all_seen = threading.Event()

    def upsert_collection(self, sobject: str, external_id: str, records: list[dict]):
        assert sobject == "QB_Sync_Log__c"
        self.rows.extend(records)
        if len(self.rows) >= self.expected:
            self.all_seen.set()
        return [
            RecordResult(id=f"a03{n:015d}", success=True, created=True)
            for n, _ in enumerate(records)
        ]


def _second_engine(engine: Engine, tmp_path: Path) -> Engine:
    """Another engine on the same database: the other process's."""
    return make_engine(engine.url.render_as_string(hide_password=False))


def test_an_event_stored_by_the_web_app_wakes_the_waiting_worker(database, tmp_path) -> None:
    settings = builders.settings(
        worker_poll_seconds=HOUR,
        intuit_webhook_verifier_token=TOKEN,
        database_url=database.url.render_as_string(hide_password=False),
    )
    web_engine = _second_engine(database, tmp_path)
    web = create_app(services=Services(settings, store=Store(web_engine))).test_client()
    salesforce = SyncLogs(expected=1)
    worker = Worker(
        Services(
            settings,
            store=Store(database),
            salesforce=salesforce,
            configs=Configs(),
            catalog=load_catalog(),
        ),
        name="wakeful",
    )
    stop, thread = run_until_idle(worker)
    try:
        assert deliver(web, fixture("cloudevents_customer_updated")).status_code == 200

        assert salesforce.all_seen.wait(OUTCOME_TIMEOUT), "the worker was not woken"
    finally:
        stop_worker(stop, thread)
        web_engine.dispose()
    (event,) = Store(database).events.events()
    assert event.state == "skipped" and event.reason.startswith("not mapped")
    assert [row["Status__c"] for row in salesforce.rows] == ["Skipped"]


def test_rings_while_the_worker_is_busy_make_it_claim_again(database, tmp_path) -> None:
    """Events stored while a batch is worked are claimed next, without waiting for a poll."""
    settings = builders.settings(worker_poll_seconds=HOUR, worker_batch_size=1)
    salesforce = SyncLogs(expected=3)
    worker = Worker(
        Services(
            settings,
            store=Store(database),
            salesforce=salesforce,
            configs=Configs(),
            catalog=load_catalog(),
        )
    )
    ringer = Store(_second_engine(database, tmp_path)).events
    stop, thread = run_until_idle(worker)
    try:
        for number in range(3):
            ringer.add(
                [
                    ChangeEvent(
                        "9130350000000000", "Customer", str(number), "Update", None, f"ce:{number}"
                    )
                ]
            )

        assert salesforce.all_seen.wait(OUTCOME_TIMEOUT), "an event was left for the poll"
    finally:
        stop_worker(stop, thread)
        ringer.engine.dispose()
    assert Store(database).events.counts()["skipped"] == 3


def test_a_worker_that_died_leaves_a_socket_the_next_ring_removes(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    wakeups = Wakeups(engine)
    listener = wakeups.listen()
    assert listener is not None
    dead = wakeups.directory / "4242-deadbeef.sock"
    listener.path.rename(dead)  # its reader is gone once this listener closes
    listener.close()
    assert dead.exists()

    wakeups.ring_after_commit()

    assert not dead.exists()
    engine.dispose()


def test_an_in_memory_database_has_no_listener_and_the_worker_polls() -> None:
    engine = make_engine("sqlite://")
    assert Wakeups(engine).listen() is None
    Wakeups(engine).ring_after_commit()  # nothing to ring, no error
    engine.dispose()


@pytest.mark.parametrize("interrupt", [True, False])
def test_a_listener_wait_ends_on_a_ring_or_an_interrupt(tmp_path, interrupt) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    wakeups = Wakeups(engine)
    listener = wakeups.listen()
    try:
        if interrupt:
            listener.interrupt()
        else:
            wakeups.ring_after_commit()
            wakeups.ring_after_commit()  # two rings, one wake-up

        assert listener.wait(HOUR) is True
        assert listener.wait(0) is False
    finally:
        listener.close()
        engine.dispose()
