"""`qbo`: run the QuickBooks emulator and drive it (mounted as `qbsync-sandbox qbo …`)."""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

import click
import requests

DEFAULT_PORT = 8085
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"
_LOOPBACK = ("127.0.0.1", "localhost")

url_option = click.option(
    "--url",
    envvar="QBO_EMULATOR_URL",
    default=DEFAULT_URL,
    show_default=True,
    help="base URL of a running emulator",
)
realm_option = click.option(
    "--realm", envvar="QBO_EMULATOR_REALM", help="company realmId (default: the only company)"
)


@click.group()
def qbo() -> None:
    """Local QuickBooks Online emulator."""


@qbo.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="loopback only")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=click.IntRange(0, 65535))
@click.option("--verifier-token", envvar="INTUIT_WEBHOOK_VERIFIER_TOKEN", required=True)
@click.option("--client-id", envvar="INTUIT_CLIENT_ID", required=True)
@click.option("--client-secret", envvar="INTUIT_CLIENT_SECRET", required=True)
@click.option("--webhook-url", help="where webhooks are POSTed (none: no delivery)")
@click.option(
    "--format",
    "webhook_format",
    type=click.Choice(["cloudevents", "legacy"]),
    default="cloudevents",
    show_default=True,
)
@click.option(
    "--realm",
    default="9341455130166501",
    show_default=True,
    help="realmId of the company created at start",
)
@click.option("--company-name", default="Sandbox Company_US_1", show_default=True)
@click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    help="registered redirect URI (repeat; none: any)",
)
@click.option("--access-token-ttl", default=3600, show_default=True, type=click.IntRange(1))
@click.option(
    "--retry-scale",
    default=0.01,
    show_default=True,
    type=click.FloatRange(0),
    help="multiplies Intuit's retry delays",
)
@click.option(
    "--duplicate-rate",
    default=0.0,
    type=click.FloatRange(0, 1),
    help="chance a batch is delivered twice",
)
@click.option(
    "--reorder-rate", default=0.0, type=click.FloatRange(0, 1), help="chance a batch is reordered"
)
@click.option(
    "--drop-rate",
    default=0.0,
    type=click.FloatRange(0, 1),
    help="chance a batch is never delivered",
)
@click.option("--seed", type=int, help="seed of the chaos random generator")
@click.option(
    "--latency-ms",
    default=0,
    show_default=True,
    type=click.IntRange(0, 60_000),
    help="injected network latency per API request (the benchmark uses 120)",
)
@click.option(
    "--rate-limits/--no-rate-limits",
    default=False,
    show_default=True,
    help="enforce Intuit's per-realm limits: 500 requests a minute, 10 a second (429)",
)
def serve(
    host: str,
    port: int,
    verifier_token: str,
    client_id: str,
    client_secret: str,
    webhook_url: str | None,
    webhook_format: str,
    realm: str,
    company_name: str,
    redirect_uris: tuple[str, ...],
    access_token_ttl: int,
    retry_scale: float,
    duplicate_rate: float,
    reorder_rate: float,
    drop_rate: float,
    seed: int | None,
    latency_ms: int,
    rate_limits: bool,
) -> None:
    """Run the emulator until Ctrl-C."""
    from qbsync_sandbox.emulators.http_server import make_emulator_server
    from qbsync_sandbox.emulators.quickbooks.app import create_qbo_app
    from qbsync_sandbox.emulators.quickbooks.emulator import EXTENSION_KEY
    from qbsync_sandbox.emulators.quickbooks.errors import AdminError
    from qbsync_sandbox.emulators.quickbooks.state import QboState

    if host not in _LOOPBACK:
        raise click.BadParameter("the emulator only listens on 127.0.0.1", param_hint="--host")
    state = QboState()
    try:
        state.create_company(realm, company_name)
    except AdminError as error:
        raise click.BadParameter(error.message, param_hint="--realm") from None
    try:
        app = create_qbo_app(
            state,
            verifier_token=verifier_token,
            client_id=client_id,
            client_secret=client_secret,
            webhook_url=webhook_url,
            webhook_format=webhook_format,
            redirect_uris=redirect_uris or None,
            access_token_ttl=access_token_ttl,
            delivery={
                "retry_scale": retry_scale,
                "duplicate_rate": duplicate_rate,
                "reorder_rate": reorder_rate,
                "drop_rate": drop_rate,
                "seed": seed,
            },
            latency_ms=latency_ms,
            rate_limits=rate_limits,
        )
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    try:
        server = make_emulator_server("127.0.0.1", port, app)
    except OSError as error:
        app.extensions[EXTENSION_KEY].close()
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {error.strerror}") from None
    stop = threading.Event()

    def _shutdown(*_: Any) -> None:
        if not stop.is_set():
            stop.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _shutdown)
    base = f"http://127.0.0.1:{server.server_port}"
    click.echo(
        f"QuickBooks emulator on {base} (realm {realm}, webhooks {webhook_format} → {webhook_url or 'off'})"
    )
    click.echo(f"admin API: {base}/_admin")
    try:
        server.serve_forever()
    finally:
        app.extensions[EXTENSION_KEY].close()
        server.server_close()


