"""The QB Setup tab as a local page: the package's LWC bundle, SLDS, and the Salesforce it needs.

The bundle (`./scripts/preview-build` → preview/dist) is the package's own components compiled with
LWC OSS; its Salesforce-only modules call this server:

- `POST /apex/<Class>/<method>` with the method's named parameters as a JSON object: the
  `@AuraEnabled` contracts of QBSetupController (qbsync_preview.apex),
  QBConnectionController (qbsync_preview.connection), QBSyncLogController (qbsync_preview.sync_log),
  QBBackfillController (qbsync_preview.backfill), QBHealthController (qbsync_preview.health)
  and QBCatalogController (the static resource QBSync_Catalog as stored), answered with the method's JSON result, or 400
  `{"message", "exceptionType"}` as an AuraHandledException reaches a component;
- `GET /ui-api/object-info/<Object>`: the UI API ObjectInfo (`lightning/uiObjectInfoApi`).

Both go to the Salesforce emulator's REST API through simple-salesforce, logged in like the
middleware (JWT bearer or client credentials), so the emulator's save rules apply.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import requests
from flask import Flask, abort, jsonify, request, send_from_directory
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError as SimpleSalesforceError
from simple_salesforce.exceptions import SalesforceExpiredSession
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, make_server

from qbsync.catalog import parse_catalog
from qbsync.config import Settings
from qbsync.salesforce.auth import login
from qbsync.salesforce.errors import SalesforceError
from qbsync_preview.apex import (
    ApexError,
    SetupController,
    controller_methods,
    first_error_message,
)
from qbsync_preview.backfill import BackfillController, backfill_methods
from qbsync_preview.connection import (
    ConnectionController,
    MiddlewareApi,
    connection_methods,
)
from qbsync_preview.health import HealthController, health_methods
from qbsync_preview.sync_log import SyncLogController

# This server is installed in development mode from preview/server: the bundle it serves and the
# SLDS package it takes the assets from are built and installed in preview/ beside it.
PREVIEW_DIR = Path(__file__).resolve().parents[2]
DEFAULT_BUNDLE_DIR = PREVIEW_DIR / "dist"
DEFAULT_ASSETS_DIR = PREVIEW_DIR / "node_modules" / "@salesforce-ux" / "design-system" / "assets"
# The catalog as the package deploys it (force-app beside preview/); QBCatalogController serves
# these bytes.
CATALOG_RESOURCE = (
    PREVIEW_DIR.parent
    / "force-app"
    / "main"
    / "default"
    / "staticresources"
    / "QBSync_Catalog.json"
)
_OBJECT_NAME = re.compile(r"^[A-Za-z]\w*$")
_API_VERSION = re.compile(r"^\d{2,3}\.0$")
# Longer than the emulator holds a CometD connect without events (110 s, the Bayeux advice).
COMETD_READ_SECONDS = 130


class OrgConnection:
    """A simple-salesforce client on the emulator, logged in once and again when the session ends."""

    def __init__(self, settings: Settings, ca_path: str | Path) -> None:
        self._settings = settings
        self._session = requests.Session()
        # The emulator's own CA; trust_env off so a REQUESTS_CA_BUNDLE meant for others can't win.
        self._session.trust_env = False
        self._session.verify = str(ca_path)
        # Long polls (CometD) get their own connection pool: a connect held open for up to 110 s
        # must not take a connection the Apex twins' REST calls need.
        self._streaming = requests.Session()
        self._streaming.trust_env = False
        self._streaming.verify = str(ca_path)
        self._client: Salesforce | None = None
        self._lock = threading.Lock()
        # Who the Apex runs as (UserInfo.getUserId()): the logged-in user.
        self.user_id: str | None = None

    @property
    def session(self) -> requests.Session:
        """The HTTP session for Streaming API long polls."""
        return self._streaming

    def client(self, *, fresh: bool = False) -> Salesforce:
        with self._lock:
            if self._client is None or fresh:
                credentials = login(self._settings, self._session)
                self.user_id = credentials.user_id
                self._client = Salesforce(
                    instance_url=credentials.instance_url,
                    session_id=credentials.access_token,
                    version=self._settings.salesforce_api_version,
                    session=self._session,
                )
            return self._client

    def system_update(self, sobject: str, record_id: str, values: dict) -> None:
        """A DML the Apex runs in system mode (`AccessLevel.SYSTEM_MODE`): no user's permissions
        apply. The emulator's admin API is that mode (the preview runs only on the emulator)."""
        response = self._session.patch(
            f"{self._settings.salesforce_login_url}/_admin/records/{sobject}/{record_id}",
            json=values,
            timeout=10,
        )
        if response.status_code != 204:
            errors = response.json().get("errors") or [{"message": response.text}]
            raise ApexError(errors[0]["message"])

    def call(self, action: Callable[[], Any]) -> Any:
        """Run `action`; on INVALID_SESSION_ID log in again and run it once more."""
        try:
            return action()
        except SalesforceExpiredSession:
            self.client(fresh=True)
            return action()


