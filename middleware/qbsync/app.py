"""The web process: a Flask app built by `create_app`, served by gunicorn via `wsgi_app()`."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Flask, Response, current_app, jsonify
from werkzeug.exceptions import HTTPException

from qbsync.config import Settings, load_settings
from qbsync.ledger import Ledger, LedgerUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """What request handlers need, attached to the app by `create_app`."""

    settings: Settings
    ledger: Ledger


def services() -> Services:
    """The current app's services (inside a request or app context)."""
    return current_app.extensions["qbsync"]


def create_app(settings: Settings | None = None, ledger: Ledger | None = None) -> Flask:
    """Build the web app; without arguments, settings come from the environment (role "web")."""
    settings = settings if settings is not None else load_settings(role="web")
    ledger = ledger if ledger is not None else Ledger.from_url(settings.database_url)
    app = Flask(__name__)
    # Werkzeug stops reading a body without Content-Length (chunked) at this maximum, silently;
    # one byte more lets the view see that the body was too large and answer 413.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes + 1
    app.extensions["qbsync"] = Services(settings=settings, ledger=ledger)

    # Imported here: the views import `services` from this module.
    from qbsync.connections import ConnectionServices
    from qbsync.connections import blueprint as connections
    from qbsync.events_api import blueprint as events_api
    from qbsync.webhooks.views import blueprint as webhooks

    app.extensions["qbsync.connections"] = ConnectionServices(settings=settings, ledger=ledger)
    app.register_blueprint(webhooks)
    app.register_blueprint(connections)
    app.register_blueprint(events_api)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(LedgerUnavailable, _ledger_unavailable)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _http_error(error: HTTPException) -> Response:
    # Keep Werkzeug's status and headers (e.g. Allow on 405), replace the HTML page.
    response = error.get_response()
    response.set_data(json.dumps({"error": error.description, "status": error.code}))
    response.content_type = "application/json"
    return response


def _ledger_unavailable(error: LedgerUnavailable) -> tuple[Response, int, dict[str, str]]:
    # Not the sender's fault: 503 makes Intuit deliver the same batch again later.
    log.error("%s", error)
    body = jsonify(error="the event ledger is unavailable; try again later", status=503)
    return body, 503, {"Retry-After": "10"}


def _unexpected_error(error: Exception) -> tuple[Response, int]:
    log.exception("unexpected error (%s)", type(error).__name__)
    return jsonify(error="internal error", status=500), 500


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's `extra` fields.

    Handlers pass counts and ids as `extra`, never bodies, headers or settings values.
    """

    _standard = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in self._standard})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    """JSON log lines on stderr for the `qbsync` loggers."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger("qbsync")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def wsgi_app() -> Flask:
    """Gunicorn's entry point: `gunicorn 'qbsync.app:wsgi_app()'`."""
    settings = load_settings(role="web")
    configure_logging(settings.log_level)
    return create_app(settings)