@qbo.command()
@click.argument("entity")
@url_option
@realm_option
@click.option("--json", "body", required=True, help='the record, e.g. \'{"DisplayName": "Acme"}\'')
def create(entity: str, url: str, realm: str | None, body: str) -> None:
    """Create a record (prints it with its Id and SyncToken)."""
    realm_id = _realm(url, realm)
    _print(_call("POST", url, f"/_admin/companies/{realm_id}/{entity}", _parse_json(body)))


@qbo.command()
@click.argument("entity")
@click.argument("entity_id")
@url_option
@realm_option
@click.option(
    "--json",
    "body",
    required=True,
    help="fields to change (a SyncToken, if given, must be current)",
)
@click.option("--full", is_flag=True, help="full update: fields left out are cleared")
def update(entity: str, entity_id: str, url: str, realm: str | None, body: str, full: bool) -> None:
    """Update a record (sparse unless --full)."""
    realm_id = _realm(url, realm)
    payload = {**_parse_json(body), "sparse": not full}
    _print(_call("POST", url, f"/_admin/companies/{realm_id}/{entity}/{entity_id}", payload))


@qbo.command()
@click.argument("entity")
@click.argument("entity_id")
@url_option
@realm_option
def delete(entity: str, entity_id: str, url: str, realm: str | None) -> None:
    """Delete a record (Customer, Vendor, Item, …: made inactive, as QuickBooks does)."""
    realm_id = _realm(url, realm)
    _print(_call("DELETE", url, f"/_admin/companies/{realm_id}/{entity}/{entity_id}"))


@qbo.command()
@click.argument("entity")
@click.argument("from_id")
@click.argument("into_id")
@url_option
@realm_option
def merge(entity: str, from_id: str, into_id: str, url: str, realm: str | None) -> None:
    """Merge FROM_ID into INTO_ID (FROM_ID becomes inactive)."""
    realm_id = _realm(url, realm)
    _print(
        _call(
            "POST",
            url,
            f"/_admin/companies/{realm_id}/{entity}/merge",
            {"from": from_id, "into": into_id},
        )
    )


@qbo.group()
def faults() -> None:
    """Injected faults per endpoint family (oauth, read, query, cdc, companyinfo, write, all)."""


