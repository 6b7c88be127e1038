"""Wake-ups: a stored event wakes the waiting workers at once, instead of their next poll.

The process that stores events (the web app, the reconciler) *rings*; each worker *listens*.
The ledger stays the truth: a wake-up carries nothing, and one that is lost only costs the
worker's slow safety poll (`QBSYNC_WORKER_POLL_SECONDS`).

- PostgreSQL: `NOTIFY` in the transaction that stores the events, so it is delivered when they
  are committed and visible, never before, and never for a rolled-back insert; every worker,
  on any machine, `LISTEN`s on a connection of its own
  (https://www.postgresql.org/docs/current/sql-notify.html: "if a NOTIFY is executed inside a
  transaction, the notify events are not delivered until and unless the transaction is
  committed").
- SQLite: the web and the worker are processes on one machine. After the commit, the ringer
  sends one datagram to each worker's Unix datagram socket, in a directory beside the
  database file. Chosen because a datagram needs no connection and no port, sending never
  blocks (a full socket buffer drops it: a wake-up is already pending then), and a worker that
  died leaves a socket nobody reads, which the next ring finds (ECONNREFUSED) and removes. A
  file watch would need inotify (Linux only) or polling; UDP would need a port to agree on.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import logging
import os
import select
import socket
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

CHANNEL = "qbsync_events"
# sun_path holds 108 bytes on Linux (104 on macOS): longer socket paths go to the temp dir.
_MAX_SOCKET_PATH = 100


class Wakeups:
    """Rings and listens for new events on one engine's database (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self.directory = None if self.postgres else _socket_directory(engine.url.database)

    def ring_in(self, connection: Connection) -> None:
        """Inside the transaction storing events: PostgreSQL notifies when it commits."""
        if self.postgres:
            connection.execute(text("select pg_notify(:channel, '')"), {"channel": CHANNEL})

    def ring_after_commit(self) -> None:
        """After the transaction storing events: SQLite's workers get a datagram each."""
        if self.directory is None:
            return
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return  # no worker has listened here yet
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
            sender.setblocking(False)
            for entry in entries:
                if entry.name.endswith(".sock"):
                    _send(sender, entry.path)

    def listen(self) -> Listener | None:
        """A listener for this database, or None when it cannot have one (an in-memory
        SQLite database, a socket directory that cannot be made): the worker then polls."""
        try:
            if self.postgres:
                return _PostgresListener(self.engine)
            if self.directory is not None:
                return _SocketListener(self.directory)
        except Exception as error:  # noqa: BLE001 - polling still works; say why once
            log.warning("Wake-ups are off, the worker polls: %s", error)
        return None


def _send(sender: socket.socket, path: str) -> None:
    try:
        sender.sendto(b"\x01", path)
    except (ConnectionRefusedError, FileNotFoundError):
        # Nobody reads it: a worker that died. Its successor binds a socket of its own.
        with contextlib.suppress(OSError):
            os.unlink(path)
    except OSError as error:
        if error.errno not in (errno.EAGAIN, errno.ENOBUFS):
            log.debug("Wake-up datagram to %s not sent: %s", path, error)


def _socket_directory(database: str | None) -> Path | None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = Path(database).resolve()
    beside = path.with_name(path.name + ".wake")
    if len(str(beside)) + 40 <= _MAX_SOCKET_PATH:
        return beside
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"qbsync-wake-{digest}"


class Listener:
    """Waits for a ring; `interrupt` ends a wait from another thread (the worker stops)."""

    def __init__(self) -> None:
        self._pipe_read, self._pipe_write = os.pipe()
        # `interrupt` comes from another thread (the stop thread, a backfill page ending) and
        # may come after the worker closed the listener: once the pipe is closed its descriptor
        # number can belong to another file, so writing and closing take turns and a closed
        # listener writes nothing.
        self._pipe_guard = threading.Lock()
        self._closed = False
        self.broken = False

    def _source(self) -> Any:
        raise NotImplementedError

    def _drain_source(self) -> bool:
        raise NotImplementedError

    def wait(self, timeout: float) -> bool:
        """Block until a ring, an interrupt or `timeout`; True when rung or interrupted.

        A source that broke (PostgreSQL restarted) sets `broken`: the worker polls and
        listens anew.
        """
        if self._closed or self.broken:
            return False
        try:
            ready, _, _ = select.select([self._source(), self._pipe_read], [], [], timeout)
            interrupted = self._pipe_read in ready
            if interrupted:
                os.read(self._pipe_read, 512)  # readable, so it cannot block; one read drains it
            # Draining a source that is not ready finds nothing and does not wait.
            rung = self._drain_source()
        except Exception as error:  # noqa: BLE001 - any failure of the source: poll instead
            log.warning("Wake-ups stopped, the worker polls until it listens again: %s", error)
            self.broken = True
            return False
        return rung or interrupted

    def interrupt(self) -> None:
        with self._pipe_guard:
            if not self._closed:
                os.write(self._pipe_write, b"\x01")

    def close(self) -> None:
        with self._pipe_guard:
            self._closed = True
            os.close(self._pipe_read)
            os.close(self._pipe_write)


class _SocketListener(Listener):
    def __init__(self, directory: Path) -> None:
        directory.mkdir(mode=0o700, exist_ok=True)
        self.path = directory / f"{os.getpid()}-{uuid.uuid4().hex[:8]}.sock"
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self._socket.bind(str(self.path))
        except OSError:
            self._socket.close()
            raise
        self._socket.setblocking(False)
        super().__init__()

    def _source(self) -> Any:
        return self._socket

    def _drain_source(self) -> bool:
        rung = False
        while True:  # many rings while busy make one wake-up
            try:
                self._socket.recv(64)
            except (BlockingIOError, OSError):
                return rung
            rung = True

    def close(self) -> None:
        super().close()
        self._socket.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


class _PostgresListener(Listener):
    def __init__(self, engine: Engine) -> None:
        # A connection of its own, out of the pool: it stays LISTENing for the worker's life.
        pooled = engine.raw_connection()
        pooled.detach()
        self._connection = pooled.dbapi_connection
        self._connection.autocommit = True
        self._connection.execute(f"LISTEN {CHANNEL}")
        super().__init__()

    def _source(self) -> Any:
        return self._connection.fileno()

    def _drain_source(self) -> bool:
        # libpq's own calls, which never wait: read what the socket holds, then take the
        # notifications parsed from it. (psycopg's `notifies()` would wait up to a timeout.)
        # A connection PostgreSQL dropped raises in `consume_input` (or at `fileno` after).
        pgconn = self._connection.pgconn
        pgconn.consume_input()
        rung = False
        while pgconn.notifies() is not None:  # many rings while busy make one wake-up
            rung = True
        return rung

    def close(self) -> None:
        super().close()
        with contextlib.suppress(Exception):
            self._connection.close()
