"""qbsync.worker: claimed events → QuickBooks current state → Salesforce, per outcome class.

Real pieces: a temp SQLite ledger and token vault, the real QuickBooks and Salesforce clients.
HTTP is mocked at the transport with `responses` (unmatched requests fail) using the documented
shapes: QuickBooks query responses (research quickbooks.md §4, Customer sample §6), Salesforce
query results, and sObject Collections results with `statusCode` errors (salesforce.md §1.3).
`FakeQuickBooks` and `FakeOrg` keep the remote state so tests assert on what Salesforce holds
and on the JSON bodies it was sent.
"""

from __future__ import annotations

import copy
import json
import random
import re
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from responses.registries import OrderedRegistry
from sqlalchemy import event as sqlalchemy_event

from qbsync import metrics
from qbsync.catalog import load_catalog
from qbsync.events import ChangeEvent
from qbsync.outcomes import SETTLEMENTS, Dead, Done, Fail, Retry, Skip, WaitForRealm
from qbsync.salesforce.auth import SalesforceLogin
from qbsync.salesforce.client import SalesforceClient
from qbsync.services import Services
from qbsync.store import Store
from qbsync.store.database import StoreUnavailable
from qbsync.sync_log import log_key
from qbsync.worker import BACKOFF_CAP_SECONDS, Worker, backoff_seconds
from tests.support import builders
from tests.support.builders import quickbooks_sample
from tests.support.fakes import Clock
from tests.support.worker_loop import run_until_idle, stop_worker

REALM = "9130350000000000"
QB_QUERY_URL = f"https://sandbox-quickbooks.api.intuit.com/v3/company/{REALM}/query"
INSTANCE = "https://example.my.salesforce.com"
API = f"{INSTANCE}/services/data/v66.0"
SF_QUERY = re.compile(rf"^{re.escape(API)}/query/")
ACCOUNT_UPSERT = f"{API}/composite/sobjects/Account/QB_External_Id__c"
LOG_UPSERT = f"{API}/composite/sobjects/QB_Sync_Log__c/Event_Key__c"
COMPANY_UPSERT = f"{API}/composite/sobjects/QB_Company__c/Realm_Id__c"
UPDATE_URL = f"{API}/composite/sobjects"
DELETE_URL = re.compile(rf"^{re.escape(API)}/composite/sobjects\?")
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

# research/quickbooks.md §6: Intuit's Customer sample (PipedreamHQ/pipedream fixture).
CUSTOMER = quickbooks_sample("customer")


def customer(id_, **changes):
    record = copy.deepcopy(CUSTOMER)
    record["Id"] = str(id_)
    record.update(changes)
    return record


def sf_field(name, type_="string", length=0, **extra):
    return {
        "name": name,
        "type": type_,
        "length": length,
        "scale": extra.get("scale", 0),
        "relationshipName": extra.get("relationshipName"),
        "referenceTo": extra.get("referenceTo", []),
        "createable": True,
        "updateable": True,
        "externalId": extra.get("externalId", False),
    }


ACCOUNT_DESCRIBE = {
    "name": "Account",
    "fields": [
        sf_field("Name", "string", 255),
        sf_field("BillingCity", "string", 40),
        sf_field("Phone", "phone", 40),
        sf_field("Description", "textarea", 32000),
        sf_field("QB_Active__c", "boolean"),
        sf_field("QB_External_Id__c", "string", 255, externalId=True),
        sf_field("ParentId", "reference", 18, relationshipName="Parent", referenceTo=["Account"]),
    ],
}

DEFAULT_FIELDS = (
    ("DisplayName", "Name"),
    ("BillAddr.City", "BillingCity"),
    ("PrimaryPhone.FreeFormNumber", "Phone"),
    ("Active", "QB_Active__c"),
)


def mapping_row(
    qb_object="Customer",
    fields=DEFAULT_FIELDS,
    realtime=True,
    delete_behavior="Deactivate",
    status="Connected",
):
    """One record of the worker's configuration query, as query_all returns it."""
    children = [
        {
            "attributes": {"type": "QB_Field_Mapping__c"},
            "Id": f"a01{i:015d}",
            "QB_Field__c": qb,
            "Salesforce_Field__c": sf,
            "Transform__c": None,
            "Default_Value__c": None,
        }
        for i, (qb, sf) in enumerate(fields)
    ]
    return {
        "attributes": {"type": "QB_Object_Mapping__c"},
        "Id": "a00000000000001AAA",
        "QB_Object__c": qb_object,
        "Salesforce_Object__c": "Account",
        "External_Id_Field__c": "QB_External_Id__c",
        "Realtime_Enabled__c": realtime,
        "Delete_Behavior__c": delete_behavior,
        "Field_Mapping_Count__c": float(len(children)),
        "Company__r": {
            "attributes": {"type": "QB_Company__c"},
            "Realm_Id__c": REALM,
            "Status__c": status,
        },
        "Field_Mappings__r": (
            {"totalSize": len(children), "done": True, "records": children} if children else None
        ),
    }


def query_result(records):
    return {"totalSize": len(records), "done": True, "records": records}


class FakeQuickBooks:
    """The company's records behind `POST /v3/company/<realm>/query`."""

    def __init__(self, rsps, records=()):
        self.records = {r["Id"]: r for r in records}
        self.queries: list[str] = []
        self.status = 200
        rsps.add_callback(responses.POST, QB_QUERY_URL, callback=self._query)

    def _query(self, request):
        text = request.body.decode() if isinstance(request.body, bytes) else request.body
        self.queries.append(text)
        if self.status != 200:
            return self.status, {}, json.dumps({"fault": {"error": [{"message": "down"}]}})
        entity = re.search(r"from (\w+)", text).group(1)
        ids = re.findall(r"'([^']*)'", text)
        found = [self.records[i] for i in ids if i in self.records]
        # QuickBooks leaves the entity key out when nothing matched.
        body = {"QueryResponse": {entity: found, "startPosition": 1, "maxResults": len(found)}}
        if not found:
            body = {"QueryResponse": {}}
        body["time"] = "2026-03-02T04:00:00.000-08:00"
        return 200, {}, json.dumps(body)


