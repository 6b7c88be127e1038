"""One QuickBooks value cannot stop its batch (issue 15, item 1): a property-based test.

A text field (Customer `Notes`) is mapped to a Salesforce field of each mapped type; QuickBooks
returns a batch whose records carry arbitrary values there (numbers, huge exponents, non-finite
numbers, times past year 9999, objects, lists, ...) beside one clean record. Whatever the values,
the worker settles every event in one run: the clean record and every value that fits are done,
every other record is failed with a message naming `Notes`, and nothing is left to retry.

Real pieces: a SQLite ledger, the real QuickBooks and Salesforce clients (so the upsert body is
serialised by requests, which refuses NaN and infinities); HTTP is mocked at the transport with
`responses`, in the documented shapes (QuickBooks query response, research quickbooks.md §4;
sObject Collections results, salesforce.md §1.3). Hypothesis' deadline is generous: it only
detects a conversion that hangs, the bound itself comes from the conversion's construction.
"""

from __future__ import annotations

import copy
import json
import random
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qbsync.catalog import load_catalog
from qbsync.events import ChangeEvent
from qbsync.salesforce.auth import SalesforceLogin
from qbsync.salesforce.client import SalesforceClient
from qbsync.services import Services
from qbsync.store import Store
from qbsync.worker import Worker
from tests.support import builders
from tests.support.builders import quickbooks_sample
from tests.support.fakes import Clock

REALM = "9130350000000000"
QB_QUERY_URL = f"https://sandbox-quickbooks.api.intuit.com/v3/company/{REALM}/query"
INSTANCE = "https://example.my.salesforce.com"
API = f"{INSTANCE}/services/data/v66.0"
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CLEAN_ID = "1"

# Describe types the mapping writes, with the bounds a real org's fields have.
TARGETS = {
    "string": {"type": "string", "length": 40},
    "picklist": {"type": "picklist", "length": 255},
    "boolean": {"type": "boolean"},
    "double": {"type": "double", "precision": 18, "scale": 4},
    "currency": {"type": "currency", "precision": 16, "scale": 2},
    "percent": {"type": "percent", "precision": 5, "scale": 2},
    "int": {"type": "int", "digits": 9},
    "long": {"type": "long"},
    "date": {"type": "date"},
    "datetime": {"type": "datetime"},
}

