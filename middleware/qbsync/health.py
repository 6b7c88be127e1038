"""Health, readiness and metrics, for the web process (a Flask blueprint) and the worker (a small
HTTP server of its own, `serve_worker_health`).

- `/healthz`: the process is alive (no database call: a database outage must not get a healthy
  process restarted). The web's answer also counts the /api calls it refused.
- `/readyz`: the ledger answers a `select 1`; 503 with the reason otherwise (a load balancer
  stops sending webhooks there, and Intuit's retries reach a ready instance). The driver's own
  message, which names the database host, is logged instead of answered.
- `/metrics`: Prometheus' text format (`qbsync.metrics`), only with `Authorization: Bearer
  <QBSYNC_METRICS_TOKEN>`; 404 while no token is configured. The numbers (backlog per realm,
  companies needing reconnect, error rates) are not for the internet, and the web port is.

The worker answers on a port rather than by touching a file: Prometheus has to scrape its
counters over HTTP anyway, and a platform's HTTP check (Kubernetes, a load balancer, a
supervisor) then reads the same answers as the web's.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from flask import Blueprint, Response, jsonify, request

from qbsync import metrics
from qbsync.api_guard import refused_calls
from qbsync.services import Services, current_services
from qbsync.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

blueprint = Blueprint("health", __name__)


def readiness(store: Store) -> tuple[int, dict]:
    """(HTTP status, body) of /readyz."""
    try:
        store.events.ping()
    except StoreUnavailable as error:
        # The driver's words (host, port) go to the log, not to a caller that may be anyone.
        log.warning("not ready: %s", error)
        return 503, {"status": "unavailable", "reason": "the database does not answer"}
    return 200, {"status": "ready"}


def metrics_answer(services: Services, authorization: str | None) -> tuple[int, str, bytes]:
    """(HTTP status, content type, body) of /metrics."""
    token = services.settings.metrics_token
    if not token:
        return 404, "application/json", _json(404, "metrics are off: set QBSYNC_METRICS_TOKEN")
    if not metrics.authorized(authorization, token):
        return 401, "application/json", _json(401, "a Bearer token is required for /metrics")
    body = metrics.exposition(services.store, services.settings.metrics_dir)
    return 200, metrics.CONTENT_TYPE_LATEST, body


def _json(status: int, error: str) -> bytes:
    return json.dumps({"error": error, "status": status}).encode()


# --- the web process ----------------------------------------------------------------------


@blueprint.get("/healthz")
def healthz() -> Response:
    """200 while the process serves requests; with the /api calls this process refused."""
    return jsonify(status="ok", refusedApiCalls=refused_calls())


@blueprint.get("/readyz")
def readyz() -> tuple[Response, int]:
    status, body = readiness(current_services().store)
    return jsonify(body), status


@blueprint.get("/metrics")
def metrics_view() -> Response:
    status, content_type, body = metrics_answer(
        current_services(), request.headers.get("Authorization")
    )
    return Response(body, status=status, content_type=content_type)


# --- the worker ---------------------------------------------------------------------------


def serve_worker_health(
    services: Services, bind: str, alive: Callable[[], bool]
) -> ThreadingHTTPServer:
    """Answer /healthz, /readyz and /metrics on `bind` (host:port) from a daemon thread.

    `alive` says whether the worker's loop still runs; /healthz answers 503 once it does not.
    """
    host, _, port = bind.rpartition(":")

    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # seconds a client may take with its request

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path == "/healthz":
                ok = alive()
                body = {"status": "ok" if ok else "stopped"}
                self._send(200 if ok else 503, "application/json", json.dumps(body).encode())
            elif self.path == "/readyz":
                status, answer = readiness(services.store)
                self._send(status, "application/json", json.dumps(answer).encode())
            elif self.path == "/metrics":
                self._send(*metrics_answer(services, self.headers.get("Authorization")))
            else:
                self._send(404, "application/json", _json(404, "not found"))

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            log.debug("worker health: " + format, *args)

    server = ThreadingHTTPServer((host.strip("[]"), int(port)), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="worker-health", daemon=True).start()
    log.info("Worker health, readiness and metrics on http://%s/", bind)
    return server
