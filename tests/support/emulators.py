"""The QuickBooks emulator served for a test: started on 127.0.0.1 in a thread, stopped after."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask

from qbsync_sandbox.emulators.quickbooks import run_in_thread


@contextmanager
def serving_quickbooks(app: Flask) -> Iterator[str]:
    """Serve the emulator `app` (from create_qbo_app); its base URL. On exit the server stops and
    the app's webhook deliverer is closed, so no thread outlives the test."""
    server, url = run_in_thread(app)
    try:
        yield url
    finally:
        server.shutdown()
        app.extensions["qbo_emulator"].close()