class FakeOrg:
    """A Salesforce org: Accounts by external id, sync logs by event key, the config rows."""

    def __init__(self, rsps, config_rows):
        self.config_rows = config_rows
        self.accounts: dict[str, dict] = {}
        self.logs: dict[str, dict] = {}
        self.record_errors: dict[str, dict] = {}  # external id -> error item
        # external id -> HTTP status: an upsert call holding that record fails as a whole
        self.refused_calls: dict[str, int] = {}
        self.log_status = 200
        self.companies: list[dict] = []
        self._next_id = 1
        rsps.add_callback(responses.GET, SF_QUERY, callback=self._query)
        rsps.get(f"{API}/sobjects/Account/describe", json=ACCOUNT_DESCRIBE)
        rsps.add_callback(responses.PATCH, ACCOUNT_UPSERT, callback=self._upsert_accounts)
        rsps.add_callback(responses.PATCH, LOG_UPSERT, callback=self._upsert_logs)
        rsps.add_callback(responses.PATCH, COMPANY_UPSERT, callback=self._upsert_company)
        rsps.add_callback(responses.DELETE, DELETE_URL, callback=self._delete)
        rsps.add_callback(responses.PATCH, UPDATE_URL, callback=self._update)

    def _new_id(self):
        self._next_id += 1
        return f"001{self._next_id:015d}"

    def _query(self, request):
        soql = parse_qs(urlparse(request.url).query)["q"][0]
        if "FROM QB_Object_Mapping__c" in soql:
            return 200, {}, json.dumps(query_result(self.config_rows))
        match = re.fullmatch(
            r"SELECT Id, QB_External_Id__c FROM Account WHERE QB_External_Id__c IN \((.*)\)", soql
        )
        assert match, soql
        keys = re.findall(r"'([^']*)'", match.group(1))
        rows = [
            {"attributes": {"type": "Account"}, "Id": a["Id"], "QB_External_Id__c": k}
            for k, a in self.accounts.items()
            if k in keys
        ]
        return 200, {}, json.dumps(query_result(rows))

    def _upsert_accounts(self, request):
        body = json.loads(request.body)
        assert body["allOrNone"] is False and len(body["records"]) <= 200
        for record in body["records"]:
            status = self.refused_calls.get(record["QB_External_Id__c"])
            if status is not None:
                code = "SERVER_UNAVAILABLE" if status >= 500 else "INVALID_TYPE"
                return status, {}, json.dumps([{"errorCode": code, "message": "refused"}])
        results = []
        for record in body["records"]:
            assert record["attributes"] == {"type": "Account"}
            key = record["QB_External_Id__c"]
            if key in self.record_errors:
                results.append({"id": None, "success": False, "errors": [self.record_errors[key]]})
                continue
            created = key not in self.accounts
            stored = self.accounts.setdefault(key, {"Id": self._new_id()})
            stored.update({k: v for k, v in record.items() if k != "attributes"})
            results.append({"id": stored["Id"], "success": True, "errors": [], "created": created})
        return 200, {}, json.dumps(results)

    def _upsert_logs(self, request):
        if self.log_status != 200:
            body = [{"message": "Service unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
            return self.log_status, {}, json.dumps(body)
        results = []
        for record in json.loads(request.body)["records"]:
            created = record["Event_Key__c"] not in self.logs
            self.logs[record["Event_Key__c"]] = record
            results.append(
                {"id": "a03000000000001", "success": True, "errors": [], "created": created}
            )
        return 200, {}, json.dumps(results)

    def _upsert_company(self, request):
        self.companies.extend(json.loads(request.body)["records"])
        return 200, {}, json.dumps([{"id": "a02", "success": True, "errors": [], "created": False}])

    def _update(self, request):
        body = json.loads(request.body)
        assert body["allOrNone"] is False
        results = []
        for record in body["records"]:
            assert record["attributes"] == {"type": "Account"}
            account = next(a for a in self.accounts.values() if a["Id"] == record["Id"])
            account.update({k: v for k, v in record.items() if k not in ("attributes", "Id")})
            results.append({"id": record["Id"], "success": True, "errors": []})
        return 200, {}, json.dumps(results)

    def _delete(self, request):
        ids = parse_qs(urlparse(request.url).query)["ids"][0].split(",")
        results = []
        for sf_id in ids:
            key = next((k for k, a in self.accounts.items() if a["Id"] == sf_id), None)
            if key is None:
                error = {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted"}
                results.append({"id": sf_id, "success": False, "errors": [error]})
            else:
                del self.accounts[key]
                results.append({"id": sf_id, "success": True, "errors": []})
        return 200, {}, json.dumps(results)


def calls_to(rsps, url_part, method=None):
    return [
        c
        for c in rsps.calls
        if url_part in c.request.url and (method is None or c.request.method == method)
    ]


def ext(id_):
    return f"{REALM}-Customer-{id_}"


@pytest.fixture
def settings():
    return builders.settings(salesforce_login_url="https://login.example.com", max_attempts=3)


@pytest.fixture
def store(tmp_path):
    return Store.open(f"sqlite:///{tmp_path / 'qbsync.db'}")


@pytest.fixture
def ledger(store):
    return store.events


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def make_worker(settings, store, clock):
    def make(connected=True, settings=settings):
        salesforce = SalesforceClient(
            settings, login_with=lambda s, session: SalesforceLogin(INSTANCE, "sf-session")
        )
        services = Services(
            settings, store=store, salesforce=salesforce, catalog=load_catalog(), clock=clock
        )
        if connected:
            services.vault.save(builders.tokens(REALM, access="qb-access", refresh="qb-refresh"))
        return Worker(services, rng=random.Random(7), name="test-worker")

    return make


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def add_event(ledger, id_, op="Update", key=None, occurred=None, entity="Customer", **kw):
    ledger.add(
        [
            ChangeEvent(
                realm_id=kw.pop("realm_id", REALM),
                entity=entity,
                entity_id=str(id_),
                operation=op,
                occurred_at=occurred or T0 - timedelta(seconds=2),
                event_key=key or f"ce:{entity}-{id_}-{op}",
                **kw,
            )
        ]
    )


def states(ledger):
    return {
        (e.entity_id, e.event_key): (e.state, e.reason or e.last_error) for e in ledger.events()
    }


def only(ledger):
    (event,) = ledger.events()
    return event


def applied_time(store, entity_id):
    """The LastUpdatedTime of the version applied for a Customer, or None."""
    version = store.versions.applied_many(REALM, "Customer", [entity_id]).get(entity_id)
    return None if version is None else version.last_updated


# --- created / updated -----------------------------------------------------------------------


def test_create_upserts_the_mapped_record_and_logs_success(rsps, store, ledger, make_worker):
    qb = FakeQuickBooks(rsps, [customer(1)])
    org = FakeOrg(rsps, [mapping_row()])
    add_event(ledger, 1, "Create", occurred=T0 - timedelta(milliseconds=1500))

    assert make_worker().run_once() == 1

    assert qb.queries == [
        "select * from Customer where Id in ('1') and Active in (true, false) MAXRESULTS 1000"
    ]
    (upsert,) = calls_to(rsps, ACCOUNT_UPSERT)
    assert json.loads(upsert.request.body) == {
        "allOrNone": False,
        "records": [
            {
                "attributes": {"type": "Account"},
                "QB_External_Id__c": ext(1),
                "Name": "Amy's Bird Sanctuary",
                "BillingCity": "Bayshore",
                "Phone": "(650) 555-3311",
                "QB_Active__c": True,
            }
        ],
    }
    event = only(ledger)
    assert (event.state, event.reason) == ("done", "created")
    account_id = org.accounts[ext(1)]["Id"]
    log = org.logs["ce:Customer-1-Create"]
    assert log == {
        "attributes": {"type": "QB_Sync_Log__c"},
        "Event_Key__c": "ce:Customer-1-Create",
        "QB_Object__c": "Customer",
        "QB_Record_Id__c": "1",
        "Operation__c": "Create",
        "Status__c": "Success",
        "Salesforce_Object__c": "Account",
        "Salesforce_Record_Id__c": account_id,
        "Message__c": "created",
        "Record_Name__c": "Amy's Bird Sanctuary",  # the QuickBooks record, by name
        "Detail__c": None,
        "Reason__c": None,
        "Event_Time__c": "2026-03-02T11:59:58.500Z",
        "Synced_At__c": "2026-03-02T12:00:00.000Z",
        "Latency_Ms__c": 1500,
        "Attempts__c": 1,
        "Company__r": {"Realm_Id__c": REALM},
    }
    # The applied version is the QuickBooks LastUpdatedTime, in UTC.
    assert applied_time(store, "1") == datetime(2015, 7, 1, 17, 14, 15, tzinfo=UTC)


def test_update_of_an_existing_record_reports_updated(rsps, ledger, make_worker):
    FakeQuickBooks(rsps, [customer(1, DisplayName="Amy's Bird Sanctuary (new)")])
    org = FakeOrg(rsps, [mapping_row()])
    org.accounts[ext(1)] = {"Id": "001000000000000042", "Name": "Old name"}
    add_event(ledger, 1, "Update")

    make_worker().run_once()

    assert (only(ledger).state, only(ledger).reason) == ("done", "updated")
    assert org.accounts[ext(1)]["Name"] == "Amy's Bird Sanctuary (new)"
    assert org.logs["ce:Customer-1-Update"]["Salesforce_Record_Id__c"] == "001000000000000042"


# --- skipped ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([], "not mapped: QuickBooks Customer has no object mapping"),
        ([mapping_row(fields=())], "no field mappings: QuickBooks Customer has no field mappings"),
        (
            [mapping_row(realtime=False)],
            "not real-time enabled: QuickBooks Customer is not enabled",
        ),
    ],
    ids=["not-mapped", "no-field-mappings", "not-real-time"],
)
def test_events_of_unusable_objects_are_skipped_with_the_reason(
    rsps, ledger, make_worker, rows, reason
):
    qb = FakeQuickBooks(rsps, [customer(1)])
    org = FakeOrg(rsps, rows)
    add_event(ledger, 1)

    make_worker().run_once()

    event = only(ledger)
    assert (event.state, event.reason) == ("skipped", reason)
    assert qb.queries == []  # no metered read for an event that is not synced
    assert calls_to(rsps, ACCOUNT_UPSERT) == []
    assert list(org.logs) == [SKIPPED_LOG]  # the company's one row for skipped Customers
    log = org.logs[SKIPPED_LOG]
    assert (log["Status__c"], log["Message__c"]) == ("Skipped", reason)
    assert (log["QB_Record_Id__c"], log["Operation__c"]) == ("1", "Update")


SKIPPED_LOG = f"skipped:{REALM}:Customer"


def skip_counter():
    return metrics.EVENTS_SETTLED.labels("Skipped")._value.get()


def test_once_the_configuration_is_cached_the_claim_skips_unmapped_events_itself(
    rsps, ledger, make_worker, store
):
    """The first batch reads the configuration; later events of the unmapped object are
    settled as skipped by the claim that finds them, with one sync-log row for them all, and
    leased by nobody."""
    org = FakeOrg(rsps, [mapping_row(realtime=False)])
    worker = make_worker()
    add_event(ledger, 1)
    assert worker.run_once() == 1
    org.logs.clear()
    for id_ in range(2, 6):
        add_event(ledger, id_, op="Create" if id_ == 5 else "Update")
    claims = []
    claim = ledger.claim
    ledger.claim = lambda *a, **kw: claims.append(claim(*a, **kw)) or claims[-1]
    counted = skip_counter()

    assert worker.run_once() == 4

    assert claims == [[]]  # nothing leased: the claim settled them
    assert {e.event_key: (e.state, e.attempts) for e in ledger.events() if e.entity_id != "1"} == {
        f"ce:Customer-{i}-{op}": ("skipped", 1)
        for i, op in ((2, "Update"), (3, "Update"), (4, "Update"), (5, "Create"))
    }
    assert {e.reason for e in ledger.events()} == {
        "not real-time enabled: QuickBooks Customer is not enabled"
    }
    assert list(org.logs) == [SKIPPED_LOG]
    log = org.logs[SKIPPED_LOG]
    assert (log["Status__c"], log["QB_Record_Id__c"], log["Operation__c"]) == (
        "Skipped",
        "5",
        "Create",
    )
    assert log["Salesforce_Object__c"] == "Account"
    assert "4 Customer event(s) skipped together" in log["Detail__c"]
    assert skip_counter() - counted == 4  # the metric counts events, not rows
    assert worker.run_once() == 0
    assert store.sync_log_outbox.count() == 0


def test_the_claim_skips_only_objects_the_cached_configuration_does_not_sync(
    rsps, ledger, make_worker
):
    qb = FakeQuickBooks(rsps, [customer(7)])
    org = FakeOrg(rsps, [mapping_row()])
    worker = make_worker()
    add_event(ledger, 1, entity="Vendor")
    assert worker.run_once() == 1  # reads the configuration: Vendor is not mapped
    add_event(ledger, 2, entity="Vendor")
    add_event(ledger, 7)

    assert worker.run_once() == 1  # the Customer, claimed and synced

    assert states(ledger)[("2", "ce:Vendor-2-Update")] == (
        "skipped",
        "not mapped: QuickBooks Vendor has no object mapping",
    )
    assert states(ledger)[("7", "ce:Customer-7-Update")] == ("done", "created")
    assert len(qb.queries) == 1
    assert set(org.logs) == {f"skipped:{REALM}:Vendor", "ce:Customer-7-Update"}


def test_a_moved_configuration_signal_stops_the_claim_from_skipping(
    rsps, ledger, make_worker, store
):
    """Salesforce said the mappings changed: the cached "not enabled" may be stale, so the
    event goes to a batch, which reads the configuration again, and is synced."""
    FakeQuickBooks(rsps, [customer(2)])
    org = FakeOrg(rsps, [mapping_row(realtime=False)])
    worker = make_worker()
    add_event(ledger, 1)
    worker.run_once()
    org.config_rows = [mapping_row()]
    store.config_signal.changed(REALM)
    add_event(ledger, 2)

    assert worker.run_once() == 1

    assert states(ledger)[("2", "ce:Customer-2-Update")] == ("done", "created")


def test_a_skipped_event_with_a_row_of_its_own_has_that_row_overwritten(
    rsps, ledger, make_worker, clock
):
    """An event that waited for its realm (a Retrying row of its own) and is then skipped:
    its own row says Skipped, not "waiting"; the others share the company's row."""
    org = FakeOrg(rsps, [mapping_row(status="Disconnected")])
    worker = make_worker()
    add_event(ledger, 1)
    worker.run_once()
    assert org.logs["ce:Customer-1-Update"]["Status__c"] == "Retrying"
    org.config_rows = [mapping_row(realtime=False, status="Disconnected")]
    worker.configs.invalidate(REALM)
    add_event(ledger, 2)
    clock.advance(seconds=BACKOFF_CAP_SECONDS + 1)

    while worker.run_once():
        pass

    assert {e.entity_id: e.state for e in ledger.events()} == {"1": "skipped", "2": "skipped"}
    assert org.logs["ce:Customer-1-Update"]["Status__c"] == "Skipped"
    assert org.logs[SKIPPED_LOG]["QB_Record_Id__c"] == "2"
    assert set(org.logs) == {"ce:Customer-1-Update", SKIPPED_LOG}


# --- failures --------------------------------------------------------------------------------


def test_a_database_outage_mid_batch_leaves_the_events_to_their_lease(
    rsps, store, ledger, make_worker, clock, settings, monkeypatch
):
    FakeQuickBooks(rsps, [customer(1)])
    org = FakeOrg(rsps, [mapping_row()])
    add_event(ledger, 1, "Create")
    worker = make_worker()

    def locked(*_args, **_kwargs):
        raise StoreUnavailable("the database is unavailable: database is locked")

    monkeypatch.setattr(worker.versions, "record_many", locked)
    with pytest.raises(StoreUnavailable):
        worker.run_once()  # run_forever waits on this, instead of turning it into a retry

    event = only(ledger)
    assert (event.state, event.last_error) == ("claimed", None)  # no attempt spent on it
    monkeypatch.undo()
    clock.advance(seconds=settings.lease_seconds + 1)
    assert worker.run_once() == 1
    assert only(ledger).state == "done"
    assert list(org.accounts) == [f"{REALM}-Customer-1"]  # upserted twice, one Account


def test_permanent_salesforce_error_fails_with_its_message(rsps, store, ledger, make_worker):
    FakeQuickBooks(rsps, [customer(1), customer(2)])
    org = FakeOrg(rsps, [mapping_row()])
    org.record_errors[ext(1)] = {
        "statusCode": "REQUIRED_FIELD_MISSING",
        "message": "Required fields are missing: [Name]",
        "fields": ["Name"],
    }
    add_event(ledger, 1)
    add_event(ledger, 2)

    make_worker().run_once()

    by_id = {e.entity_id: e for e in ledger.events()}
    expected = "REQUIRED_FIELD_MISSING: Required fields are missing: [Name] [Name]"
    assert by_id["1"].state == "failed"
    assert by_id["1"].last_error == expected
    assert by_id["1"].next_attempt_at is None  # permanent: never claimed again
    assert by_id["2"].state == "done"  # allOrNone=false: the other record went through
    assert ext(1) not in org.accounts and ext(2) in org.accounts
    (log_call,) = calls_to(rsps, LOG_UPSERT)
    sent = {r["Event_Key__c"]: r for r in json.loads(log_call.request.body)["records"]}
    assert sent["ce:Customer-1-Update"]["Status__c"] == "Failed"
    # The log explains it; Salesforce's own text is the detail.
    assert sent["ce:Customer-1-Update"]["Message__c"].startswith(
        "Customer \u201cAmy's Bird Sanctuary\u201d (QuickBooks 1): Salesforce requires Account.Name"
    )
    assert sent["ce:Customer-1-Update"]["Detail__c"].endswith(expected)
    assert applied_time(store, "1") is None


def test_transient_quickbooks_error_retries_with_backoff_then_succeeds(ledger, make_worker, clock):
    """Scripted in order (OrderedRegistry): the exact calls of a failed try and the retry."""
    config = query_result([mapping_row()])
    result = [{"id": "001000000000000001", "success": True, "errors": [], "created": True}]
    logged = [{"id": "a03000000000001", "success": True, "errors": [], "created": True}]
    qb_ok = {"QueryResponse": {"Customer": [customer(1)]}, "time": "2026-03-02T04:00:00-08:00"}
    with responses.RequestsMock(registry=OrderedRegistry) as rsps:
        rsps.get(SF_QUERY, json=config)
        # Intuit tags every response with `intuit_tid`, the id its support asks for.
        rsps.post(
            QB_QUERY_URL,
            status=503,
            body="Service Unavailable",
            headers={"intuit_tid": "1-65f0a9c2-8d4e2b7f"},
        )
        rsps.patch(LOG_UPSERT, json=logged)
        rsps.post(QB_QUERY_URL, json=qb_ok)
        rsps.get(f"{API}/sobjects/Account/describe", json=ACCOUNT_DESCRIBE)
        rsps.patch(ACCOUNT_UPSERT, json=result)
        rsps.patch(LOG_UPSERT, json=logged)
        worker = make_worker()
        add_event(ledger, 1)

        worker.run_once()
        event = only(ledger)
        assert event.state == "failed" and "status 503" in event.last_error
        # Attempt 1: full jitter within [0, 2 s].
        assert T0 <= event.next_attempt_at <= T0 + timedelta(seconds=2)
        first_log = json.loads(rsps.calls[2].request.body)["records"][0]
        assert first_log["Status__c"] == "Retrying"
        assert "QuickBooks could not be reached" in first_log["Message__c"]
        assert "intuit_tid 1-65f0a9c2-8d4e2b7f" in first_log["Detail__c"]
        assert "intuit_tid 1-65f0a9c2-8d4e2b7f" in event.last_error

        assert worker.run_once() == 0  # not due yet: the clock has not moved
        clock.advance(seconds=3)
        assert worker.run_once() == 1
        event = only(ledger)
        assert (event.state, event.attempts, event.reason) == ("done", 2, "created")
        last_log = json.loads(rsps.calls[-1].request.body)["records"][0]
        assert (last_log["Status__c"], last_log["Attempts__c"]) == ("Success", 2)


def test_event_is_dead_after_max_attempts(rsps, ledger, make_worker, clock, settings):
    qb = FakeQuickBooks(rsps, [customer(1)])
    qb.status = 503
    org = FakeOrg(rsps, [mapping_row()])
    add_event(ledger, 1)
    worker = make_worker()

    for _ in range(settings.max_attempts):
        assert worker.run_once() == 1
        clock.advance(seconds=BACKOFF_CAP_SECONDS + 1)
    assert worker.run_once() == 0

    event = only(ledger)
    assert event.state == "dead" and event.attempts == 3
    assert event.last_error.startswith("gave up after 3 attempts: QuickBooks")
    assert org.logs["ce:Customer-1-Update"]["Status__c"] == "Failed"
    assert len(qb.queries) == 3


def test_record_level_lock_error_is_retried(rsps, ledger, make_worker):
    FakeQuickBooks(rsps, [customer(1)])
    org = FakeOrg(rsps, [mapping_row()])
    org.record_errors[ext(1)] = {"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked"}
    add_event(ledger, 1)

    make_worker().run_once()

    event = only(ledger)
    assert event.state == "failed" and event.next_attempt_at is not None
    assert event.last_error == "UNABLE_TO_LOCK_ROW: locked"


def test_mapping_error_fails_the_event_with_the_reason(rsps, ledger, make_worker):
    FakeQuickBooks(rsps, [customer(1)])
    FakeOrg(rsps, [mapping_row(fields=(("DisplayName", "Name"), ("Notes", "Nope__c")))])
    add_event(ledger, 1)

    make_worker().run_once()

    event = only(ledger)
    assert event.state == "failed" and event.next_attempt_at is None
    assert (
        event.last_error == "INVALID_FIELD: Nope__c does not exist on Account (mapped from Notes)"
    )
    assert calls_to(rsps, ACCOUNT_UPSERT) == []


# --- realm-wide waits ------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["Reconnect Required", "Disconnected"])
def test_events_of_a_company_that_is_not_connected_wait(rsps, ledger, make_worker, status):
    qb = FakeQuickBooks(rsps, [customer(1)])
    org = FakeOrg(rsps, [mapping_row(status=status)])
    add_event(ledger, 1)

    make_worker().run_once()

    event = only(ledger)
    assert (event.state, event.attempts) == ("pending", 0)
    assert event.next_attempt_at == T0 + timedelta(seconds=60)
    assert qb.queries == []
    assert org.logs["ce:Customer-1-Update"]["Status__c"] == "Retrying"


def test_quickbooks_throttle_makes_the_whole_realm_wait(rsps, ledger, make_worker, clock):
    qb = FakeQuickBooks(rsps, [customer(1)])
    qb.status = 429
    FakeOrg(rsps, [mapping_row(), mapping_row("Vendor")])
    add_event(ledger, 1)
    add_event(ledger, 7, entity="Vendor")
    worker = make_worker()

    worker.run_once()  # Customer batch: 429
    worker.run_once()  # Vendor batch of the same realm: waits without calling QuickBooks

    assert len(qb.queries) == 1
    for event in ledger.events():
        assert event.state == "pending" and event.attempts == 0
        assert event.next_attempt_at == T0 + timedelta(seconds=60)
    assert worker.run_once() == 0
    qb.status = 200
    clock.advance(seconds=61)
    assert worker.run_once() == 1
    assert ledger.events()[0].state == "done"


def test_the_realm_wait_is_a_setting(rsps, ledger, settings, make_worker, clock):
    qb = FakeQuickBooks(rsps, [customer(1)])
    qb.status = 429
    FakeOrg(rsps, [mapping_row()])
    add_event(ledger, 1)
    worker = make_worker(settings=settings.with_overrides(realm_wait_seconds=2.5))

    worker.run_once()

    (event,) = ledger.events()
    assert (event.state, event.next_attempt_at) == ("pending", T0 + timedelta(seconds=2.5))


def test_quickbooks_auth_error_waits_and_marks_the_company_reconnect_required(
    rsps, ledger, make_worker
):
    qb = FakeQuickBooks(rsps, [customer(1)])
    org = FakeOrg(rsps, [mapping_row()])
    add_event(ledger, 1)

    make_worker(connected=False).run_once()  # no tokens in the vault: QuickBooksAuthError

    event = only(ledger)
    assert (event.state, event.attempts) == ("pending", 0)
    assert event.next_attempt_at == T0 + timedelta(seconds=60)
    assert qb.queries == []
    (company,) = org.companies
    assert company["Realm_Id__c"] == REALM and company["Status__c"] == "Reconnect Required"
    log = org.logs["ce:Customer-1-Update"]
    assert log["Status__c"] == "Retrying" and "Reconnect Required" in log["Message__c"]


# --- deletes and merges ----------------------------------------------------------------------


def test_delete_behaviour_delete_removes_the_salesforce_record(rsps, ledger, make_worker):
    qb = FakeQuickBooks(rsps, [])
    org = FakeOrg(rsps, [mapping_row(delete_behavior="Delete")])
    org.accounts[ext(5)] = {"Id": "001000000000000005", "Name": "Gone"}
    add_event(ledger, 5, "Delete")
    add_event(ledger, 6, "Delete")  # never synced: nothing to delete

    make_worker().run_once()

    # A Customer is a name-list record: QuickBooks' current state decides (here: both gone).
    assert qb.queries == [
        "select * from Customer where Id in ('5', '6') and Active in (true, false) MAXRESULTS 1000"
    ]
    assert org.accounts == {}
    soql = [
        parse_qs(urlparse(c.request.url).query)["q"][0]
        for c in calls_to(rsps, "/query/")
        if "Account" in c.request.url
    ]
    expected = f"SELECT Id, QB_External_Id__c FROM Account WHERE QB_External_Id__c IN ('{ext(5)}', '{ext(6)}')"  # noqa: E501, S608 - the expected SOQL text
    assert soql == [expected]
    (delete,) = calls_to(rsps, "/composite/sobjects?", "DELETE")
    assert parse_qs(urlparse(delete.request.url).query)["ids"] == ["001000000000000005"]
    assert states(ledger) == {
        ("5", "ce:Customer-5-Delete"): ("done", "deleted"),
        ("6", "ce:Customer-6-Delete"): ("done", "not in Salesforce"),
    }


def test_create_then_delete_in_one_batch_syncs_the_inactive_customer(rsps, ledger, make_worker):
    # QuickBooks "deletes" a Customer by making it inactive; it is still there to read.
    FakeQuickBooks(rsps, [customer(7, Active=False)])
    org = FakeOrg(rsps, [mapping_row(delete_behavior="Deactivate")])
    add_event(ledger, 7, "Create")
    add_event(ledger, 7, "Delete")

    make_worker().run_once()

    assert org.accounts[ext(7)]["QB_Active__c"] is False
    assert org.accounts[ext(7)]["Name"] == CUSTOMER["DisplayName"]
    assert {state for state, _ in states(ledger).values()} == {"done"}


def test_inactive_customer_is_deleted_when_delete_behaviour_is_delete(rsps, ledger, make_worker):
    FakeQuickBooks(rsps, [customer(5, Active=False)])
    org = FakeOrg(rsps, [mapping_row(delete_behavior="Delete")])
    org.accounts[ext(5)] = {"Id": "001000000000000005", "Name": "Gone"}
    add_event(ledger, 5, "Delete")

    make_worker().run_once()

    assert org.accounts == {}
    assert states(ledger) == {("5", "ce:Customer-5-Delete"): ("done", "deleted")}


def test_delete_behaviour_deactivate_clears_the_field_mapped_from_active(rsps, ledger, make_worker):
    FakeQuickBooks(rsps, [])
    org = FakeOrg(rsps, [mapping_row(delete_behavior="Deactivate")])
    org.accounts[ext(5)] = {"Id": "001000000000000005", "QB_Active__c": True}
    add_event(ledger, 5, "Delete")
    add_event(ledger, 6, "Delete")  # never synced: no bare record may be created for it

    make_worker().run_once()

    assert calls_to(rsps, ACCOUNT_UPSERT) == []
    (update,) = [c for c in calls_to(rsps, UPDATE_URL, "PATCH") if c.request.url == UPDATE_URL]
    assert json.loads(update.request.body) == {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "Id": "001000000000000005", "QB_Active__c": False}
        ],
    }
    assert org.accounts == {ext(5): {"Id": "001000000000000005", "QB_Active__c": False}}
    assert states(ledger) == {
        ("5", "ce:Customer-5-Delete"): ("done", "deactivated"),
        ("6", "ce:Customer-6-Delete"): ("done", "not in Salesforce"),
    }


