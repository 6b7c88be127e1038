"""`qbsync-sandbox salesforce …`: run the Salesforce emulator."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def salesforce() -> None:
    """Local Salesforce emulator (HTTPS, OAuth, REST API, records page)."""


@salesforce.command()
@click.option("--port", default=8443, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--force-app",
    "force_app",
    default="force-app",
    show_default=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="SFDX source the schema is read from",
)
@click.option(
    "--tls-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="where the generated CA (ca.pem) and server certificate are written",
)
@click.option("--client-id", required=True, help="connected app consumer key (JWT iss)")
@click.option(
    "--certificate",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="connected app X.509 certificate (PEM) for the JWT bearer flow",
)
@click.option("--client-secret", help="consumer secret, enables the client-credentials flow")
@click.option(
    "--username",
    default="integration@qbsync.example",
    show_default=True,
    help="the integration user (permission set QuickBooks_Sync_Integration)",
)
@click.option(
    "--admin-username",
    default=None,
    help="the admin (permission set QuickBooks_Sync_Admin); default admin@ the username's domain",
)
@click.option("--session-seconds", default=7200.0, show_default=True, type=click.FloatRange(1))
@click.option(
    "--latency-ms",
    default=0,
    show_default=True,
    type=click.IntRange(0, 60_000),
    help="injected network latency per API request (the benchmark uses 180)",
)
def serve(
    port: int,
    force_app: Path,
    tls_dir: Path,
    client_id: str,
    certificate: Path | None,
    client_secret: str | None,
    username: str,
    admin_username: str | None,
    session_seconds: float,
    latency_ms: int,
) -> None:
    """Serve the emulator on https://127.0.0.1:PORT until Ctrl-C."""
    from qbsync_sandbox.emulators.salesforce import (
        Org,
        create_salesforce_app,
        load_schema,
        make_https_server,
    )
    from qbsync_sandbox.emulators.salesforce.formula import FormulaError
    from qbsync_sandbox.emulators.salesforce.schema import SchemaError

    if certificate is None and client_secret is None:
        raise click.UsageError("give --certificate (JWT bearer) or --client-secret, or both")
    try:
        org = Org(load_schema(force_app), username=username, admin_username=admin_username)
    except (SchemaError, FormulaError) as error:
        raise click.ClickException(str(error)) from None
    app = create_salesforce_app(
        org,
        client_id=client_id,
        certificate_pem=certificate.read_bytes() if certificate else None,
        client_secret=client_secret,
        session_seconds=session_seconds,
        latency_ms=latency_ms,
    )
    try:
        server, base_url, ca_path = make_https_server(app, tls_dir, port)
    except OSError as error:
        raise click.ClickException(f"cannot listen on 127.0.0.1:{port}: {error}") from None
    click.echo(f"Salesforce emulator: {base_url}  (records: {base_url}/records)")
    click.echo(f"CA certificate: {ca_path}  (export REQUESTS_CA_BUNDLE={ca_path})")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
