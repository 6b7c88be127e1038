"""`./scripts/demo`: a Customer created in QuickBooks becomes an Account in Salesforce, locally;
with `--object Invoice`, an Invoice with three lines becomes a QuickBooks Transaction with its
three lines (its customer and products brought along by the worker).

Every step is the product's real path: OAuth connect, mapping records in Salesforce, a signed
webhook, the ledger, the worker, sObject Collections upserts.
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
from qbsync_sandbox.stack import Stack, StackError, exit_on_sigterm, wait_until


def _say(text: str) -> None:
    print(text, flush=True)


def run(once: bool, workdir: Path, webhook_format: str, qb_object: str = "Customer") -> int:
    stack = Stack(workdir, webhook_format=webhook_format)
    _say(f"Starting the sandbox in {workdir} …")
    show = (
        _show_invoice_with_lines if qb_object == "Invoice" else _show_customer_becoming_an_account
    )
    try:
        try:
            show(stack, workdir)
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


def _start_and_connect(stack: Stack, workdir: Path):
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
    return sf


def _show_customer_becoming_an_account(stack: Stack, workdir: Path) -> None:
    sf = _start_and_connect(stack, workdir)
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


def _show_invoice_with_lines(stack: Stack, workdir: Path) -> None:
    sf = _start_and_connect(stack, workdir)
    _say("2. Applying the recommended mappings, enabling Invoice for real time …")
    mappings = stack.apply_recommended_mappings(enable=("Invoice",))
    _say(f"   mapped {', '.join(mappings)}; real-time: Invoice")

    _say("3. Creating a Customer, three products and an Invoice in QuickBooks …")
    customer = stack.create_entity("Customer", {"DisplayName": "Sonnenschein Family Store"})
    # "1" is the emulator's seeded income account ("Services"), which a service item needs.
    products = [
        stack.create_entity(
            "Item", {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": "1"}}
        )
        for name in ("Rock Fountain", "Fountain Pump", "Concrete")
    ]
    started = time.monotonic()
    invoice = stack.create_entity(
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "Line": [
                {
                    "Amount": amount,
                    "Description": product["Name"],
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": product["Id"]},
                        "Qty": qty,
                        "UnitPrice": amount / qty,
                    },
                }
                for product, (qty, amount) in zip(
                    products, ((1, 275.0), (2, 25.5), (5, 47.5)), strict=True
                )
            ],
        },
    )
    lines = [line for line in invoice["Line"] if line.get("DetailType") == "SalesItemLineDetail"]
    _say(
        f"   Invoice {invoice['Id']} with {len(lines)} lines created for '{customer['DisplayName']}'"
    )

    header = stack.wait_for_record(
        sf,
        "QB_Transaction__c",
        "Invoice",
        invoice["Id"],
        fields="Id, Name, Total_Amount__c, Account__r.Name",
    )
    expected = {
        f"{header['QB_External_Id__c']}-{line['Id']}": round(float(line["Amount"]), 2)
        for line in lines
    }

    def all_lines() -> dict[str, float] | None:
        soql = format_soql(
            "SELECT QB_External_Id__c, Amount__c FROM QB_Transaction_Line__c "
            "WHERE Transaction__c = {}",
            header["Id"],
        )
        found = {r["QB_External_Id__c"]: r["Amount__c"] for r in sf.query(soql)["records"]}
        return found if found == expected else None

    wait_until(all_lines, timeout=15, what=f"the invoice's lines with amounts {expected}")
    latency = time.monotonic() - started
    total = invoice.get("TotalAmt")
    if total is not None and round(float(total), 2) != header["Total_Amount__c"]:
        raise StackError(f"Total_Amount__c is {header['Total_Amount__c']}, QuickBooks says {total}")
    account = (header.get("Account__r") or {}).get("Name")
    _say(
        f"4. QB_Transaction__c {header['Id']} (total {header['Total_Amount__c']}, Account "
        f"'{account}') and its {len(expected)} lines ({', '.join(map(str, expected.values()))}) "
        f"arrived in Salesforce {latency * 1000:.0f} ms later"
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
        "--once", action="store_true", help="exit after the check (0 = the records arrived)"
    )
    parser.add_argument(
        "--format", choices=("cloudevents", "legacy"), default="cloudevents", help="webhook format"
    )
    parser.add_argument("--workdir", type=Path, help="keep the sandbox's files here")
    parser.add_argument(
        "--object",
        choices=("Customer", "Invoice"),
        default="Customer",
        help="what to create in QuickBooks: a Customer, or an Invoice with three lines",
    )
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="qbsync-demo-"))
    try:
        return run(args.once, workdir, args.format, args.object)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    exit_on_sigterm()
    sys.exit(main())
