"""Wake-ups (qbsync.store.wakeups): an event the web app stores wakes a waiting worker.

The worker's safety poll is set to an hour, so only the wake-up can explain that the event is
worked at all. The web app and the worker each have their own engine, as two processes would.
Each test waits for the outcome itself (the event's sync-log row reaching Salesforce, a
listener's wait returning), never for a time. The tests of one listener check each way a wait
ends (a ring, an interrupt, a broken source) and where the SQLite sockets live.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import stat
import tempfile
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

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
POSTGRES_URL = os.environ.get("QBSYNC_TEST_POSTGRES_URL")
needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="QBSYNC_TEST_POSTGRES_URL is not set")


class Configs:
    """Every realm is connected and maps nothing: each event ends skipped ("not mapped")."""

    def get(self, realm_id: str) -> RealmConfig:
        return RealmConfig(realm_id, "Connected")

    def fresh(self):
        return 0, {}  # nothing cached: each event goes to a batch, which skips it

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
    salesforce = SyncLogs(expected=1)
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

        # The skips share one sync-log row (worker.skipped_rows): the ledger tells when all
        # three were worked.
        deadline = time.monotonic() + OUTCOME_TIMEOUT
        while ringer.counts()["skipped"] < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ringer.counts()["skipped"] == 3, "an event was left for the poll"
    finally:
        stop_worker(stop, thread)
        ringer.engine.dispose()
    assert salesforce.rows and {row["Status__c"] for row in salesforce.rows} == {"Skipped"}


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


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "sqlite:///file:ledger?uri=true"]
)
def test_an_in_memory_database_has_no_listener_and_the_worker_polls(
    url, tmp_path, monkeypatch
) -> None:
    """Also a database named by a `file:` URI, whose path is not a plain file name."""
    monkeypatch.chdir(tmp_path)  # a socket directory made by mistake would appear here
    engine = create_engine(url)
    assert Wakeups(engine).listen() is None
    Wakeups(engine).ring_after_commit()  # nothing to ring, no error
    engine.dispose()
    assert list(tmp_path.iterdir()) == []


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


@pytest.fixture
def postgres() -> Engine:
    engine = make_engine(POSTGRES_URL)
    yield engine
    engine.dispose()


@pytest.mark.postgres
@needs_postgres
def test_a_ring_from_another_machine_wakes_a_postgres_listener(postgres) -> None:
    """On PostgreSQL the ring travels with the committed transaction (NOTIFY), so a web app on
    another machine, whose datagrams cannot reach this one, wakes the worker all the same."""
    wakeups = Wakeups(postgres)
    listener = wakeups.listen()
    other_machine = Wakeups(_second_engine(postgres, None))
    try:
        assert wakeups.directory is None  # no socket directory for PostgreSQL
        with other_machine.engine.begin() as connection:
            other_machine.ring_in(connection)  # the datagram half is never sent

        assert listener.wait(OUTCOME_TIMEOUT) is True
        assert listener.wait(0) is False  # the ring was taken: nothing wakes the next wait
    finally:
        listener.close()
        other_machine.engine.dispose()


@pytest.mark.postgres
@needs_postgres
def test_a_dropped_listen_connection_breaks_the_listener_and_a_new_one_is_woken(
    postgres, caplog
) -> None:
    """PostgreSQL restarting drops the LISTEN connection: the listener says it is broken (the
    worker then polls and listens anew) and a new listener is woken by the next ring."""
    listener = Wakeups(postgres).listen()
    backend = listener._connection.info.backend_pid
    with postgres.begin() as connection:
        connection.execute(text("select pg_terminate_backend(:pid)"), {"pid": backend})

    deadline = time.monotonic() + OUTCOME_TIMEOUT
    while not listener.broken and time.monotonic() < deadline:
        woke = listener.wait(OUTCOME_TIMEOUT)  # the closed socket is readable at once
    assert listener.broken and woke is False
    assert listener.wait(HOUR) is False  # a broken listener no longer waits
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.getMessage().startswith(
        "Wake-ups stopped, the worker polls until it listens again: "
    )
    assert "server closed the connection" in warning.getMessage()
    listener.close()

    renewed = Wakeups(postgres).listen()
    try:
        with postgres.begin() as connection:
            Wakeups(postgres).ring_in(connection)
        assert renewed.wait(OUTCOME_TIMEOUT) is True
    finally:
        renewed.close()


def test_one_ring_wakes_every_worker_on_the_machine(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    wakeups = Wakeups(engine)
    listeners = [wakeups.listen(), Wakeups(engine).listen()]
    try:
        wakeups.ring_after_commit()

        assert [listener.wait(HOUR) for listener in listeners] == [True, True]
    finally:
        for listener in listeners:
            listener.close()
        engine.dispose()


@pytest.fixture
def short_path() -> Path:
    """A folder whose path is short enough for the sockets to live beside a database in it
    (pytest's `tmp_path` is too long: see the next tests)."""
    path = Path(tempfile.mkdtemp(prefix="qbw-"))
    yield path
    shutil.rmtree(path)


def test_the_sockets_live_beside_the_database_for_its_owner_only(short_path) -> None:
    """`<database file>.wake/` (docs/operating.md), closed to other users: anyone who can write
    a datagram there could keep the workers awake."""
    engine = make_engine(f"sqlite:///{short_path / 'ledger.db'}")
    listener = Wakeups(engine).listen()
    directory = short_path / "ledger.db.wake"
    try:
        assert [path.parent for path in directory.glob("*.sock")] == [directory]
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    finally:
        listener.close()
        engine.dispose()
    assert list(directory.iterdir()) == []  # a worker that stops removes its socket


@pytest.mark.parametrize("length, beside", [(55, True), (56, False)])
def test_a_database_path_too_long_for_a_socket_path_uses_the_temp_dir(length, beside) -> None:
    """A socket path holds about 100 bytes: the directory and its socket names must fit."""
    database = "/" + "d" * (length - 1)
    directory = Wakeups(create_engine(f"sqlite:///{database}")).directory

    if beside:
        assert directory == Path(database + ".wake")
    else:
        assert directory.parent == Path(tempfile.gettempdir())


def test_workers_of_a_database_with_a_long_path_meet_in_the_temp_dir(tmp_path) -> None:
    database = tmp_path / ("long" * 25) / "ledger.db"
    database.parent.mkdir()
    engine = make_engine(f"sqlite:///{database}")
    other = make_engine(f"sqlite:///{tmp_path / ('other' * 20)}.db")
    worker, web = Wakeups(engine), Wakeups(_second_engine(engine, tmp_path))
    assert worker.directory == web.directory != Wakeups(other).directory
    listener = worker.listen()
    try:
        web.ring_after_commit()

        assert listener.wait(HOUR) is True
    finally:
        listener.close()
        shutil.rmtree(worker.directory)
        web.engine.dispose()
        other.dispose()
        engine.dispose()


def test_a_busy_worker_full_of_rings_never_blocks_the_ringer(tmp_path, caplog) -> None:
    """A socket buffer holds a few datagrams: rings past that are dropped quietly (one pending
    wake-up is enough), never waited for, since the ringer is a web request."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    wakeups = Wakeups(engine)
    listener = wakeups.listen()
    caplog.set_level(logging.DEBUG, logger="qbsync.store.wakeups")
    try:
        ringer = threading.Thread(target=lambda: [wakeups.ring_after_commit() for _ in range(50)])
        ringer.start()
        ringer.join(OUTCOME_TIMEOUT)
        assert not ringer.is_alive(), "a full socket buffer blocked the ringer"
        assert caplog.records == []
        assert listener.path.exists()

        assert listener.wait(HOUR) is True
        assert listener.wait(0) is False  # one wake-up for all the rings
    finally:
        listener.close()
        engine.dispose()


def test_a_socket_no_worker_reads_datagrams_from_is_left_and_the_others_rung(
    tmp_path, caplog
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    wakeups = Wakeups(engine)
    listener = wakeups.listen()
    stranger = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    foreign = wakeups.directory / "0-stream.sock"
    stranger.bind(str(foreign))
    caplog.set_level(logging.DEBUG, logger="qbsync.store.wakeups")
    try:
        wakeups.ring_after_commit()

        assert listener.wait(HOUR) is True
        assert foreign.exists()  # a live socket of another kind is not the ringer's to remove
        (record,) = caplog.records
        assert record.getMessage().startswith(f"Wake-up datagram to {foreign} not sent: ")
        assert "Protocol wrong type" in record.getMessage()
    finally:
        stranger.close()
        listener.close()
        engine.dispose()


def test_a_socket_directory_that_cannot_be_made_turns_wake_ups_off_with_a_warning(
    short_path, caplog
) -> None:
    engine = make_engine(f"sqlite:///{short_path / 'ledger.db'}")
    (short_path / "ledger.db.wake").write_text("a file where the directory goes")

    assert Wakeups(engine).listen() is None

    (warning,) = caplog.records
    assert warning.levelno == logging.WARNING
    assert warning.getMessage().startswith("Wake-ups are off, the worker polls: ")
    assert "ledger.db.wake" in warning.getMessage()
    engine.dispose()


def test_a_closed_listener_returns_from_a_wait_at_once_without_a_warning(tmp_path, caplog) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    listener = Wakeups(engine).listen()
    listener.close()

    assert listener.wait(HOUR) is False
    assert caplog.records == []
    assert listener.broken is False
    engine.dispose()


def test_an_entry_the_ringer_cannot_remove_does_not_fail_the_ring(tmp_path) -> None:
    """The ring follows the commit of a web request's events: whatever the socket directory
    holds (here a folder named like a socket, which refuses datagrams and cannot be unlinked),
    the request succeeds and the workers are woken."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    wakeups = Wakeups(engine)
    listener = wakeups.listen()
    (wakeups.directory / "0-folder.sock").mkdir()
    try:
        wakeups.ring_after_commit()

        assert listener.wait(HOUR) is True
    finally:
        listener.close()
        (wakeups.directory / "0-folder.sock").rmdir()
        engine.dispose()


def test_a_stop_after_the_listener_closed_writes_nowhere(tmp_path) -> None:
    """Once closed, the listener's pipe descriptors may be reused by another file of the
    process: a late interrupt must not write its byte there."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    listener = Wakeups(engine).listen()
    old_write_end = listener._pipe_write
    listener.close()
    other_read, other_write = os.pipe()
    os.dup2(other_write, old_write_end)  # the process's next file took the freed number
    try:
        listener.interrupt()

        os.close(old_write_end)
        os.close(other_write)
        assert os.read(other_read, 16) == b""  # end of file: nothing was written
    finally:
        os.close(other_read)
        engine.dispose()


def test_a_stop_after_the_listener_closed_is_harmless(tmp_path) -> None:
    """The worker closes its listener as its loop ends; the stop thread may interrupt it after."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    listener = Wakeups(engine).listen()
    listener.close()

    listener.interrupt()  # no error

    assert listener.wait(0) is False
    engine.dispose()
