"""Stalled clients: connections that send part of a request's headers, then nothing.

`StalledPool` keeps a number of them open against a web process; one the server closes is opened
again at once, as an attacker would. Used by tests/e2e/test_slow_clients.py and `./scripts/bench`.
"""

from __future__ import annotations

import selectors
import socket
import threading

# Part of a request line and its headers, never finished.
PARTIAL_REQUEST = b"POST /webhooks/quickbooks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: applic"


class StalledPool:
    """Holds `size` half-sent requests open to `host:port` while the `with` block runs."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.address, self.size = (host, port), size
        self.selector = selectors.DefaultSelector()
        self.opened = 0
        self.closed_by_server = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._hold, name="stalled-pool", daemon=True)

    @property
    def held(self) -> int:
        return len(self.selector.get_map())

    def _fill(self) -> None:
        while self.held < self.size:
            conn = socket.create_connection(self.address, timeout=5)
            conn.sendall(PARTIAL_REQUEST)
            conn.setblocking(False)
            self.selector.register(conn, selectors.EVENT_READ)
            self.opened += 1

    def _hold(self) -> None:
        while not self._stop.is_set():
            for key, _ in self.selector.select(timeout=0.1):
                conn = key.fileobj
                try:
                    data = conn.recv(4096)
                except OSError:
                    data = b""
                if not data:  # the server gave up on this one
                    self.selector.unregister(conn)
                    conn.close()
                    self.closed_by_server += 1
            self._fill()

    def __enter__(self) -> StalledPool:
        self._fill()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()
        self.selector.close()