numeric_text = st.from_regex(
    r"[+-]?[0-9,]{0,40}(\.[0-9]{0,40})?([eE][+-]?[0-9]{1,14})?", fullmatch=True
)
time_text = st.builds(
    lambda moment, hours: (
        moment.replace(tzinfo=None).isoformat() + ("Z" if hours == 0 else f"{hours:+03d}:00")
    ),
    st.datetimes(),  # naive: year 1 to 9999
    st.integers(min_value=-23, max_value=23),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**500), max_value=10**500),
    st.floats(),
    st.text(),
    numeric_text,
    time_text,
    st.sampled_from(["NaN", "-Infinity", "sNaN", "0E+99999999", "１２３", "²", "1_000"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)


def describe(target: dict) -> dict:
    base = {"scale": None, "precision": 0, "digits": 0, "length": 0}
    return {
        "name": "Account",
        "fields": [
            {"name": "Name", "type": "string", "length": 255},
            {"name": "QB_External_Id__c", "type": "string", "length": 255, "externalId": True},
            {"name": "QB_Value__c", **base, **target},
        ],
    }


def config_rows() -> list[dict]:
    children = [
        {"Id": f"a01{i:015d}", "QB_Field__c": qb, "Salesforce_Field__c": sf}
        for i, (qb, sf) in enumerate((("DisplayName", "Name"), ("Notes", "QB_Value__c")))
    ]
    return [
        {
            "Id": "a00000000000001AAA",
            "QB_Object__c": "Customer",
            "Salesforce_Object__c": "Account",
            "External_Id_Field__c": "QB_External_Id__c",
            "Realtime_Enabled__c": True,
            "Delete_Behavior__c": "Ignore",
            "Field_Mapping_Count__c": 2.0,
            "Company__r": {"Realm_Id__c": REALM, "Status__c": "Connected"},
            "Field_Mappings__r": {"totalSize": 2, "done": True, "records": children},
        }
    ]


def strict_json(text: str):
    # Salesforce reads standard JSON: NaN and Infinity are not numbers there.
    def refuse(constant: str):
        raise AssertionError(f"non-standard JSON constant {constant} sent to Salesforce")

    return json.loads(text, parse_constant=refuse)


def run_batch(tmp_path, target: dict, notes: list) -> tuple[dict, dict]:
    """One worker run over the clean record and one record per value; (ledger, upserts)."""
    records = {CLEAN_ID: copy.deepcopy(quickbooks_sample("customer")) | {"Id": CLEAN_ID}}
    for index, value in enumerate(notes, start=2):
        records[str(index)] = records[CLEAN_ID] | {"Id": str(index), "Notes": value}
    records[CLEAN_ID].pop("Notes", None)
    upserted: dict[str, dict] = {}

    def query(request):
        ids = re.findall(r"'([^']*)'", request.body.decode())
        found = [records[i] for i in ids if i in records]
        return 200, {}, json.dumps({"QueryResponse": {"Customer": found}})

    def salesforce_query(request):
        soql = parse_qs(urlparse(request.url).query)["q"][0]
        assert "FROM QB_Object_Mapping__c" in soql, soql
        rows = config_rows()
        return 200, {}, json.dumps({"totalSize": len(rows), "done": True, "records": rows})

    def upsert(request):
        results = []
        for record in strict_json(request.body)["records"]:
            upserted[record["QB_External_Id__c"]] = record
            results.append({"id": "001000000000001AAA", "success": True, "created": True})
        return 200, {}, json.dumps(results)

    def logs(request):
        count = len(strict_json(request.body)["records"])
        return 200, {}, json.dumps([{"id": "a03", "success": True, "created": True}] * count)

    # A database per example: Hypothesis runs many in one test function.
    directory = Path(tempfile.mkdtemp(dir=tmp_path))
    store = Store.open(f"sqlite:///{directory / 'qbsync.db'}")
    try:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
            rsps.add_callback(responses.POST, QB_QUERY_URL, callback=query)
            rsps.add_callback(responses.GET, re.compile(rf"^{API}/query/"), salesforce_query)
            rsps.get(f"{API}/sobjects/Account/describe", json=describe(target))
            rsps.add_callback(
                responses.PATCH, f"{API}/composite/sobjects/Account/QB_External_Id__c", upsert
            )
            rsps.add_callback(
                responses.PATCH, f"{API}/composite/sobjects/QB_Sync_Log__c/Event_Key__c", logs
            )
            rsps.add_callback(
                responses.PATCH,
                f"{API}/composite/sobjects/QB_Company__c/Realm_Id__c",
                lambda request: (200, {}, json.dumps([{"id": "a02", "success": True}])),
            )
            settings_ = builders.settings(salesforce_login_url="https://login.example.com")
            salesforce = SalesforceClient(
                settings_, login_with=lambda s, session: SalesforceLogin(INSTANCE, "session")
            )
            services = Services(
                settings_,
                store=store,
                salesforce=salesforce,
                catalog=load_catalog(),
                clock=Clock(T0),
            )
            services.vault.save(builders.tokens(REALM))
            store.events.add(
                [
                    ChangeEvent(
                        realm_id=REALM,
                        entity="Customer",
                        entity_id=entity_id,
                        operation="Update",
                        occurred_at=T0 - timedelta(seconds=1),
                        event_key=f"ce:{entity_id}",
                    )
                    for entity_id in records
                ]
            )
            worker = Worker(services, rng=random.Random(7), name="test")
            assert worker.run_once() == len(records)
            ledger = {
                e.entity_id: (e.state, e.reason or e.last_error) for e in store.events.events()
            }
    finally:
        store.close()
    return ledger, upserted


@pytest.mark.parametrize("kind", sorted(TARGETS))
@settings(
    max_examples=20,
    deadline=timedelta(seconds=20),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(notes=st.lists(values, min_size=1, max_size=4))
@example(notes=["1e5000", "1e1000000", "9999-12-31T23:00:00-05:00", float("nan")])
@example(notes=[{"value": "x"}, ["a"], "1" * 5000, 10**400])
def test_a_batch_ends_with_every_record_settled_and_the_clean_one_done(tmp_path, kind, notes):
    ledger, upserted = run_batch(tmp_path, TARGETS[kind], notes)

    assert ledger[CLEAN_ID] == ("done", "created")
    assert f"{REALM}-Customer-{CLEAN_ID}" in upserted
    for entity_id, (state, reason) in ledger.items():
        assert state in ("done", "failed"), (entity_id, state, reason)
        if state == "failed":
            assert reason.startswith("Notes value "), reason
            assert "Account.QB_Value__c" in reason, reason
        else:
            assert f"{REALM}-Customer-{entity_id}" in upserted