def test_deactivate_without_an_active_field_mapping_fails_with_the_reason(
    rsps, ledger, make_worker
):
    FakeQuickBooks(rsps, [])
    FakeOrg(rsps, [mapping_row(fields=(("DisplayName", "Name"),), delete_behavior="Deactivate")])
    add_event(ledger, 5, "Delete")

    make_worker().run_once()

    event = only(ledger)
    assert event.state == "failed" and event.next_attempt_at is None
    assert event.last_error.startswith("Delete_Behavior__c is Deactivate, but no field mapping")


def test_delete_behaviour_ignore_leaves_salesforce_alone(rsps, ledger, make_worker):
    FakeQuickBooks(rsps, [])
    org = FakeOrg(rsps, [mapping_row(delete_behavior="Ignore")])
    org.accounts[ext(5)] = {"Id": "001000000000000005"}
    add_event(ledger, 5, "Delete")

    make_worker().run_once()

    assert calls_to(rsps, ACCOUNT_UPSERT) == [] and calls_to(rsps, "DELETE") == []
    assert ext(5) in org.accounts
    event = only(ledger)
    assert (event.state, event.reason) == ("done", "delete ignored (Delete_Behavior__c)")


def test_record_quickbooks_no_longer_returns_is_handled_as_a_delete(rsps, ledger, make_worker):
    FakeQuickBooks(rsps, [])  # deleted since the Update event was sent
    org = FakeOrg(rsps, [mapping_row(delete_behavior="Delete")])
    org.accounts[ext(3)] = {"Id": "001000000000000003"}
    add_event(ledger, 3, "Update")

    make_worker().run_once()

    assert org.accounts == {}
    assert (only(ledger).state, only(ledger).reason) == ("done", "deleted")


