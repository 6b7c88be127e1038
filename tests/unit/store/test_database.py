"""The engine and transaction helper of qbsync.store.database: what counts as an outage, and the
WAL set-up of a new SQLite ledger that another process is setting up at the same moment."""

from __future__ import annotations

import fcntl
import gc
import os
import signal
import sqlite3
import stat
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError, OperationalError

from qbsync.store.database import (
    StoreUnavailable,
    autocommit,
    insert_new,
    make_engine,
    transaction,
)
from qbsync.store.schema import config_signal
from qbsync.store.write_lock import write_lock
from tests.support.backends import postgres_only


def test_a_broken_constraint_is_a_bug_not_an_outage(database: Engine) -> None:
    # A duplicate key is an error of the code that wrote it: reporting it as "the database is
    # unavailable" would make the worker and the web retry it forever behind a 503.
    row = {"id": 1, "generation": 0, "changed_at": datetime(2026, 1, 5, 12, 0, tzinfo=UTC)}
    with transaction(database) as connection:
        connection.execute(insert(config_signal).values(**row))
    with pytest.raises(IntegrityError), transaction(database) as connection:
        connection.execute(insert(config_signal).values(**row))


class _RacedCursor:
    """A real SQLite cursor whose first switch to WAL fails as SQLite fails it while another
    process is switching the same new file: "database is locked", at once."""

    def __init__(self, cursor: sqlite3.Cursor, races: list[str]) -> None:
        self._cursor = cursor
        self._races = races

    def execute(self, statement: str, *parameters: object) -> sqlite3.Cursor:
        if "journal_mode" in statement.lower() and not self._races:
            self._races.append(statement)
            raise sqlite3.OperationalError("database is locked")
        return self._cursor.execute(statement, *parameters)

    def __getattr__(self, name: str) -> object:
        return getattr(self._cursor, name)


