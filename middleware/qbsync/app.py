"""The web process: a Flask app built by `create_app`, served by gunicorn via `wsgi_app()`."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from qbsync.backfills_api import blueprint as backfills_api
from qbsync.company_checks import blueprint as company_checks
from qbsync.config import Settings, load_settings
from qbsync.connections import blueprint as connections
from qbsync.events_api import blueprint as events_api
from qbsync.health import blueprint as health
from qbsync.logs import configure_logging
from qbsync.match_review_api import blueprint as match_reviews
from qbsync.services import EXTENSION, Services
from qbsync.store import StoreUnavailable
from qbsync.webhooks.views import blueprint as webhooks

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 10


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    """Build the web app on `services`, or on services built from `settings`; without either,
    settings come from the environment (role "web")."""
    if services is None:
        services = Services(settings if settings is not None else load_settings(role="web"))
    settings = services.settings
    app = Flask(__name__)
    # Werkzeug stops reading a body without Content-Length (chunked) at this maximum, silently;
    # one byte more lets the view see that the body was too large and answer 413.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes + 1
    app.extensions[EXTENSION] = services
    app.register_blueprint(webhooks)
    app.register_blueprint(health)
    app.register_blueprint(connections)
    app.register_blueprint(events_api)
    app.register_blueprint(match_reviews)
    app.register_blueprint(backfills_api)
    app.register_blueprint(company_checks)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(StoreUnavailable, _store_unavailable)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _http_error(error: HTTPException) -> Response:
    # Keep Werkzeug's status and headers (e.g. Allow on 405), replace the HTML page.
    response = error.get_response()
    response.set_data(json.dumps({"error": error.description, "status": error.code}))
    response.content_type = "application/json"
    return response


def _store_unavailable(error: StoreUnavailable) -> tuple[Response | str, int, dict[str, str]]:
    # Not the caller's fault: 503 makes Intuit deliver the same batch again later, and tells
    # Salesforce and the admin's browser to try again.
    log.error("%s", error)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    message = "the database is unavailable; try again later"
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        # The admin's browser, e.g. on the OAuth callback: a page, not JSON.
        page = render_template(
            "oauth_result.html",
            title="Please try again",
            text=f"The middleware's {message}.",
            ok=False,
        )
        return page, 503, headers
    return jsonify(error=message, status=503), 503, headers


def _unexpected_error(error: Exception) -> tuple[Response, int]:
    log.exception("unexpected error (%s)", type(error).__name__)
    return jsonify(error="internal error", status=500), 500


def wsgi_app() -> Flask:
    """Gunicorn's entry point: `gunicorn 'qbsync.app:wsgi_app()'`."""
    settings = load_settings(role="web")
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