def test_merge_updates_the_survivor_and_deletes_the_merged_away_record(rsps, ledger, make_worker):
    qb = FakeQuickBooks(rsps, [customer(1, DisplayName="Survivor")])
    org = FakeOrg(rsps, [mapping_row(delete_behavior="Delete")])
    org.accounts[ext(1)] = {"Id": "001000000000000001", "Name": "Old"}
    org.accounts[ext(2)] = {"Id": "001000000000000002", "Name": "Merged away"}
    add_event(ledger, 1, "Merge", deleted_id="2")

    make_worker().run_once()

    assert qb.queries == [
        "select * from Customer where Id in ('1') and Active in (true, false) MAXRESULTS 1000"
    ]
    assert set(org.accounts) == {ext(1)}
    assert org.accounts[ext(1)]["Name"] == "Survivor"
    event = only(ledger)
    assert event.state == "done"
    assert org.logs["ce:Customer-1-Merge"]["Message__c"] == "updated; merged-away 2: deleted"


# --- convergence -----------------------------------------------------------------------------


def test_duplicate_and_out_of_order_events_converge_to_the_current_state(
    rsps, store, ledger, make_worker, clock
):
    qb = FakeQuickBooks(rsps, [customer(1, DisplayName="Version 2")])
    org = FakeOrg(rsps, [mapping_row()])
    worker = make_worker()
    # Two events about the same record in one batch become ONE record in the upsert.
    add_event(ledger, 1, "Update", key="ce:b", occurred=T0 - timedelta(seconds=1))
    add_event(ledger, 1, "Create", key="ce:a", occurred=T0 - timedelta(seconds=5))
    worker.run_once()
    (upsert,) = calls_to(rsps, ACCOUNT_UPSERT)
    assert [r["Name"] for r in json.loads(upsert.request.body)["records"]] == ["Version 2"]
    assert {e.state for e in ledger.events()} == {"done"}

    # Intuit's retry of the same delivery is not even stored twice.
    add_event(ledger, 1, "Update", key="ce:b")
    # A late, older event: QuickBooks' current state was applied already.
    add_event(ledger, 1, "Update", key="ce:late", occurred=T0 - timedelta(minutes=5))
    assert len(ledger.events()) == 3
    clock.advance(seconds=1)
    worker.run_once()
    assert len(calls_to(rsps, ACCOUNT_UPSERT)) == 1
    late = next(e for e in ledger.events() if e.event_key == "ce:late")
    assert (late.state, late.reason) == ("done", "already applied")

    # A newer QuickBooks version arrives behind an out-of-order event: still the current state.
    qb.records["1"] = customer(
        1,
        DisplayName="Version 3",
        MetaData={"LastUpdatedTime": "2015-07-02T10:00:00-07:00"},
    )
    add_event(ledger, 1, "Update", key="ce:older", occurred=T0 - timedelta(hours=1))
    clock.advance(seconds=1)
    worker.run_once()
    assert org.accounts[ext(1)]["Name"] == "Version 3"
    assert applied_time(store, "1") == datetime(2015, 7, 2, 17, 0, tzinfo=UTC)


