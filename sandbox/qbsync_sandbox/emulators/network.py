"""What both emulators add around their API: injected network latency, and a meter of their own time.

Issue 19's benchmark runs the sync against emulators that answer in microseconds over loopback,
while Intuit's and Salesforce's servers are a wide-area round trip away; `Network` makes every API
request wait a configurable latency before it is handled (defaults for the benchmark: QuickBooks
120 ms, Salesforce 180 ms; 0 elsewhere). Both emulators serve with werkzeug's threaded server (a
thread per request), so concurrent requests each wait their own latency instead of queueing.

It also counts the time the emulator itself spends handling requests (wall and CPU, latency
excluded), so a benchmark can print the product's share apart from the emulators'. The admin
routes (`/_admin/…`) are the test harness's, not the product's: no latency, not counted.

`GET /_admin/network` reads the figures, `PUT /_admin/network {"latency_ms": N}` changes the
latency of a running emulator, `DELETE /_admin/network/meter` zeroes the counters.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from flask import Flask, jsonify, request

ADMIN_PREFIX = "/_admin"
MAX_LATENCY_MS = 60_000


class Network:
    """WSGI middleware: sleep the latency, then run the app and meter the time it takes."""

    def __init__(self, app: Callable, latency_ms: int = 0) -> None:
        check_latency(latency_ms)
        self._app = app
        self._lock = threading.Lock()
        self.latency_ms = latency_ms
        self.requests = 0
        self.busy_seconds = 0.0  # wall time inside the app, summed over concurrent requests
        self.cpu_seconds = 0.0  # CPU time of the handling threads

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(ADMIN_PREFIX):
            return self._app(environ, start_response)
        latency_ms = self.latency_ms
        if latency_ms:
            time.sleep(latency_ms / 1000)
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return self._app(environ, start_response)
        finally:
            # Flask builds the body before returning it; iterating it after this is only I/O.
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            with self._lock:
                self.requests += 1
                self.busy_seconds += wall
                self.cpu_seconds += cpu

    def figures(self) -> dict:
        with self._lock:
            return {
                "latency_ms": self.latency_ms,
                "requests": self.requests,
                "busy_seconds": round(self.busy_seconds, 6),
                "cpu_seconds": round(self.cpu_seconds, 6),
            }

    def reset_meter(self) -> None:
        with self._lock:
            self.requests, self.busy_seconds, self.cpu_seconds = 0, 0.0, 0.0


def check_latency(latency_ms: object) -> None:
    if (
        not isinstance(latency_ms, int)
        or isinstance(latency_ms, bool)
        or not 0 <= latency_ms <= MAX_LATENCY_MS
    ):
        raise ValueError(f"latency_ms must be an integer from 0 to {MAX_LATENCY_MS}")


def install(app: Flask, latency_ms: int = 0) -> Network:
    """Wrap `app` in a `Network` and add its admin routes; returns it."""
    network = Network(app.wsgi_app, latency_ms)
    app.wsgi_app = network
    app.extensions["network"] = network

    def read():
        return jsonify(network.figures())

    def change():
        body = request.get_json(silent=True)
        latency_ms = body.get("latency_ms") if isinstance(body, dict) else None
        try:
            check_latency(latency_ms)
        except ValueError as error:
            return jsonify({"error": str(error)}), 400
        network.latency_ms = latency_ms
        return jsonify(network.figures())

    def reset():
        network.reset_meter()
        return "", 204

    app.add_url_rule(f"{ADMIN_PREFIX}/network", "network_read", read, methods=["GET"])
    app.add_url_rule(f"{ADMIN_PREFIX}/network", "network_change", change, methods=["PUT"])
    app.add_url_rule(f"{ADMIN_PREFIX}/network/meter", "network_reset", reset, methods=["DELETE"])
    return network