@faults.command("add")
@click.argument(
    "family", type=click.Choice(["oauth", "read", "query", "cdc", "companyinfo", "write", "all"])
)
@click.argument("kind", type=click.Choice(["latency", "error", "throttle", "timeout"]))
@url_option
@click.option(
    "--count", default=1, show_default=True, type=click.IntRange(1), help="requests affected"
)
@click.option("--always", is_flag=True, help="every request until cleared (ignores --count)")
@click.option("--latency-ms", default=0, type=click.IntRange(0), help="latency: delay per request")
@click.option(
    "--status",
    default=503,
    show_default=True,
    type=click.IntRange(500, 599),
    help="error: HTTP status",
)
@click.option(
    "--seconds",
    default=35.0,
    show_default=True,
    type=click.FloatRange(0),
    help="timeout: how long to hold",
)
def faults_add(
    family: str,
    kind: str,
    url: str,
    count: int,
    always: bool,
    latency_ms: int,
    status: int,
    seconds: float,
) -> None:
    """Add a fault, e.g. `faults add query throttle --count 2`."""
    rule = {
        "family": family,
        "kind": kind,
        "count": None if always else count,
        "latency_ms": latency_ms,
        "status": status,
        "seconds": seconds,
    }
    _print(_call("POST", url, "/_admin/faults", rule))


@faults.command("list")
@url_option
def faults_list(url: str) -> None:
    """Show the active faults."""
    _print(_call("GET", url, "/_admin/faults"))


@faults.command("clear")
@url_option
@click.option("--family", help="only this family")
def faults_clear(url: str, family: str | None) -> None:
    """Remove injected faults."""
    _print(_call("DELETE", url, "/_admin/faults" + (f"?family={family}" if family else "")))


@qbo.command()
@url_option
@click.option("--webhook-url", help="where webhooks go")
@click.option("--format", "webhook_format", type=click.Choice(["cloudevents", "legacy"]))
@click.option("--duplicate-rate", type=click.FloatRange(0, 1))
@click.option("--reorder-rate", type=click.FloatRange(0, 1))
@click.option("--drop-rate", type=click.FloatRange(0, 1))
@click.option("--seed", type=int)
@click.option("--pause/--resume", default=None, help="hold or release deliveries")
def webhooks(url: str, webhook_url: str | None, webhook_format: str | None, duplicate_rate: float | None,
             reorder_rate: float | None, drop_rate: float | None, seed: int | None, pause: bool | None) -> None:  # fmt: skip
    """Show or change webhook delivery settings."""
    changes = {
        key: value
        for key, value in {
            "url": webhook_url,
            "format": webhook_format,
            "duplicate_rate": duplicate_rate,
            "reorder_rate": reorder_rate,
            "drop_rate": drop_rate,
            "seed": seed,
            "paused": pause,
        }.items()
        if value is not None
    }
    _print(
        _call("PATCH", url, "/_admin/webhooks", changes)
        if changes
        else _call("GET", url, "/_admin/webhooks")
    )


@qbo.command()
@url_option
def deliveries(url: str) -> None:
    """Webhook delivery counters and attempts."""
    _print(_call("GET", url, "/_admin/deliveries"))


def _realm(url: str, realm: str | None) -> str:
    if realm:
        return realm
    companies = _call("GET", url, "/_admin/companies")["companies"]
    if len(companies) != 1:
        raise click.UsageError(f"the emulator has {len(companies)} companies: pass --realm")
    return companies[0]["realmId"]


def _parse_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"not JSON: {error}", param_hint="--json") from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--json")
    return value


def _call(method: str, url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    try:
        response = requests.request(method, url.rstrip("/") + path, json=body, timeout=10)
    except requests.RequestException as error:
        raise click.ClickException(
            f"cannot reach the QuickBooks emulator at {url}: {type(error).__name__}"
        ) from None
    try:
        payload = response.json()
    except ValueError:
        raise click.ClickException(
            f"{method} {path}: HTTP {response.status_code}, not JSON"
        ) from None
    if response.status_code >= 400:
        if isinstance(payload, dict) and "Fault" in payload:
            error = payload["Fault"]["Error"][0]
            message = f"{error['Message']} ({error['code']}): {error['Detail']}"
        else:
            message = (
                payload.get("error", response.text) if isinstance(payload, dict) else response.text
            )
        raise click.ClickException(f"{method} {path}: HTTP {response.status_code}: {message}")
    return payload


def _print(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2))