# --- mapping details in the body -------------------------------------------------------------


def test_reference_is_sent_as_a_lookup_through_the_parents_external_id(rsps, ledger, make_worker):
    FakeQuickBooks(rsps, [customer(9, ParentRef={"value": "1", "name": "Amy's Bird Sanctuary"})])
    FakeOrg(rsps, [mapping_row(fields=(("DisplayName", "Name"), ("ParentRef", "ParentId")))])
    add_event(ledger, 9, "Create")

    make_worker().run_once()

    (upsert,) = calls_to(rsps, ACCOUNT_UPSERT)
    assert json.loads(upsert.request.body)["records"] == [
        {
            "attributes": {"type": "Account"},
            "QB_External_Id__c": ext(9),
            "Name": "Amy's Bird Sanctuary",
            "Parent": {"QB_External_Id__c": ext(1)},
        }
    ]


def test_truncated_value_is_written_and_the_warning_logged(rsps, ledger, make_worker):
    long_city = "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch"
    FakeQuickBooks(rsps, [customer(1, BillAddr={"City": long_city})])
    org = FakeOrg(rsps, [mapping_row()])
    add_event(ledger, 1, "Create")

    make_worker().run_once()

    assert org.accounts[ext(1)]["BillingCity"] == long_city[:40]
    assert only(ledger).state == "done"
    assert org.logs["ce:Customer-1-Create"]["Message__c"] == (
        f"created; BillAddr.City → BillingCity: {len(long_city)} characters cut to 40"
    )


