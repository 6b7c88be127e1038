"""The engine, the one transaction helper and the one upsert helper every store class uses.

SQLite (WAL, embedded) by default; PostgreSQL when several machines share the work. Both run
the same SQLAlchemy Core statements; the `INSERT … ON CONFLICT` constructs, the one dialect
difference, are picked here.
"""

from __future__ import annotations

import os
import sqlite3
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, CursorResult, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from qbsync.store.write_lock import WriteLock, lock_path, write_lock

# SQLite engines → the lock their writers take turns with (`qbsync.store.write_lock`).
_write_locks: weakref.WeakKeyDictionary[Engine, WriteLock] = weakref.WeakKeyDictionary()


class StoreUnavailable(Exception):
    """The database cannot be reached or is locked: try again later.

    The web answers 503 with Retry-After; the worker and the reconciler wait and try again.
    """


def make_engine(url: str) -> Engine:
    """An engine for a `QBSYNC_DATABASE_URL` (tables come from `qbsync.store.migrate`)."""
    if not url.startswith("sqlite"):
        # A connection the server dropped (restart, failover) is replaced before it is used.
        return create_engine(url, pool_pre_ping=True)
    _create_private_file(make_url(url).database)
    # SQLAlchemy opens a file database with sqlite3's `check_same_thread` off: the web's
    # threads share the pool's connections.
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):  # noqa: ANN001
        # Let SQLAlchemy issue BEGIN itself so `BEGIN IMMEDIATE` can take the write lock.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # A busy timeout waits out the other process's short write transactions (set first:
        # the switch to WAL may wait for one too).
        cursor.execute("PRAGMA busy_timeout=30000")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn):  # noqa: ANN001
        # Every transaction takes the write lock at its start: two of them never deadlock
        # upgrading read locks, and a read-then-write (a claim, a token refresh) is atomic.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    path = lock_path(make_url(url).database)
    if path is not None:
        _write_locks[engine] = write_lock(path)
    return engine


def _write_lock_of(engine: Engine) -> WriteLock | None:
    lock = _write_locks.get(engine)
    if lock is not None and lock.pid != os.getpid():
        # An engine made before a fork: the child takes turns with a lock of its own.
        lock = _write_locks[engine] = write_lock(lock.path)
    return lock


def _create_private_file(database: str | None) -> None:
    """Create a new SQLite ledger readable by its owner only (it holds the encrypted tokens and
    webhook bodies); SQLite gives its -wal and -shm files the database file's permissions."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # an existing ledger keeps the permissions its operator gave it
    except OSError:
        pass  # no such directory, no permission: SQLite's own error says so when it opens


def _use_wal(cursor: sqlite3.Cursor) -> None:
    """WAL mode (kept in the file): the web process appends while the worker reads."""
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError:
        # Another process is turning this new database to WAL right now (the web and the
        # worker started together), and SQLite answers "locked" at once instead of waiting,
        # which could deadlock. Taking the write lock waits for that process; the file is in
        # WAL mode after it.
        cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("COMMIT")
        cursor.execute("PRAGMA journal_mode=WAL")


def _is_outage(error: Exception) -> bool:
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return True
    # Any other driver error raised because the connection broke (SQLAlchemy saw a disconnect).
    return isinstance(error, DBAPIError) and error.connection_invalidated


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction on `engine`; committed on success, rolled back on any exception.

    On SQLite, this process's writers and the other processes' take turns through a file lock
    first (`qbsync.store.write_lock`). A locked or unreachable database raises
    `StoreUnavailable`. Its message holds only the
    driver's first line: SQLAlchemy's full text repeats the statement and its parameters
    (webhook bodies, encrypted tokens), which must not reach logs.
    """
    lock = _write_lock_of(engine)
    try:
        if lock is None:
            with engine.begin() as connection:
                yield connection
        else:
            with lock.held(), engine.begin() as connection:
                yield connection
    except (DBAPIError, PoolTimeout) as error:
        if not _is_outage(error):
            raise
        raise _unavailable(error) from error


@contextmanager
def autocommit(engine: Engine) -> Iterator[Connection]:
    """A PostgreSQL connection on which each statement is a transaction of its own, committed
    when it returns: for a write that is one statement, no BEGIN and COMMIT round trips.
    Outages raise `StoreUnavailable` as in `transaction`. Not for SQLite, whose writers take
    turns in `transaction`."""
    if engine.dialect.name != "postgresql":
        raise ValueError(f"autocommit is for PostgreSQL, not {engine.dialect.name}")
    try:
        with engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")
    except (DBAPIError, PoolTimeout) as error:
        if not _is_outage(error):
            raise
        raise _unavailable(error) from error


def _unavailable(error: DBAPIError | PoolTimeout) -> StoreUnavailable:
    """An outage, told by the driver's first line only."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    detail = f": {lines[0]}" if lines else ""
    return StoreUnavailable(f"the database is unavailable ({type(cause).__name__}{detail})")


def _insert(connection: Connection, table: Table) -> Any:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def insert_new(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    *,
    key: Sequence[str],
    returning: Any = None,
) -> CursorResult:
    """INSERT … ON CONFLICT (key) DO NOTHING: rows whose key exists are left out.

    A concurrent insert of the same key waits for the other transaction and then inserts
    nothing, instead of failing on the unique key.
    """
    statement = _insert(connection, table).on_conflict_do_nothing(index_elements=list(key))
    if returning is not None:
        statement = statement.returning(returning)
    if isinstance(rows, Mapping):
        return connection.execute(statement.values(**rows))
    return connection.execute(statement, list(rows))


def upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    *,
    key: Sequence[str],
    update: Sequence[str] | Callable[[Any], Mapping[str, Any]],
    where: Callable[[Any], Any] | None = None,
) -> CursorResult:
    """INSERT … ON CONFLICT (key) DO UPDATE, on SQLite and PostgreSQL alike.

    `update`: the columns a new row overwrites, or a function of the proposed row
    (`excluded`) giving the SET clause. `where`: a function of `excluded` that must hold for
    an existing row to be updated (e.g. only by a newer version).
    """
    statement = _insert(connection, table)
    new = statement.excluded
    values = update(new) if callable(update) else {name: new[name] for name in update}
    statement = statement.on_conflict_do_update(
        index_elements=list(key),
        set_=values,
        where=where(new) if where is not None else None,
    )
    if isinstance(rows, Mapping):
        return connection.execute(statement.values(**rows))
    return connection.execute(statement, list(rows))
