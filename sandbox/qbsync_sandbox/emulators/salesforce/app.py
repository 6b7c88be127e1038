"""The Salesforce emulator as a Flask app: OAuth, REST API, admin API and the records page."""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass, field

from flask import Flask, Response, g, has_request_context, jsonify, request
from werkzeug.exceptions import HTTPException

from qbsync_sandbox.emulators import network
from qbsync_sandbox.emulators.salesforce import bulk, metadata_api, records, rest
from qbsync_sandbox.emulators.salesforce.actions import actions
from qbsync_sandbox.emulators.salesforce.admin import admin
from qbsync_sandbox.emulators.salesforce.auth import Authority, OAuthError
from qbsync_sandbox.emulators.salesforce.cometd import ADVICE_TIMEOUT_MS, CometdServer, cometd
from qbsync_sandbox.emulators.salesforce.composite import composite
from qbsync_sandbox.emulators.salesforce.deploy import Deployments
from qbsync_sandbox.emulators.salesforce.errors import ApiError
from qbsync_sandbox.emulators.salesforce.faults import Faults
from qbsync_sandbox.emulators.salesforce.formula import FormulaError
from qbsync_sandbox.emulators.salesforce.identity import identity
from qbsync_sandbox.emulators.salesforce.store import Org


@dataclass
class EmulatorState:
    """Everything the routes share (`app.extensions["salesforce"]`)."""

    org: Org
    authority: Authority
    faults: Faults = field(default_factory=Faults)
    cursors: OrderedDict = field(default_factory=OrderedDict)
    ingest_jobs: bulk.IngestJobs = field(default_factory=bulk.IngestJobs)
    deployments: Deployments | None = None  # the Metadata API's deploys (made with the app)
    cometd: CometdServer | None = None  # Streaming API clients (made with the app)


def _json(body, status: int) -> Response:
    return Response(json.dumps(body), status, mimetype="application/json")


_API_PATH = re.compile(r"^/services/data/v(?P<version>\d+\.\d)(?P<rest>/.*)?$")


def _change_origin() -> tuple[str | None, str]:
    """ChangeEventHeader's commitUser and changeOrigin for the request in hand: REST calls are
    `com/salesforce/api/rest/<version>`, Bulk API 2.0 ones `com/salesforce/api/bulkapi/<version>`
    (the format of apex_class_eventbus_ChangeEventHeader.htm); the admin API's writes have none."""
    if not has_request_context():
        return None, ""
    user = getattr(g, "salesforce_user", None)
    match = _API_PATH.match(request.path)
    if match is None:
        return (user.id if user else None), ""
    api = "bulkapi" if (match["rest"] or "").startswith("/jobs/") else "rest"
    return (user.id if user else None), f"com/salesforce/api/{api}/{match['version']}"


# "In each REST call, the maximum length for the combined URI and headers is 16,384 bytes": over
# it, 414 URI Too Long (the URI alone) or 431 Request Header Fields Too Large (Help article
# 000386264). The body is the HTML page clients report (sfpowerscripts #860); 431's by analogy.
MAX_URI_AND_HEADERS = 16_384


def _request_too_long() -> Response | None:
    uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
    size = len(uri.encode())
    if size > MAX_URI_AND_HEADERS:
        status, reason = 414, "URI Too Long"
    elif (
        size + sum(len(f"{k}: {v}\r\n".encode()) for k, v in request.headers) > MAX_URI_AND_HEADERS
    ):
        status, reason = 431, "Request Header Fields Too Large"
    else:
        return None
    page = f"<h1>Bad Message {status}</h1><pre>reason: {reason}</pre>"
    return Response(page, status, mimetype="text/html")


def create_salesforce_app(
    org: Org,
    *,
    client_id: str,
    certificate_pem: bytes | str | None = None,
    client_secret: str | None = None,
    username: str | None = None,
    session_seconds: float = 7200.0,
    latency_ms: int = 0,
    cometd_hold_seconds: float = ADVICE_TIMEOUT_MS / 1000,
) -> Flask:
    """A Flask app emulating one org.

    `certificate_pem` is the connected app's X.509 certificate (JWT bearer flow);
    `client_secret` enables the client-credentials flow, which runs as `username` (default: the
    org's integration user); the JWT bearer flow logs in `username` or any user of the org (`sub`).
    REST calls run as the session's user, with its permissions. Sessions last `session_seconds`.
    Every request but the admin API's waits `latency_ms` first (emulators/network.py).
    A CometD connect without events is held `cometd_hold_seconds` (Salesforce: 110 s).
    """
    app = Flask(__name__)
    app.json.sort_keys = False  # field order as Salesforce returns it
    authority = Authority(
        org_id=org.org_id,
        client_id=client_id,
        username=username or org.username,
        user_ids=lambda name: user.id if (user := org.user(name)) else None,
        certificate_pem=certificate_pem,
        client_secret=client_secret,
        session_seconds=session_seconds,
    )
    state = EmulatorState(
        org=org,
        authority=authority,
        deployments=Deployments(org),
        cometd=CometdServer(org, hold_seconds=cometd_hold_seconds),
    )
    org.change_origin = _change_origin
    app.extensions["salesforce"] = state
    app.register_blueprint(rest.rest)
    app.register_blueprint(actions)
    app.register_blueprint(metadata_api.metadata_rest)
    app.register_blueprint(metadata_api.metadata_soap)
    app.register_blueprint(records.records)
    app.register_blueprint(bulk.bulk)
    app.register_blueprint(composite)
    app.register_blueprint(identity)
    app.register_blueprint(admin)
    app.register_blueprint(cometd)

    @app.post("/services/oauth2/token")
    def token():
        try:
            body = authority.token(
                request.form.to_dict(),
                request.headers.get("Authorization"),
                request.host_url.rstrip("/"),
                org.user_id,
            )
        except OAuthError as error:
            return _json(
                {"error": error.error, "error_description": error.description}, error.status
            )
        return jsonify(body)

    @app.before_request
    def guard_rest():
        if not request.path.startswith("/services/data"):
            return None
        too_long = _request_too_long()
        if too_long is not None:
            return too_long
        if request.path.rstrip("/") == "/services/data":
            # The version list needs no session (REST API guide, "Versions").
            return None
        rest.apply_request_faults()
        username = authority.session_user(request.headers.get("Authorization"))
        if username is None:
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        # A session of a `username` the org has no user for (create_salesforce_app's argument)
        # runs as the integration user.
        g.salesforce_user = org.user(username) or org.integration_user
        with org.lock:
            if org.api_usage >= org.api_limit:
                raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            org.api_usage += 1
        return None

    @app.after_request
    def limit_header(response: Response) -> Response:
        if request.path.startswith("/services/data/v"):
            response.headers["Sforce-Limit-Info"] = f"api-usage={org.api_usage}/{org.api_limit}"
        return response

    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        return _json(error.body(), error.status)

    @app.errorhandler(FormulaError)
    def formula_error(error: FormulaError):
        # A validation rule the emulator cannot evaluate is a gap in the emulator, said plainly.
        return _json([{"message": f"Emulator: {error}", "errorCode": "UNKNOWN_EXCEPTION"}], 500)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if request.path.startswith("/services/"):
            if error.code == 405:
                allowed = ",".join(error.valid_methods or [])
                message = f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}"
                return _json([{"errorCode": "METHOD_NOT_ALLOWED", "message": message}], 405)
            if error.code == 404:
                return _json(rest.not_found().body(), 404)
            return _json(
                [{"errorCode": "UNKNOWN_EXCEPTION", "message": error.description}], error.code
            )
        return error

    network.install(app, latency_ms)
    return app