# --- volume ----------------------------------------------------------------------------------


def test_500_events_use_at_most_3_reads_and_3_upserts(rsps, store, ledger, make_worker):
    qb = FakeQuickBooks(rsps, [customer(i) for i in range(1, 501)])
    org = FakeOrg(rsps, [mapping_row()])
    ledger.add(
        [ChangeEvent(REALM, "Customer", str(i), "Create", T0, f"ce:{i}") for i in range(1, 501)]
    )
    version_statements = []

    @sqlalchemy_event.listens_for(store.engine, "before_cursor_execute")
    def note(_conn, _cursor, statement, _params, _context, _executemany):
        if "applied_versions" in statement:
            version_statements.append(statement.split()[0])

    assert make_worker().run_once() == 500

    # The applied versions: one read before the upserts, one write after, for the whole batch.
    assert version_statements == ["SELECT", "INSERT"]
    assert len(store.versions.applied_many(REALM, "Customer", map(str, range(1, 501)))) == 500

    assert len(calls_to(rsps, QB_QUERY_URL)) <= 3
    upserts = calls_to(rsps, ACCOUNT_UPSERT)
    assert len(upserts) <= 3
    assert sum(len(json.loads(c.request.body)["records"]) for c in upserts) == 500
    assert len(org.accounts) == 500
    assert ledger.counts()["done"] == 500
    assert len(org.logs) == 500
    assert len(calls_to(rsps, LOG_UPSERT)) == 3  # 200 + 200 + 100 rows
    assert len(qb.queries) == 1