def create_preview_app(
    salesforce_base_url: str,
    ca_path: str | Path,
    *,
    client_id: str,
    username: str = "",
    private_key_file: str | Path = "",
    client_secret: str = "",
    api_version: str = "66.0",
    bundle_dir: str | Path | None = None,
    assets_dir: str | Path | None = None,
    middleware_url: str | None = None,
    middleware_api_key: str | None = None,
) -> Flask:
    """The preview server for the Salesforce emulator at `salesforce_base_url` (https).

    Log-in as the middleware does: JWT bearer with `private_key_file` (and `username`), else client
    credentials with `client_secret`. The user should be the admin who would open the QB Setup
    tab (permission set QuickBooks_Sync_Admin): the Apex runs in user mode, and the emulator
    enforces that user's permissions on every call. `bundle_dir` holds index.html and app.js (default
    preview/dist), `assets_dir` the SLDS assets (default: the preview's design-system package).
    `middleware_url` and `middleware_api_key` stand in for the QBSync_Middleware Named Credential
    (QBConnectionController, configuration-change notifications); without them those calls fail
    with the message an org shows when the middleware cannot be reached.
    """
    if not private_key_file and not client_secret:
        raise ValueError("give private_key_file (JWT bearer) or client_secret")
    settings = Settings(
        salesforce_login_url=salesforce_base_url.rstrip("/"),
        salesforce_client_id=client_id,
        salesforce_username=username,
        salesforce_private_key_file=str(private_key_file),
        salesforce_client_secret=client_secret,
        salesforce_api_version=api_version,
    )
    connection = OrgConnection(settings, ca_path)
    middleware = MiddlewareApi(middleware_url, middleware_api_key)
    connections = ConnectionController(
        connection.client,
        middleware,
        # The page calling the Apex is the QB Setup tab: its origin is the "Lightning" one.
        lambda: request.host_url.rstrip("/"),
    )
    sync_logs = SyncLogController(
        connection.client, middleware, lambda: connection.user_id, connection.system_update
    )
    catalog_json = CATALOG_RESOURCE.read_text(encoding="utf-8")
    classes = {
        "QBSetupController": controller_methods(
            SetupController(
                connection.client,
                connections.notify_companies,
                # QBMappingService validates against the resource QBCatalogController serves.
                parse_catalog(json.loads(catalog_json)),
            )
        ),
        "QBConnectionController": connection_methods(connections),
        "QBSyncLogController": {"retry": sync_logs.retry},
        "QBBackfillController": backfill_methods(BackfillController(connection.client, middleware)),
        "QBHealthController": health_methods(HealthController(connection.client, middleware)),
        "QBCatalogController": {"getCatalog": lambda params: catalog_json},
    }
    bundle = Path(bundle_dir) if bundle_dir else DEFAULT_BUNDLE_DIR
    assets = Path(assets_dir) if assets_dir else DEFAULT_ASSETS_DIR

    app = Flask(__name__)
    app.json.sort_keys = False

    def bundle_file(name: str):
        if not (bundle / name).is_file():
            abort(
                503,
                f"The preview bundle is not built ({bundle / name} is missing): run ./scripts/preview-build",
            )
        response = send_from_directory(bundle, name)
        response.cache_control.no_store = True
        return response

    @app.get("/")
    def page():
        """The QB Setup tab."""
        return bundle_file("index.html")

    @app.get("/app.js")
    def script():
        return bundle_file("app.js")

    @app.get("/assets/<path:name>")
    def slds_asset(name: str):
        """SLDS stylesheet, icons and fonts, at the paths the stylesheet refers to."""
        return send_from_directory(assets, name)

    @app.get("/healthz")
    def health():
        return jsonify({"status": "ok", "bundle": (bundle / "app.js").is_file()})

    @app.post("/apex/<class_name>/<method_name>")
    def apex(class_name: str, method_name: str):
        """An `@AuraEnabled` method called by `@salesforce/apex/<Class>.<method>`."""
        method = classes.get(class_name, {}).get(method_name)
        if method is None:
            raise ApexError(f"No @AuraEnabled method {class_name}.{method_name}.", status=404)
        params = request.get_json(silent=True) if request.get_data() else {}
        if not isinstance(params, dict):
            raise ApexError("Send the method's parameters as a JSON object.")
        result = connection.call(lambda: method(params))
        return jsonify(result)

    @app.post("/cometd/<version>")
    def cometd(version: str):
        """The Streaming API's CometD endpoint (`lightning/empApi`), forwarded to the emulator
        with the admin's session as Lightning sends it; a connect is held there up to 110 s."""
        if not _API_VERSION.match(version):
            raise ApexError(f"Not an API version: {version}", status=404)

        def forward() -> requests.Response:
            response = connection.session.post(
                f"{settings.salesforce_login_url}/cometd/{version}",
                data=request.get_data(),
                headers={
                    "Authorization": f"Bearer {connection.client().session_id}",
                    "Content-Type": "application/json",
                },
                timeout=(5, COMETD_READ_SECONDS),
            )
            if response.status_code == 401:
                # The session ended: log in again, as Lightning's own session would be renewed.
                connection.client(fresh=True)
            return response

        response = forward()
        if response.status_code == 401:
            response = forward()
        return app.response_class(
            response.content, response.status_code, mimetype="application/json"
        )

    @app.get("/ui-api/object-info/<sobject>")
    def object_info(sobject: str):
        """`getObjectInfo` of lightning/uiObjectInfoApi, from the emulator's UI API."""
        if not _OBJECT_NAME.match(sobject):
            raise ApexError(f"Not an object API name: {sobject}")
        try:
            info = connection.call(
                lambda: connection.client().restful(f"ui-api/object-info/{sobject}")
            )
        except SimpleSalesforceError as error:
            # The UI API's error body is a list of {errorCode, message}; components read it as is.
            return jsonify(error.content), error.status
        return jsonify(info)

    @app.errorhandler(ApexError)
    def apex_error(error: ApexError):
        body = {"message": error.message, "exceptionType": "System.AuraHandledException"}
        return jsonify(body), error.status

    @app.errorhandler(SimpleSalesforceError)
    def salesforce_refused(error: SimpleSalesforceError):
        # A REST call an Apex method makes failed without a handled message: say what Salesforce said.
        return apex_error(ApexError(first_error_message(error), status=502))

    @app.errorhandler(SalesforceError)
    def login_failed(error: SalesforceError):
        return apex_error(ApexError(f"The preview cannot reach Salesforce: {error}", status=502))

    @app.errorhandler(requests.RequestException)
    def unreachable(error: requests.RequestException):
        message = f"The preview cannot reach Salesforce: {type(error).__name__}"
        return apex_error(ApexError(message, status=502))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return jsonify({"message": error.description}), error.code

    return app


