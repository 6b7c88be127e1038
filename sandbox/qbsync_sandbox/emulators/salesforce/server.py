"""Serving the emulator over HTTPS on 127.0.0.1 (werkzeug's threaded server, `http_server`)."""

from __future__ import annotations

import threading
from pathlib import Path

from flask import Flask
from werkzeug.serving import BaseWSGIServer

from qbsync_sandbox.emulators.http_server import make_emulator_server
from qbsync_sandbox.emulators.salesforce import tls


def make_https_server(
    app: Flask, tls_dir: Path | str, port: int = 0
) -> tuple[BaseWSGIServer, str, Path]:
    """A threaded HTTPS server bound to 127.0.0.1 with a freshly generated CA.

    Returns (server, base_url, ca_path); trust `ca_path` (e.g. REQUESTS_CA_BUNDLE) to call it.
    """
    ca_path, cert_path, key_path = tls.generate(tls_dir)
    server = make_emulator_server(
        "127.0.0.1", port, app, ssl_context=tls.server_context(cert_path, key_path)
    )
    return server, f"https://127.0.0.1:{server.server_port}", ca_path


def run_in_thread(
    app: Flask, tls_dir: Path | str, port: int = 0
) -> tuple[BaseWSGIServer, str, Path]:
    """Start the emulator in a daemon thread; stop it with `server.shutdown()`."""
    server, base_url, ca_path = make_https_server(app, tls_dir, port)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},  # quick shutdown() in tests
        name="salesforce-emulator",
        daemon=True,
    )
    thread.start()
    return server, base_url, ca_path