@pytest.mark.parametrize(
    ("status", "state", "log_status"), [(503, "failed", "Retrying"), (400, "failed", "Failed")]
)
def test_a_failed_upsert_call_costs_only_its_chunk(
    rsps, store, ledger, make_worker, status, state, log_status
):
    FakeQuickBooks(rsps, [customer(i) for i in range(1, 451)])
    org = FakeOrg(rsps, [mapping_row()])
    org.refused_calls[ext(300)] = status  # in the second call: records 201..400
    ledger.add(
        [ChangeEvent(REALM, "Customer", str(i), "Create", T0, f"ce:{i}") for i in range(1, 451)]
    )

    make_worker().run_once()

    refused = {str(i) for i in range(201, 401)}
    assert set(org.accounts) == {ext(i) for i in range(1, 451) if str(i) not in refused}
    for event in ledger.events():
        if event.entity_id in refused:
            assert event.state == state and "refused" in event.last_error
            assert (event.next_attempt_at is not None) == (status == 503)
            assert applied_time(store, event.entity_id) is None
        else:
            assert (event.state, event.reason) == ("done", "created")
    statuses = {key: log["Status__c"] for key, log in org.logs.items()}
    assert statuses == {
        f"ce:{i}": log_status if str(i) in refused else "Success" for i in range(1, 451)
    }


def outcome_scenario(kind, rsps, settings):
    """Remote state in which the worker's first (or, for Dead, last) try ends as `kind`."""
    qb = FakeQuickBooks(rsps, [customer(1)])
    rows = {
        Skip: [mapping_row(realtime=False)],
        Fail: [mapping_row(fields=(("DisplayName", "Name"), ("Notes", "Nope__c")))],
        WaitForRealm: [mapping_row(status="Disconnected")],
    }.get(kind, [mapping_row()])
    FakeOrg(rsps, rows)
    if kind in (Retry, Dead):
        qb.status = 503
    return 1 if kind is not Dead else settings.max_attempts


@pytest.mark.parametrize(
    "kind", [Done, Skip, Fail, Retry, Dead, WaitForRealm], ids=lambda kind: kind.__name__
)
def test_the_worker_records_each_outcome_as_the_table_says(
    rsps, ledger, make_worker, clock, settings, kind
):
    tries = outcome_scenario(kind, rsps, settings)
    add_event(ledger, 1)
    worker = make_worker()
    sent: list[dict] = []

    for _ in range(tries):
        assert worker.run_once() == 1
        sent = [json.loads(c.request.body)["records"][0] for c in calls_to(rsps, LOG_UPSERT)]
        clock.advance(seconds=BACKOFF_CAP_SECONDS + 1)

    rule = SETTLEMENTS[kind]
    event = only(ledger)
    assert event.state == rule.ledger_state
    assert event.attempts == (tries if rule.counts_attempt else 0)
    assert sent[-1]["Status__c"] == rule.sync_log_status
    assert sent[-1]["Attempts__c"] == event.attempts


