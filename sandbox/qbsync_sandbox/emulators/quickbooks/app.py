"""The QuickBooks Online emulator as a Flask app."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Flask, Response, jsonify

from qbsync_sandbox.emulators import network
from qbsync_sandbox.emulators.quickbooks import accounting, admin, oauth
from qbsync_sandbox.emulators.quickbooks.delivery import Deliverer, DeliverySettings
from qbsync_sandbox.emulators.quickbooks.emulator import EXTENSION_KEY, QboEmulator
from qbsync_sandbox.emulators.quickbooks.injection import FaultInjector
from qbsync_sandbox.emulators.quickbooks.state import QboState
from qbsync_sandbox.emulators.quickbooks.throttle import RealmLimits
from qbsync_sandbox.emulators.quickbooks.tokens import TokenStore
from qbsync_sandbox.emulators.quickbooks.webhooks import event_source


def create_qbo_app(
    state: QboState | None = None,
    *,
    verifier_token: str,
    client_id: str,
    client_secret: str,
    webhook_url: str | None = None,
    webhook_format: str = "cloudevents",
    redirect_uris: Sequence[str] | None = None,
    access_token_ttl: int = 3600,
    delivery: dict[str, Any] | None = None,
    start_deliverer: bool = True,
    latency_ms: int = 0,
    rate_limits: bool = False,
) -> Flask:
    """Build the emulator.

    `state`: the companies (a new one with one company when omitted). `redirect_uris`: the
    registered redirect URIs (None accepts any http(s) URI). `delivery`: further
    `DeliverySettings` fields (batch_interval, retry_scale, duplicate_rate, seed, …).
    The webhook deliverer thread starts at once unless `start_deliverer` is False; stop it with
    `app.extensions["qbo_emulator"].close()`. `latency_ms`: injected network latency per request
    (emulators/network.py); `rate_limits`: enforce Intuit's per-realm limits (throttle.py).
    """
    for name, value in (
        ("verifier_token", verifier_token),
        ("client_id", client_id),
        ("client_secret", client_secret),
    ):
        if not value:
            raise ValueError(f"{name} is required")
    if state is None:
        state = QboState()
        state.create_company()
    # Tokens age on the companies' clock, so a test can let 100 days pass.
    tokens = TokenStore(clock=state.now, access_ttl=access_token_ttl)
    settings = DeliverySettings(url=webhook_url, format=webhook_format, **(delivery or {}))
    deliverer = Deliverer(
        settings,
        verifier_token=verifier_token,
        source=event_source(client_id),
        is_connected=tokens.is_connected,
    )
    state.subscribe(deliverer.enqueue)
    app = Flask(__name__, static_folder=None)
    app.json.sort_keys = False  # keep Intuit's field order in bodies
    app.extensions[EXTENSION_KEY] = QboEmulator(
        state=state,
        tokens=tokens,
        faults=FaultInjector(),
        limits=RealmLimits(state.now, enabled=rate_limits),
        deliverer=deliverer,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=tuple(redirect_uris) if redirect_uris is not None else None,
    )
    app.register_blueprint(oauth.blueprint)
    app.register_blueprint(accounting.blueprint)
    app.register_blueprint(admin.blueprint)

    @app.errorhandler(404)
    def _not_found(error: Exception) -> tuple[Response, int]:
        return jsonify({"error": "no such endpoint on the QuickBooks emulator"}), 404

    @app.errorhandler(405)
    def _wrong_method(error: Exception) -> tuple[Response, int]:
        return jsonify({"error": "method not allowed on this endpoint"}), 405

    network.install(app, latency_ms)
    if start_deliverer:
        deliverer.start()
    return app
