"""SQLite's writers take turns through a file lock that wakes the next one at once.

Every SQLite transaction begins IMMEDIATE (`database.make_engine`), so the web processes and
the worker's threads queue for one write lock. SQLite's own queue is its busy handler: a writer
that finds the lock taken sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms… between tries
(sqlite3.c, `sqliteDefaultBusyCallback`) and is not woken when the lock frees. Profiled during
`scripts/bench --ingest-only` (2026-12-06), the web processes spent 28 % of their samples in
that wait, and its steps made the ack p99 15 to 23 times the p50. Here a writer first takes an
exclusive `flock` on a file beside the database: the kernel wakes a waiter as soon as the holder
releases it, and SQLite's lock is then free, so the busy handler no longer sleeps between our own
writers (it still guards against any other program writing the file).

Within a process the threads (or gevent's greenlets, once gunicorn's worker patched `threading`)
first take a lock of the process, so only one of them blocks in `flock`: a greenlet holding the
file lock can then yield without the hub being stuck behind another greenlet's `flock`. That
lock is re-entrant, so a transaction opened inside another on the same thread waits for
SQLite's busy timeout, as it did before, instead of for itself.

The locks are per process (`os.getpid()` in the key): a lock inherited through a fork, made
before gevent patched `threading`, would block a whole gevent worker.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Held by the engines that use them (`database.make_engine`): a lock whose engines are gone closes
# its file, so a process that opens many ledgers (the tests) does not keep a descriptor for each.
_locks: weakref.WeakValueDictionary[tuple[int, str], WriteLock] = weakref.WeakValueDictionary()
_locks_guard = threading.Lock()


class WriteLock:
    """The write turn of one SQLite database file, shared by every engine of this process."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pid = os.getpid()
        self._local = threading.RLock()
        self._depth = 0
        # Transactions of this process waiting for their turn (a test watches it).
        self.waiting = 0
        self._waiting_guard = threading.Lock()
        # Opened once and kept: each turn is a flock and an unlock of it. (Opening and closing
        # it per turn cost 17 % of a web process's samples: gevent's `os.close` is not cheap.)
        self._fd: int | None = None

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the turn for the duration of the block (a transaction)."""
        self._count_waiting(1)
        with self._local:
            try:
                locked = self._depth == 0 and self._lock_file()
            finally:
                self._count_waiting(-1)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if locked:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _count_waiting(self, change: int) -> None:
        with self._waiting_guard:
            self.waiting += change

    def _lock_file(self) -> bool:
        """Take the file's exclusive lock; False when the file cannot be opened (no such
        directory, no permission): SQLite's own error then says what is wrong."""
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                return False
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return True

    def __del__(self) -> None:
        if self._fd is not None and self.pid == os.getpid():
            os.close(self._fd)


def lock_path(database: str | None) -> str | None:
    """The lock file of a SQLite database file (None for an in-memory or URI database)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return str(Path(database).resolve()) + ".lock"


def write_lock(path: str) -> WriteLock:
    """This process's write lock for the lock file `path` (`lock_path`); the caller keeps it."""
    key = (os.getpid(), path)
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = WriteLock(path)
        return lock