# --- sync log --------------------------------------------------------------------------------


def test_failed_log_write_keeps_the_ledger_outcome_and_is_retried(rsps, ledger, make_worker, clock):
    FakeQuickBooks(rsps, [customer(1), customer(2)])
    org = FakeOrg(rsps, [mapping_row()])
    org.log_status = 503
    add_event(ledger, 1)
    worker = make_worker()

    worker.run_once()
    assert only(ledger).state == "done"
    assert org.logs == {} and worker.sync_logs.pending == 1

    org.log_status = 200
    add_event(ledger, 2)
    clock.advance(seconds=1)
    worker.run_once()
    assert set(org.logs) == {"ce:Customer-1-Update", "ce:Customer-2-Update"}
    assert worker.sync_logs.pending == 0


def test_sync_logs_a_worker_died_before_sending_are_sent_by_the_next(rsps, store, make_worker):
    FakeQuickBooks(rsps, [customer(1)])
    org = FakeOrg(rsps, [mapping_row()])
    add_event(store.events, 1)
    dying = make_worker()
    dying._sender = threading.Event()  # as in run_forever: its sender thread sends the logs…
    dying.run_once()  # …but the process dies before it does
    assert only(store.events).state == "done" and org.logs == {}

    make_worker().run_once()  # nothing to claim: it sends what waits

    assert org.logs["ce:Customer-1-Update"]["Status__c"] == "Success"
    assert store.sync_log_outbox.count() == 0


def test_long_event_keys_are_hashed_to_fit_the_field():
    short = "ce:" + "a" * 200
    assert log_key(short) == short
    long_key = "legacy:" + "x" * 300
    fitted = log_key(long_key)
    assert len(fitted) == 255 and fitted != log_key(long_key + "y")
    assert fitted.startswith("legacy:xxx")


def test_backoff_is_full_jitter_and_capped():
    rng = random.Random(1)
    assert all(0 <= backoff_seconds(1, rng) <= 2 for _ in range(50))
    assert all(0 <= backoff_seconds(4, rng) <= 16 for _ in range(50))
    assert max(backoff_seconds(30, rng) for _ in range(200)) <= BACKOFF_CAP_SECONDS
    assert max(backoff_seconds(30, rng) for _ in range(200)) > 300


# --- driving ---------------------------------------------------------------------------------


def test_run_forever_processes_until_idle_then_stops_on_the_event(rsps, ledger, make_worker):
    FakeQuickBooks(rsps, [customer(1), customer(2)])
    org = FakeOrg(rsps, [mapping_row(), mapping_row("Vendor", realtime=False)])
    add_event(ledger, 1)
    add_event(ledger, 2, entity="Vendor")

    stop_worker(*run_until_idle(make_worker()))

    assert ledger.counts()["done"] == 1 and ledger.counts()["skipped"] == 1
    assert set(org.accounts) == {ext(1)}
    # Sent by the sender thread, after the outcomes.
    assert set(org.logs) == {"ce:Customer-1-Update", f"skipped:{REALM}:Vendor"}


def test_services_built_from_settings_give_the_worker_one_store(tmp_path, settings):
    url = f"sqlite:///{tmp_path / 'built.db'}"
    services = Services(settings.with_overrides(database_url=url))
    worker = Worker(services)
    assert worker.run_once() == 0  # an empty ledger: no HTTP call (responses is not active)
    assert str(services.store.engine.url) == url
    assert worker.ledger is services.store.events
    assert worker.configs is services.configs
    assert (worker.quickbooks, worker.salesforce) == (services.quickbooks, services.salesforce)


def test_a_configuration_change_describes_the_target_again(rsps, store, ledger, make_worker):
    # Fields added in Salesforce come with a Save there (POST /api/config-changed).
    FakeQuickBooks(rsps, [customer(1), customer(2), customer(3)])
    FakeOrg(rsps, [mapping_row()])
    worker = make_worker()
    describes = lambda: len(calls_to(rsps, "/sobjects/Account/describe"))  # noqa: E731

    add_event(ledger, 1)
    worker.run_once()
    add_event(ledger, 2)
    worker.run_once()
    assert describes() == 1  # cached

    store.config_signal.changed()
    add_event(ledger, 3)
    worker.run_once()
    assert describes() == 2


# --- records CDC returned whole (issue 13, item 8) --------------------------------------------


def test_a_record_cdc_returned_whole_is_applied_without_a_second_read(rsps, ledger, make_worker):
    qb = FakeQuickBooks(rsps, [customer(1, DisplayName="stale")])
    org = FakeOrg(rsps, [mapping_row()])
    # CDC's record (research §3: CDC returns full payloads) holds every mapped property.
    add_event(ledger, 1, key="cdc:1", source="cdc", record=customer(1))

    assert make_worker().run_once() == 1

    assert qb.queries == []  # no metered read
    assert org.accounts[ext(1)]["Name"] == "Amy's Bird Sanctuary"
    assert (only(ledger).state, only(ledger).reason) == ("done", "created")


@pytest.mark.parametrize(
    "events",
    [
        # QuickBooks leaves out a property without a value: BillAddr is mapped, so read it.
        [
            {
                "key": "cdc:1",
                "source": "cdc",
                "record": {k: v for k, v in CUSTOMER.items() if k != "BillAddr"} | {"Id": "1"},
            }
        ],
        # A webhook about the same record may announce a newer change than CDC saw.
        [{"key": "cdc:1", "source": "cdc", "record": customer(1)}, {"key": "ce:1"}],
    ],
)
def test_a_cdc_record_that_cannot_stand_for_a_read_is_read(rsps, ledger, make_worker, events):
    qb = FakeQuickBooks(rsps, [customer(1, DisplayName="Current name")])
    org = FakeOrg(rsps, [mapping_row()])
    for event in events:
        add_event(ledger, 1, **event)

    make_worker().run_once()

    assert len(qb.queries) == 1
    assert org.accounts[ext(1)]["Name"] == "Current name"


def test_the_ledger_keeps_a_cdc_record_with_its_event(ledger):
    add_event(ledger, 7, key="cdc:7", source="cdc", record=customer(7))
    add_event(ledger, 8, key="ce:8")
    by_key = {event.event_key: event for event in ledger.events(limit=10)}
    assert by_key["cdc:7"].record == customer(7)
    assert by_key["ce:8"].record is None
