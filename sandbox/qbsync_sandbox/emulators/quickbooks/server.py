"""Serving the emulator: werkzeug's threaded server on 127.0.0.1 only (`http_server`)."""

from __future__ import annotations

import threading

from flask import Flask
from werkzeug.serving import BaseWSGIServer

from qbsync_sandbox.emulators.http_server import make_emulator_server

LOOPBACK = "127.0.0.1"


def run_in_thread(app: Flask, port: int = 0) -> tuple[BaseWSGIServer, str]:
    """Serve `app` on 127.0.0.1:`port` (0: any free port) in a daemon thread.

    Returns the server (call `.shutdown()` to stop it) and its base URL.
    """
    server = make_emulator_server(LOOPBACK, port, app)
    # A short poll interval makes shutdown() return quickly (tests start many servers).
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="qbo-emulator-http",
        daemon=True,
    )
    thread.start()
    return server, f"http://{LOOPBACK}:{server.server_port}"