def serve_in_thread(app: Flask, port: int = 0) -> tuple[BaseWSGIServer, str]:
    """Serve the preview on http://127.0.0.1:PORT in a daemon thread; stop with `shutdown()`."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="lwc-preview", daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_port}"


@click.command()
@click.option(
    "--salesforce-url", required=True, help="the Salesforce emulator, https://127.0.0.1:PORT"
)
@click.option(
    "--ca",
    "ca_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the emulator's CA certificate (ca.pem in its --tls-dir)",
)
@click.option("--client-id", required=True, help="connected app consumer key")
@click.option(
    "--username",
    default="",
    help="the admin the QB Setup tab runs as, e.g. admin@qbsync.example (JWT bearer flow)",
)
@click.option(
    "--private-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the connected app's private key (JWT bearer flow)",
)
@click.option(
    "--client-secret-env",
    default="SALESFORCE_CLIENT_SECRET",
    show_default=True,
    help="environment variable holding the consumer secret (client-credentials flow)",
)
@click.option(
    "--middleware-url",
    default=None,
    help="the sync middleware (QBSync_Middleware named credential); its API key in $QBSYNC_API_KEY. "
    "Connect needs http://127.0.0.1:PORT in the middleware's QBSYNC_SALESFORCE_ORIGINS",
)
@click.option("--port", default=8090, show_default=True, type=click.IntRange(0, 65535))
def serve(
    salesforce_url: str,
    ca_path: Path,
    client_id: str,
    username: str,
    private_key: Path | None,
    client_secret_env: str,
    middleware_url: str | None,
    port: int,
) -> None:
    """Serve the QB Setup tab on http://127.0.0.1:PORT until Ctrl-C."""
    client_secret = os.environ.get(client_secret_env, "")
    if private_key is None and not client_secret:
        raise click.UsageError(f"give --private-key (JWT bearer) or set ${client_secret_env}")
    if not (DEFAULT_BUNDLE_DIR / "app.js").is_file():
        raise click.ClickException("the preview is not built: run ./scripts/preview-build")
    app = create_preview_app(
        salesforce_url,
        ca_path,
        client_id=client_id,
        username=username,
        private_key_file=private_key or "",
        client_secret=client_secret,
        middleware_url=middleware_url,
        middleware_api_key=os.environ.get("QBSYNC_API_KEY"),
    )
    try:
        server = make_server("127.0.0.1", port, app, threaded=True)
    except OSError as error:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {error}") from None
    click.echo(f"QB Setup preview: http://127.0.0.1:{server.server_port}/")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    serve()
