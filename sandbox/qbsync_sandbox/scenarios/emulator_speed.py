"""`./scripts/bench-emulators`: how fast the Salesforce emulator's store upserts (issue 19).

The benchmark must measure the product, not the emulators: this prints the store's upserts a
second with 0, 12,000 and 50,000 Accounts already stored, one record per call (`Org.upsert`, what
a REST upsert does) and 200 per call (a REST collections upsert, through the Flask app without
HTTP). Figures, not pass/fail: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import secrets
import time

from qbsync_sandbox.emulators.salesforce import Org, create_salesforce_app, load_schema
from qbsync_sandbox.force_app import force_app_dir

EXTERNAL_ID = "QB_External_Id__c"
COLLECTION_SIZE = 200  # the REST collections limit (research/salesforce.md)


def _seeded(schema, records: int) -> Org:
    org = Org(schema)
    with org.lock:
        for number in range(records):
            org.upsert("Account", EXTERNAL_ID, f"seed-{number}", {"Name": f"Seed {number}"})
    return org


def single_upserts(org: Org, count: int) -> float:
    """Upserts a second, half creating and half updating records of this run."""
    started = time.perf_counter()
    for number in range(count):
        org.upsert("Account", EXTERNAL_ID, f"run-{number % (count // 2)}", {"Name": f"R{number}"})
    return count / (time.perf_counter() - started)


def collection_upserts(org: Org, calls: int) -> float:
    """Records a second through `PATCH composite/sobjects/Account/QB_External_Id__c`."""
    app = create_salesforce_app(org, client_id="bench", client_secret=secrets.token_urlsafe(16))
    client = app.test_client()
    token = client.post("/_admin/session").get_json()["access_token"]
    path = f"/services/data/v66.0/composite/sobjects/Account/{EXTERNAL_ID}"
    started = time.perf_counter()
    for call in range(calls):
        records = [
            {"attributes": {"type": "Account"}, EXTERNAL_ID: f"batch-{call}-{n}", "Name": "B"}
            for n in range(COLLECTION_SIZE)
        ]
        response = client.patch(
            path,
            json={"allOrNone": True, "records": records},
            headers={"Authorization": f"Bearer {token}"},
        )
        if response.status_code != 200 or not all(r["success"] for r in response.get_json()):
            raise RuntimeError(f"collection upsert failed: {response.get_data(as_text=True)[:300]}")
    return calls * COLLECTION_SIZE / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench-emulators", description=__doc__)
    parser.add_argument(
        "--sizes", default="0,12000,50000", help="records stored before measuring (comma list)"
    )
    parser.add_argument("--upserts", type=int, default=2000, help="single upserts per size")
    parser.add_argument("--calls", type=int, default=10, help="collection calls per size")
    args = parser.parse_args(argv)
    schema = load_schema(force_app_dir())
    print(f"{'stored':>8}  {'upserts/s (1 per call)':>24}  {'records/s (200 per call)':>26}")
    for size in (int(s) for s in args.sizes.split(",")):
        org = _seeded(schema, size)
        single = single_upserts(org, args.upserts)
        collected = collection_upserts(org, args.calls)
        print(f"{size:>8}  {single:>24,.0f}  {collected:>26,.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