def test_a_new_ledger_another_process_is_switching_to_wal_ends_in_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    races: list[str] = []

    class RacedConnection(sqlite3.Connection):
        def cursor(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            return _RacedCursor(super().cursor(*args, **kwargs), races)

    # SQLAlchemy opens SQLite connections through sqlite3.dbapi2.connect.
    real_connect = sqlite3.dbapi2.connect
    monkeypatch.setattr(
        sqlite3.dbapi2,
        "connect",
        lambda *args, **kwargs: real_connect(*args, factory=RacedConnection, **kwargs),
    )
    path = tmp_path / "ledger.db"
    engine = make_engine(f"sqlite:///{path}")
    with transaction(engine) as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        connection.exec_driver_sql("INSERT INTO t VALUES (1)")
    engine.dispose()
    monkeypatch.undo()

    assert races, "the engine never switched the file to WAL"
    check = sqlite3.connect(path)
    try:
        # The file is in WAL mode for every later process, and the write went through.
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert check.execute("SELECT x FROM t").fetchall() == [(1,)]
    finally:
        check.close()


def test_an_in_memory_or_uri_sqlite_database_leaves_no_stray_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only a ledger path is created ahead of SQLite (owner-only): names SQLite does not read as
    # a path (":memory:", a "file:" URI) must not become files of that name.
    monkeypatch.chdir(tmp_path)
    for url in ("sqlite:///:memory:", "sqlite:///file:ledger.db?uri=true"):
        engine = make_engine(url)
        with transaction(engine) as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
        engine.dispose()
    # The URI's file is SQLite's own; nothing named after the URI or ":memory:".
    assert sorted(path.name for path in tmp_path.iterdir()) == ["ledger.db"]


def _insert_in_a_thread(engine: Engine, value: int) -> tuple[threading.Thread, list[object]]:
    """A started thread that inserts `value` into `t` in a transaction of its own; its results
    list then holds "written" or the error."""
    results: list[object] = []

    def write() -> None:
        try:
            with transaction(engine) as connection:
                connection.exec_driver_sql("INSERT INTO t VALUES (?)", (value,))
            results.append("written")
        except Exception as error:  # noqa: BLE001 - the test reports it
            results.append(error)

    thread = threading.Thread(target=write)
    thread.start()
    return thread, results


def test_a_sqlite_ledger_is_used_from_any_thread(tmp_path: Path) -> None:
    # The web server's threads share the engine's pool: a connection opened on one thread is
    # used by another.
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    with transaction(engine) as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    thread, results = _insert_in_a_thread(engine, 1)
    thread.join()
    engine.dispose()
    assert results == ["written"]


@postgres_only
def test_a_connection_the_postgres_server_dropped_is_replaced_before_use(database: Engine) -> None:
    # A server restart or failover closes the pooled connections: the next transaction must
    # get a live one, not report the database unavailable.
    with database.connect() as connection:
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    admin = make_engine(os.environ["QBSYNC_TEST_POSTGRES_URL"])
    with admin.begin() as connection:
        # The second argument waits (milliseconds) until the backend has exited (PostgreSQL 14+).
        assert connection.exec_driver_sql(f"SELECT pg_terminate_backend({pid}, 10000)").scalar()
    admin.dispose()
    with transaction(database) as connection:
        assert connection.exec_driver_sql("SELECT 1").scalar() == 1


def _wait_until(condition, what: str, timeout: float = 30) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def test_a_sqlite_writer_waits_for_its_turn_and_begins_as_the_other_process_commits(
    tmp_path: Path,
) -> None:
    # Another process's writer holds the turn (the lock file beside the ledger, then SQLite's
    # write lock): this process's transaction waits in the kernel for the file lock, not in
    # SQLite's busy handler, which sleeps up to 100 ms a step and is not woken when the lock
    # frees (qbsync.store.write_lock). A separate open of the lock file stands for the other
    # process: flock locks of two opens exclude each other even within one process.
    path = tmp_path / "ledger.db"
    engine = make_engine(f"sqlite:///{path}")
    with transaction(engine) as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    other_turn = os.open(f"{path}.lock", os.O_RDWR)
    fcntl.flock(other_turn, fcntl.LOCK_EX)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    began: list[float] = []

    def trace(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.set_trace_callback(
            lambda statement: (
                began.append(time.monotonic()) if statement == "BEGIN IMMEDIATE" else None
            )
        )

    event.listen(engine, "connect", trace)
    engine.dispose()  # the next transaction opens a traced connection
    writer, results = _insert_in_a_thread(engine, 2)
    try:
        lock = write_lock(f"{path.resolve()}.lock")
        _wait_until(lambda: lock.waiting == 1, "the writer to wait for its turn")
        assert began == [], "the writer began while the other process held the turn"
        other.execute("COMMIT")
        released = time.monotonic()
        fcntl.flock(other_turn, fcntl.LOCK_UN)
    finally:
        writer.join(30)
        os.close(other_turn)
        other.close()
    engine.dispose()
    assert results == ["written"]
    assert lock.waiting == 0  # it stopped waiting once its turn came
    # It began after the release (how soon is the kernel's scheduling: not asserted, a loaded
    # machine would make any bound flaky).
    assert began and began[0] >= released
    check = sqlite3.connect(path)
    try:
        assert check.execute("SELECT x FROM t ORDER BY x").fetchall() == [(1,), (2,)]
    finally:
        check.close()


def test_a_transaction_inside_another_on_one_thread_reports_the_lock_instead_of_hanging(
    tmp_path: Path,
) -> None:
    # The turn is re-entrant within a thread; SQLite's own lock still refuses a second writer,
    # so a nested transaction on another connection fails (after the busy timeout) as it did
    # before the turn existed, rather than waiting for itself forever.
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")

    @event.listens_for(engine, "connect")
    def _short_busy_timeout(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    with transaction(engine) as outer:
        outer.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with pytest.raises(StoreUnavailable), transaction(engine) as inner:
            inner.exec_driver_sql("INSERT INTO t VALUES (1)")
    engine.dispose()


def test_insert_new_returns_the_asked_columns_of_the_rows_it_inserted(tmp_path: Path) -> None:
    names = Table(
        "names",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("name", String, unique=True),
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    names.create(engine)
    with transaction(engine) as connection:
        insert_new(connection, names, {"name": "a"}, key=["name"])
        new = insert_new(
            connection, names, [{"name": "a"}, {"name": "b"}], key=["name"], returning=names.c.name
        ).all()
    engine.dispose()
    assert [tuple(row) for row in new] == [("b",)]  # "a" existed: left out


def test_a_ledger_in_a_missing_folder_is_reported_by_sqlites_error(tmp_path: Path) -> None:
    # Neither the ledger nor its lock file can be made there: the turn is skipped and SQLite's
    # own error says what is wrong, as an outage the operator can read.
    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'ledger.db'}")
    with pytest.raises(StoreUnavailable, match="unable to open database file"):
        with transaction(engine) as connection:
            connection.exec_driver_sql("SELECT 1")
    engine.dispose()


def _open_files_named(path: str) -> list[str]:
    fds = Path("/proc/self/fd")
    targets = []
    for fd in fds.iterdir():
        try:
            targets.append(os.readlink(fd))
        except OSError:
            pass  # the listing's own descriptor, closed by now
    return [target for target in targets if target == path]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux's /proc")
def test_the_lock_file_is_the_owners_and_closed_once_its_engines_are_gone(tmp_path: Path) -> None:
    # A process that opens many ledgers (the tests) must not keep a descriptor for each; an
    # engine that never wrote never opened its lock file.
    used = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    unused = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    with transaction(used) as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    lock_file = f"{(tmp_path / 'ledger.db').resolve()}.lock"
    assert stat.S_IMODE(os.stat(lock_file).st_mode) == 0o600
    assert len(_open_files_named(lock_file)) == 1

    used.dispose()
    unused.dispose()
    del used, unused, connection
    gc.collect()

    assert _open_files_named(lock_file) == []


def test_a_forked_process_takes_turns_with_a_lock_of_its_own(tmp_path: Path) -> None:
    # An engine made before a fork (gunicorn's preload): the child must not use the parent's
    # lock, whose thread lock may be held by a parent thread that does not exist in the child
    # (it would wait forever) and whose file lock is the parent's own. The child waits for the
    # parent's turn to end, then writes. (The parent holds only the turn: SQLite itself must
    # not be in a transaction across a fork, and gunicorn forks before any request.)
    path = tmp_path / "ledger.db"
    engine = make_engine(f"sqlite:///{path}")
    with transaction(engine) as connection:
        connection.exec_driver_sql("CREATE TABLE t (x TEXT)")
    engine.dispose()
    parent_lock = write_lock(f"{path.resolve()}.lock")  # the engine's, as the test above shows
    holding, release = threading.Event(), threading.Event()

    def hold_the_turn() -> None:
        with parent_lock.held():
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold_the_turn)
    holder.start()
    reports_read, reports_write = os.pipe()
    try:
        assert holding.wait(30)
        child = os.fork()
        if child == 0:
            _write_in_the_child(engine, path, reports_write)
        os.close(reports_write)
        with os.fdopen(reports_read) as reports:
            assert reports.readline() == "waiting\n"
            release.set()
            assert reports.readline() == "written\n"
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        release.set()
        holder.join(30)
    engine.dispose()
    check = sqlite3.connect(path)
    try:
        assert check.execute("SELECT x FROM t").fetchall() == [("child",)]
    finally:
        check.close()


def _write_in_the_child(engine: Engine, path: Path, reports: int) -> None:
    """The forked child's part: report once it waits for its turn, then once it has written.
    Never returns (it must not run the rest of the parent's test)."""
    code = 1
    try:
        signal.alarm(30)  # a guard against a hang: the parent then reads no report
        lock = write_lock(f"{path.resolve()}.lock")

        def report_waiting() -> None:
            deadline = time.monotonic() + 30
            while lock.waiting == 0 and time.monotonic() < deadline:
                time.sleep(0.005)
            os.write(reports, b"waiting\n")

        threading.Thread(target=report_waiting, daemon=True).start()
        with transaction(engine) as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES ('child')")
        os.write(reports, b"written\n")
        code = 0
    finally:
        os._exit(code)


def test_autocommit_is_refused_for_sqlite_whose_writers_take_turns(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    with pytest.raises(ValueError, match="autocommit is for PostgreSQL, not sqlite"):
        with autocommit(engine):
            pass
    engine.dispose()


def test_autocommit_reports_an_unreachable_server_as_unavailable() -> None:
    # Nothing listens on port 1: the connection is refused, as by a server that is down.
    engine = make_engine("postgresql+psycopg://qbsync@127.0.0.1:1/qbsync?connect_timeout=2")
    with pytest.raises(StoreUnavailable, match="the database is unavailable"):
        with autocommit(engine) as connection:
            connection.exec_driver_sql("SELECT 1")
    engine.dispose()


@postgres_only
def test_autocommit_commits_each_statement_and_a_broken_constraint_is_a_bug(
    database: Engine,
) -> None:
    row = {"id": 1, "generation": 0, "changed_at": datetime(2026, 1, 5, 12, 0, tzinfo=UTC)}
    with autocommit(database) as connection:
        connection.execute(insert(config_signal).values(**row))
        with pytest.raises(IntegrityError):
            connection.execute(insert(config_signal).values(**row))
    # Committed by the statement itself, although the connection's last statement failed.
    with transaction(database) as connection:
        assert connection.execute(select(config_signal.c.id)).scalars().all() == [1]


def test_a_pool_with_no_free_connection_is_an_outage_told_by_its_first_line(tmp_path: Path):
    # Every connection of the pool in use past its timeout: SQLAlchemy's TimeoutError carries no
    # driver error (`orig`), and is still reported as the database being unavailable.
    engine = create_engine(
        f"sqlite:///{tmp_path / 'pool.db'}", pool_size=1, max_overflow=0, pool_timeout=0.05
    )
    with engine.connect():
        with pytest.raises(StoreUnavailable) as raised:
            with transaction(engine):
                pass
    message = str(raised.value)
    assert message.startswith("the database is unavailable (TimeoutError: QueuePool limit")
    assert "\n" not in message
    engine.dispose()


def test_a_driver_error_without_a_message_is_named_by_its_type_alone(database: Engine) -> None:
    with pytest.raises(StoreUnavailable) as raised:
        with transaction(database):
            raise OperationalError("SELECT 1", {}, sqlite3.OperationalError(""))
    assert str(raised.value) == "the database is unavailable (OperationalError)"
