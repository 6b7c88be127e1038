"""`./scripts/demo`: a Customer created in QuickBooks becomes an Account in Salesforce, locally.

Every step is the product's real path: OAuth connect, mapping records in Salesforce, a signed
webhook, the ledger, the worker, an sObject Collections upsert.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from simple_salesforce import format_soql
from simple_salesforce.exceptions import SalesforceError as SalesforceApiError

from qbsync.salesforce.errors import SalesforceError
from qbsync_sandbox.stack import Stack, StackError


def _say(text: str) -> None:
    print(text, flush=True)


def run(once: bool, workdir: Path, webhook_format: str) -> int:
    stack = Stack(workdir, webhook_format=webhook_format)
    _say(f"Starting the sandbox in {workdir} …")
    try:
        try:
            _show_customer_becoming_an_account(stack, workdir)
        except (
            StackError,
            SalesforceError,
            SalesforceApiError,
            requests.RequestException,
        ) as error:
            _say(f"FAILED: {error}")
            _say(f"Logs: {workdir / 'logs'}")
            return 1
        if not once:
            _keep_running(stack, workdir)
        return 0
    finally:
        # Whatever happened (Ctrl-C included), no emulator or middleware process is left behind.
        stack.stop()


def _show_customer_becoming_an_account(stack: Stack, workdir: Path) -> None:
    stack.start()
    _say(f"  QuickBooks emulator  {stack.qbo_url}")
    _say(f"  Salesforce emulator  {stack.sf_url}  (CA {stack.ca_path})")
    _say(
        f"  middleware web       {stack.web_url}  (gunicorn) + worker, ledger {workdir / 'qbsync.db'}"
    )

    _say("1. Connecting the QuickBooks company through OAuth …")
    stack.connect()
    sf = stack.salesforce()
    soql = "SELECT Name, Status__c FROM QB_Company__c WHERE Realm_Id__c = {}"
    company = sf.query(format_soql(soql, stack.realm_id))["records"][0]
    _say(f"   {company['Name']} (realm {stack.realm_id}): {company['Status__c']}")

    _say("2. Applying the recommended mappings, enabling Customer for real time …")
    mappings = stack.apply_recommended_mappings(enable=("Customer",))
    _say(f"   mapped {', '.join(mappings)}; real-time: Customer")

    _say("3. Creating a Customer in QuickBooks …")
    started = time.monotonic()
    customer = stack.create_entity(
        "Customer",
        {
            "DisplayName": "Amy's Bird Sanctuary",
            "CompanyName": "Amy's Bird Sanctuary",
            "PrimaryPhone": {"FreeFormNumber": "(650) 555-3311"},
            "BillAddr": {"Line1": "4581 Finch St.", "City": "Bayshore", "PostalCode": "94326"},
        },
    )
    _say(f"   Customer {customer['Id']} '{customer['DisplayName']}' created")

    account = stack.wait_for_record(
        sf, "Account", "Customer", customer["Id"], fields="Id, Name, BillingCity, Phone"
    )
    latency = time.monotonic() - started
    _say(
        f"4. Account {account['Id']} '{account['Name']}' ({account['BillingCity']}, "
        f"{account['Phone']}) arrived in Salesforce {latency * 1000:.0f} ms later"
    )


def _keep_running(stack: Stack, workdir: Path) -> None:
    preview_url = _serve_preview(stack)
    _say("")
    _say("The sandbox keeps running:")
    if preview_url:
        _say(f"  QB Setup tab (preview)   {preview_url}")
    _say(f"  Salesforce records page  {stack.sf_url}/records")
    _say(f"  QuickBooks admin API     {stack.qbo_url}/_admin")
    _say(
        f"  Middleware events        QBSYNC_DATABASE_URL=sqlite:///{workdir / 'qbsync.db'} qbsync events"
    )
    _say("Press Ctrl-C to stop.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    _say("Stopping …")


def _serve_preview(stack: Stack) -> str | None:
    """The package's QB Setup tab, rendered locally against the Salesforce emulator."""
    from qbsync_preview.app import DEFAULT_BUNDLE_DIR

    if not (DEFAULT_BUNDLE_DIR / "app.js").is_file():
        _say("  (no preview bundle: run ./scripts/preview-build to see the QB Setup tab)")
        return None
    # On the origin the middleware allows (QBSYNC_SALESFORCE_ORIGINS): Connect works there.
    stack.serve_preview()
    return stack.preview_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/demo", description=__doc__)
    parser.add_argument(
        "--once", action="store_true", help="exit after the check (0 = Account arrived)"
    )
    parser.add_argument(
        "--format", choices=("cloudevents", "legacy"), default="cloudevents", help="webhook format"
    )
    parser.add_argument("--workdir", type=Path, help="keep the sandbox's files here")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="qbsync-demo-"))
    try:
        return run(args.once, workdir, args.format)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
