"""qbsync.worker for transactions with lines (issue 10, contract-10 Behaviour).

The real worker, ledger and Salesforce client; HTTP mocked at the transport (`responses`) by
`Org`, an org that keeps records of any object by external id and answers upserts, queries and
deletes as Salesforce does: a relationship set by external id that matches nothing fails the
record with INVALID_FIELD "Foreign key external ID: … not found …", deleting a master deletes its
details. `Company` keeps the QuickBooks records per entity behind the query endpoint. The tests
assert on what the org holds, what was called, and the ledger.
"""

from __future__ import annotations

import copy
import json
import random
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from qbsync.catalog import parse_catalog
from qbsync.events import ChangeEvent
from qbsync.salesforce.auth import SalesforceLogin
from qbsync.salesforce.client import SalesforceClient
from qbsync.services import Services
from qbsync.store import Store
from qbsync.worker import Worker
from tests.support import builders
from tests.support.builders import quickbooks_sample
from tests.support.catalogs import transactions_catalog
from tests.support.fakes import Clock

REALM = "9130350000000000"
QB_QUERY_URL = f"https://sandbox-quickbooks.api.intuit.com/v3/company/{REALM}/query"
INSTANCE = "https://example.my.salesforce.com"
API = f"{INSTANCE}/services/data/v66.0"
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SALES = "Line[DetailType=SalesItemLineDetail]"


def sf_field(name, type_="string", reference_to=None, master=False):
    return {
        "name": name,
        "type": "reference" if reference_to else type_,
        "length": 255 if type_ == "string" else 0,
        "scale": 2 if type_ == "currency" else None,
        "precision": 16 if type_ == "currency" else 0,
        "relationshipName": name.replace("__c", "__r") if reference_to else None,
        "referenceTo": [reference_to] if reference_to else [],
        "createable": True,
        "updateable": not master,
        "master": master,  # not a describe key: tells Org to cascade deletes
    }


EXT = sf_field("QB_External_Id__c")
DESCRIBES = {
    "Account": [sf_field("Name"), EXT],
    "Product2": [sf_field("Name"), EXT],
    "QB_Transaction__c": [
        sf_field("Total_Amount__c", "currency"),
        sf_field("Balance__c", "currency"),
        sf_field("Voided__c", "boolean"),
        sf_field("Account__c", reference_to="Account"),
        EXT,
    ],
    "QB_Transaction_Line__c": [
        sf_field("Transaction__c", reference_to="QB_Transaction__c", master=True),
        sf_field("Product__c", reference_to="Product2"),
        sf_field("Amount__c", "currency"),
        EXT,
    ],
    "QB_Payment__c": [
        sf_field("Total_Amount__c", "currency"),
        sf_field("Voided__c", "boolean"),
        sf_field("Account__c", reference_to="Account"),
        EXT,
    ],
    "QB_Payment_Line__c": [
        sf_field("Payment__c", reference_to="QB_Payment__c", master=True),
        sf_field("Transaction__c", reference_to="QB_Transaction__c"),
        sf_field("Amount__c", "currency"),
        EXT,
    ],
}


def mapping_row(qb_object, sobject, fields, id_=None, parent=None, path=None, parent_field=None):
    children = [
        {"Id": f"a01{qb}", "QB_Field__c": qb, "Salesforce_Field__c": sf} for qb, sf in fields
    ]
    return {
        "Id": id_ or f"a00{qb_object}",
        "QB_Object__c": qb_object,
        "Salesforce_Object__c": sobject,
        "External_Id_Field__c": "QB_External_Id__c",
        "Realtime_Enabled__c": parent is None,
        "Delete_Behavior__c": "Delete",
        "Parent_Mapping__c": parent,
        "Collection_Path__c": path,
        "Parent_Field__c": parent_field,
        "Company__r": {"Realm_Id__c": REALM, "Status__c": "Connected"},
        "Field_Mappings__r": {"records": children},
    }


CONFIG = [
    mapping_row("Customer", "Account", [("DisplayName", "Name")]),
    mapping_row("Item", "Product2", [("Name", "Name")]),
    mapping_row(
        "Invoice",
        "QB_Transaction__c",
        [("TotalAmt", "Total_Amount__c"), ("Balance", "Balance__c"), ("CustomerRef", "Account__c")],
    ),
    mapping_row(
        "Invoice",
        "QB_Transaction_Line__c",
        [("Amount", "Amount__c"), ("SalesItemLineDetail.ItemRef", "Product__c")],
        id_="a00InvoiceLines",
        parent="a00Invoice",
        path=SALES,
        parent_field="Transaction__c",
    ),
    mapping_row(
        "Payment",
        "QB_Payment__c",
        [("TotalAmt", "Total_Amount__c"), ("CustomerRef", "Account__c")],
    ),
    mapping_row(
        "Payment",
        "QB_Payment_Line__c",
        [("Amount", "Amount__c"), ("LinkedTxn[TxnType=Invoice].TxnId", "Transaction__c")],
        id_="a00PaymentLines",
        parent="a00Payment",
        path="Line",
        parent_field="Payment__c",
    ),
]


class Org:
    """Records by object and external id; see the module docstring."""

    def __init__(self, rsps):
        self.records: dict[str, dict[str, dict]] = {name: {} for name in DESCRIBES}
        self.logs: dict[str, dict] = {}
        self.calls: list[tuple[str, str, int]] = []  # (method, object or "query", records)
        self.refuse: dict[str, dict] = {}  # external id -> the error its upsert gets
        self.config = list(CONFIG)
        self._next = 0
        rsps.add_callback(responses.GET, re.compile(rf"^{re.escape(API)}/query/"), self._query)
        for name, fields in DESCRIBES.items():
            rsps.get(f"{API}/sobjects/{name}/describe", json={"name": name, "fields": fields})
        rsps.add_callback(
            responses.PATCH,
            re.compile(rf"^{re.escape(API)}/composite/sobjects/\w+/\w+$"),
            self._upsert,
        )
        rsps.add_callback(
            responses.DELETE, re.compile(rf"^{re.escape(API)}/composite/sobjects\?"), self._delete
        )

    def add(self, sobject, key, **fields):
        self._next += 1
        record = {"Id": f"a0X{self._next:015d}", "QB_External_Id__c": key, **fields}
        self.records[sobject][key] = record
        return record

    def get(self, sobject, key):
        return self.records[sobject].get(key)

    def by_id(self, sf_id):
        for sobject, records in self.records.items():
            for record in records.values():
                if record["Id"] == sf_id:
                    return sobject, record
        return None, None

    def _field(self, sobject, name=None, relationship=None):
        return next(
            f
            for f in DESCRIBES[sobject]
            if f["name"] == name or (relationship and f["relationshipName"] == relationship)
        )

    def _upsert(self, request):
        sobject, ext = urlparse(request.url).path.split("/")[-2:]
        body = json.loads(request.body)
        assert body["allOrNone"] is False and len(body["records"]) <= 200
        if sobject in ("QB_Sync_Log__c", "QB_Company__c"):
            for record in body["records"]:
                if sobject == "QB_Sync_Log__c":
                    self.logs[record["Event_Key__c"]] = record
            results = [{"id": "a03", "success": True, "errors": [], "created": True}] * len(
                body["records"]
            )
            return 200, {}, json.dumps(results)
        self.calls.append(("upsert", sobject, len(body["records"])))
        return 200, {}, json.dumps([self._upsert_one(sobject, ext, r) for r in body["records"]])

    def _upsert_one(self, sobject, ext, record):
        assert record.pop("attributes") == {"type": sobject}
        key = record[ext]
        if key in self.refuse:
            return {"id": None, "success": False, "errors": [self.refuse[key]]}
        values, errors = {}, []
        for name, value in record.items():
            if isinstance(value, dict):
                field = self._field(sobject, relationship=name)
                ((target_ext, target_key),) = value.items()
                target = self.records[field["referenceTo"][0]].get(target_key)
                if target is None:
                    message = (
                        f"Foreign key external ID: {target_key} not found for field "
                        f"{target_ext} in entity {field['referenceTo'][0]}"
                    )
                    errors.append({"statusCode": "INVALID_FIELD", "message": message, "fields": []})
                    continue
                values[field["name"]] = target["Id"]
            else:
                values[name] = value
        if errors:
            return {"id": None, "success": False, "errors": errors}
        created = key not in self.records[sobject]
        masters = {f["name"] for f in DESCRIBES[sobject] if f["master"]}
        if not created and masters & set(values):
            # Salesforce refuses a master-detail field (not reparentable) in an update.
            field = sorted(masters & set(values))[0]
            message = f"Unable to create/update fields: {field}."
            error = {"statusCode": "INVALID_FIELD_FOR_INSERT_UPDATE", "message": message}
            return {"id": None, "success": False, "errors": [{**error, "fields": [field]}]}
        stored = self.records[sobject].get(key) or self.add(sobject, key)
        stored.update(values)
        return {"id": stored["Id"], "success": True, "errors": [], "created": created}

    def _query(self, request):
        soql = parse_qs(urlparse(request.url).query)["q"][0]
        if "FROM QB_Object_Mapping__c" in soql:
            rows = self.config
        else:
            self.calls.append(("query", soql, 0))
            rows = self._select(soql)
        return 200, {}, json.dumps({"totalSize": len(rows), "done": True, "records": rows})

    def _select(self, soql):
        keys = re.findall(r"'([^']*)'", soql)
        lines = re.fullmatch(
            r"SELECT Id, (\w+), (\w+)\.(\w+) FROM (\w+) WHERE \2\.\3 IN \(.*\)", soql
        )
        if lines:
            ext, relationship, parent_ext, sobject = lines.groups()
            field = self._field(sobject, relationship=relationship)
            rows = []
            for record in self.records[sobject].values():
                _, parent = self.by_id(record.get(field["name"]))
                if parent and parent[parent_ext] in keys:
                    rows.append(
                        {
                            "Id": record["Id"],
                            ext: record[ext],
                            relationship: {parent_ext: parent[parent_ext]},
                        }
                    )
            return rows
        through = re.fullmatch(r"SELECT (\w+)\.(\w+) FROM (\w+) WHERE (\w+)\.(\w+) IN \(.*\)", soql)
        if through:  # a reference of the records whose parent is among the keys
            relationship, ext, sobject, parent_relationship, parent_ext = through.groups()
            field = self._field(sobject, relationship=relationship)
            parent_field = self._field(sobject, relationship=parent_relationship)
            rows = []
            for record in self.records[sobject].values():
                _, parent = self.by_id(record.get(parent_field["name"]))
                _, referred = self.by_id(record.get(field["name"]))
                if parent and parent[parent_ext] in keys:
                    rows.append({relationship: {ext: referred[ext]} if referred else None})
            return rows
        referring = re.fullmatch(r"SELECT (\w+) FROM (\w+) WHERE (\w+)\.(\w+) IN \(.*\)", soql)
        if referring:
            ext, sobject, relationship, parent_ext = referring.groups()
            field = self._field(sobject, relationship=relationship)
            rows = []
            for record in self.records[sobject].values():
                _, parent = self.by_id(record.get(field["name"]))
                if parent and parent[parent_ext] in keys:
                    rows.append({ext: record[ext]})
            return rows
        plain = re.fullmatch(r"SELECT Id, (\w+) FROM (\w+) WHERE \1 IN \(.*\)", soql)
        assert plain, soql
        ext, sobject = plain.groups()
        return [
            {"Id": r["Id"], ext: r[ext]} for r in self.records[sobject].values() if r[ext] in keys
        ]

    def _delete(self, request):
        ids = parse_qs(urlparse(request.url).query)["ids"][0].split(",")
        self.calls.append(("delete", "", len(ids)))
        results = []
        for sf_id in ids:
            sobject, record = self.by_id(sf_id)
            if record is None:
                error = {"statusCode": "ENTITY_IS_DELETED", "message": "entity is deleted"}
                results.append({"id": sf_id, "success": False, "errors": [error]})
                continue
            self._remove(sobject, record)
            results.append({"id": sf_id, "success": True, "errors": []})
        return 200, {}, json.dumps(results)

    def _remove(self, sobject, record):
        del self.records[sobject][record["QB_External_Id__c"]]
        for child, fields in DESCRIBES.items():  # master-detail: the details go too
            for field in fields:
                if field["master"] and field["referenceTo"] == [sobject]:
                    for detail in list(self.records[child].values()):
                        if detail.get(field["name"]) == record["Id"]:
                            self._remove(child, detail)

    def upserts(self, sobject=None):
        return [c for c in self.calls if c[0] == "upsert" and (sobject is None or c[1] == sobject)]


class Company:
    """QuickBooks records per entity behind `POST …/query`; `queries` lists (entity, ids)."""

    def __init__(self, rsps):
        self.records: dict[str, dict[str, dict]] = {}
        self.queries: list[tuple[str, list[str]]] = []
        rsps.add_callback(responses.POST, QB_QUERY_URL, callback=self._query)

    def put(self, entity, record):
        self.records.setdefault(entity, {})[record["Id"]] = record
        return record

    def _query(self, request):
        text = request.body.decode() if isinstance(request.body, bytes) else request.body
        entity = re.search(r"from (\w+)", text).group(1)
        ids = re.findall(r"'([^']*)'", text)
        self.queries.append((entity, ids))
        found = [self.records.get(entity, {})[i] for i in ids if i in self.records.get(entity, {})]
        body = {"QueryResponse": {entity: found} if found else {}, "time": "2026-03-02T04:00:00Z"}
        return 200, {}, json.dumps(body)


def key(entity, id_):
    return f"{REALM}-{entity}-{id_}"


def customer(id_, name="Sonnenschein Family Store"):
    return {"Id": str(id_), "DisplayName": name, "Active": True, "SyncToken": "0",
            "MetaData": {"LastUpdatedTime": "2026-03-01T10:00:00-08:00"}}  # fmt: skip


def item(id_):
    return {"Id": str(id_), "Name": f"Item {id_}", "Active": True, "SyncToken": "0",
            "MetaData": {"LastUpdatedTime": "2026-03-01T10:00:00-08:00"}}  # fmt: skip


def invoice(id_="130", lines=None, token=0, **changes):
    record = copy.deepcopy(quickbooks_sample("invoice"))
    record.update(Id=str(id_), SyncToken=str(token))
    record["MetaData"]["LastUpdatedTime"] = f"2026-03-02T0{token}:00:00-08:00"
    if lines is not None:
        record["Line"] = [
            {"Id": str(n), "Amount": amount, "DetailType": "SalesItemLineDetail",
             "SalesItemLineDetail": {"ItemRef": {"value": "5"}}}
            for n, amount in lines
        ]  # fmt: skip
    record.update(changes)
    return record


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def store(tmp_path):
    return Store.open(f"sqlite:///{tmp_path / 'qbsync.db'}")


@pytest.fixture
def org(rsps):
    return Org(rsps)


@pytest.fixture
def qb(rsps):
    return Company(rsps)


@pytest.fixture
def worker(store):
    settings = builders.settings(salesforce_login_url="https://login.example.com", max_attempts=3)
    salesforce = SalesforceClient(
        settings, login_with=lambda s, session: SalesforceLogin(INSTANCE, "sf-session")
    )
    services = Services(
        settings,
        store=store,
        salesforce=salesforce,
        catalog=parse_catalog(transactions_catalog()),
        clock=Clock(T0),
    )
    services.vault.save(builders.tokens(REALM, access="qb-access", refresh="qb-refresh"))
    return Worker(services, rng=random.Random(7), name="test-worker")


def add_event(store, entity, id_, op="Update", n=0, **extra):
    store.events.add(
        [
            ChangeEvent(
                realm_id=REALM,
                entity=entity,
                entity_id=str(id_),
                operation=op,
                occurred_at=T0 - timedelta(seconds=2),
                event_key=f"ce:{entity}-{id_}-{op}-{n}",
                **extra,
            )
        ]
    )


def outcomes(store):
    return {
        (e.entity, e.entity_id): (e.state, e.reason or e.last_error) for e in store.events.events()
    }


def line_amounts(org, sobject="QB_Transaction_Line__c"):
    return {k: r["Amount__c"] for k, r in org.records[sobject].items()}


def with_customer_and_items(org):
    org.add("Account", key("Customer", 24), Name="Sonnenschein")
    for id_ in ("3", "5", "11"):
        org.add("Product2", key("Item", id_), Name=f"Item {id_}")


# --- parents, then lines ------------------------------------------------------------------------


def test_an_invoice_lands_with_its_lines_after_it(store, org, qb, worker):
    with_customer_and_items(org)
    qb.put("Invoice", invoice())
    add_event(store, "Invoice", "130", "Create")

    assert worker.run_once() == 1

    parent = org.get("QB_Transaction__c", key("Invoice", 130))
    assert (parent["Total_Amount__c"], parent["Balance__c"]) == (362.07, 362.07)
    assert parent["Account__c"] == org.get("Account", key("Customer", 24))["Id"]
    assert line_amounts(org) == {
        f"{key('Invoice', 130)}-1": 275,
        f"{key('Invoice', 130)}-2": 12.75,
        f"{key('Invoice', 130)}-3": 47.5,
    }
    assert {r["Transaction__c"] for r in org.records["QB_Transaction_Line__c"].values()} == {
        parent["Id"]
    }
    # One read, the parent then its lines, and no query for old lines of a new record.
    assert qb.queries == [("Invoice", ["130"])]
    assert org.calls == [
        ("upsert", "QB_Transaction__c", 1),
        ("upsert", "QB_Transaction_Line__c", 3),
    ]
    assert outcomes(store) == {("Invoice", "130"): ("done", "created")}
    # One sync log row per event, not per line.
    assert [(k, v["Message__c"]) for k, v in org.logs.items()] == [
        ("ce:Invoice-130-Create-0", "created; 3 lines written")
    ]


def test_a_line_added_changed_and_removed_follows_quickbooks(store, org, qb, worker):
    with_customer_and_items(org)
    qb.put("Invoice", invoice(lines=[(1, 10.0), (2, 20.0), (3, 30.0)]))
    add_event(store, "Invoice", "130", "Create")
    worker.run_once()
    qb.put("Invoice", invoice(lines=[(1, 10.0), (3, 33.0), (4, 40.0)], token=1))
    add_event(store, "Invoice", "130", "Update", n=1)
    org.calls.clear()

    worker.run_once()

    base = key("Invoice", 130)
    assert line_amounts(org) == {f"{base}-1": 10, f"{base}-3": 33, f"{base}-4": 40}
    # The record's old lines are read once, before its lines are written, then deleted.
    assert [c[:2] for c in org.calls] == [
        ("upsert", "QB_Transaction__c"),
        ("query", org.calls[1][1]),
        ("upsert", "QB_Transaction_Line__c"),
        ("delete", ""),
    ]
    assert "WHERE Transaction__r.QB_External_Id__c IN" in org.calls[1][1]
    assert (
        org.logs["ce:Invoice-130-Update-1"]["Message__c"] == "updated; 3 lines written, 1 removed"
    )


def test_line_mappings_into_one_object_keep_each_others_lines(store, org, qb, worker):
    org.config.append(
        mapping_row(
            "Invoice",
            "QB_Transaction_Line__c",
            [("Amount", "Amount__c")],
            id_="a00InvoiceNotes",
            parent="a00Invoice",
            path="Line[DetailType=DescriptionOnly]",
            parent_field="Transaction__c",
        )
    )
    with_customer_and_items(org)
    record = invoice(lines=[(1, 10.0), (2, 20.0)])
    record["Line"].append({"Id": "3", "Amount": 0, "DetailType": "DescriptionOnly"})
    qb.put("Invoice", record)
    add_event(store, "Invoice", "130", "Create")
    worker.run_once()
    record = invoice(lines=[(1, 10.0)], token=1)
    record["Line"].append({"Id": "3", "Amount": 5.0, "DetailType": "DescriptionOnly"})
    qb.put("Invoice", record)
    add_event(store, "Invoice", "130", "Update", n=1)

    worker.run_once()

    base = key("Invoice", 130)
    assert line_amounts(org) == {f"{base}-1": 10, f"{base}-3": 5}
    assert (
        org.logs["ce:Invoice-130-Update-1"]["Message__c"] == "updated; 2 lines written, 1 removed"
    )


def test_lines_travel_in_calls_of_at_most_200(store, org, qb, worker):
    with_customer_and_items(org)
    qb.put("Invoice", invoice(lines=[(n, n * 1.0) for n in range(1, 1001)]))
    add_event(store, "Invoice", "130", "Create")

    worker.run_once()

    assert len(org.records["QB_Transaction_Line__c"]) == 1000
    assert [n for _, _, n in org.upserts("QB_Transaction_Line__c")] == [200] * 5


# --- references not yet in Salesforce ---------------------------------------------------------


def test_an_invoice_for_a_customer_and_items_not_yet_synced_still_lands(store, org, qb, worker):
    qb.put("Customer", customer(24))
    for id_ in ("3", "5", "11"):
        qb.put("Item", item(id_))
    qb.put("Invoice", invoice())
    add_event(store, "Invoice", "130", "Create")

    worker.run_once()

    assert org.get("Account", key("Customer", 24))["Name"] == "Sonnenschein Family Store"
    assert set(org.records["Product2"]) == {key("Item", i) for i in ("3", "5", "11")}
    assert len(org.records["QB_Transaction_Line__c"]) == 3
    assert outcomes(store) == {("Invoice", "130"): ("done", "created")}
    # One query per referenced entity, all the items of the lines in one.
    assert qb.queries == [("Invoice", ["130"]), ("Customer", ["24"]), ("Item", ["11", "3", "5"])]
    # The customer written on the way counts as applied: its own event will find it done.
    applied = store.versions.applied_many(REALM, "Customer", ["24"])
    assert "24" in applied


def test_a_reference_quickbooks_does_not_have_either_is_retried_not_failed(store, org, qb, worker):
    with_customer_and_items(org)
    qb.put("Invoice", invoice(CustomerRef={"value": "99"}))
    add_event(store, "Invoice", "130", "Create")

    worker.run_once()

    (event,) = store.events.events()
    assert event.state == "failed" and event.next_attempt_at is not None  # a retry, with backoff
    assert event.last_error.startswith(
        "a referenced record is not in Salesforce yet: INVALID_FIELD"
    )
    assert org.logs["ce:Invoice-130-Create-0"]["Status__c"] == "Retrying"
    assert org.records["QB_Transaction_Line__c"] == {}
    assert store.versions.applied_many(REALM, "Invoice", ["130"]) == {}


def test_a_failed_line_fails_the_event_and_leaves_the_version_unapplied(store, org, qb, worker):
    with_customer_and_items(org)
    qb.put("Invoice", invoice())
    org.refuse[f"{key('Invoice', 130)}-2"] = {
        "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "message": "Amount too large",
        "fields": [],
    }
    add_event(store, "Invoice", "130", "Create")

    worker.run_once()

    assert outcomes(store)[("Invoice", "130")] == (
        "failed",
        f"line {key('Invoice', 130)}-2: FIELD_CUSTOM_VALIDATION_EXCEPTION: Amount too large",
    )
    assert len(org.records["QB_Transaction_Line__c"]) == 2  # the others went through
    assert store.versions.applied_many(REALM, "Invoice", ["130"]) == {}


# --- payments, voids, deletes -------------------------------------------------------------------


def test_a_payment_applied_to_two_invoices_updates_their_balances(store, org, qb, worker):
    with_customer_and_items(org)
    for id_ in ("70", "71"):
        org.add("QB_Transaction__c", key("Invoice", id_), Balance__c=100.0, Total_Amount__c=100.0)
        qb.put("Invoice", invoice(id_, lines=[(1, 100.0)], token=1, TotalAmt=100.0))
    qb.records["Invoice"]["70"]["Balance"] = 0
    qb.records["Invoice"]["71"]["Balance"] = 40.0
    payment = copy.deepcopy(quickbooks_sample("payment"))
    payment["CustomerRef"] = {"value": "24"}
    payment["TotalAmt"] = 160.0
    payment["Line"] = [
        {"Amount": 100.0, "LinkedTxn": [{"TxnId": "70", "TxnType": "Invoice"}]},
        {"Amount": 60.0, "LinkedTxn": [{"TxnId": "71", "TxnType": "Invoice"}]},
    ]
    qb.put("Payment", payment)
    add_event(store, "Payment", "163", "Create")

    worker.run_once()

    assert org.get("QB_Transaction__c", key("Invoice", 70))["Balance__c"] == 0
    assert org.get("QB_Transaction__c", key("Invoice", 71))["Balance__c"] == 40
    lines = org.records["QB_Payment_Line__c"]
    assert {k: (r["Amount__c"], org.by_id(r["Transaction__c"])[1]["QB_External_Id__c"])
            for k, r in lines.items()} == {
        f"{key('Payment', 163)}-Invoice70": (100, key("Invoice", 70)),
        f"{key('Payment', 163)}-Invoice71": (60, key("Invoice", 71)),
    }  # fmt: skip
    assert qb.queries == [("Payment", ["163"]), ("Invoice", ["70", "71"])]
    assert org.logs["ce:Payment-163-Create-0"]["Message__c"] == "created; 2 lines written"


def test_a_void_keeps_the_record_marks_it_voided_with_quickbooks_amounts(store, org, qb, worker):
    with_customer_and_items(org)
    qb.put("Invoice", invoice())
    add_event(store, "Invoice", "130", "Create")
    worker.run_once()
    voided = invoice(token=1, TotalAmt=0, Balance=0, PrivateNote="Voided")
    for line in voided["Line"]:
        line["Amount"] = 0
    qb.put("Invoice", voided)
    add_event(store, "Invoice", "130", "Void")

    worker.run_once()

    parent = org.get("QB_Transaction__c", key("Invoice", 130))
    assert (parent["Voided__c"], parent["Total_Amount__c"], parent["Balance__c"]) == (True, 0, 0)
    assert set(line_amounts(org).values()) == {0}
    assert outcomes(store)[("Invoice", "130")][0] == "done"


def test_a_deleted_invoice_goes_with_its_lines(store, org, qb, worker):
    with_customer_and_items(org)
    qb.put("Invoice", invoice())
    add_event(store, "Invoice", "130", "Create")
    worker.run_once()
    del qb.records["Invoice"]["130"]
    add_event(store, "Invoice", "130", "Delete")

    worker.run_once()

    assert org.records["QB_Transaction__c"] == {}
    assert org.records["QB_Transaction_Line__c"] == {}
    assert outcomes(store)[("Invoice", "130")] == ("done", "deleted")


def test_a_customer_merge_moves_its_invoices_to_the_survivor(store, org, qb, worker):
    with_customer_and_items(org)
    survivor = org.add("Account", key("Customer", 7), Name="Survivor")
    qb.put("Invoice", invoice())
    add_event(store, "Invoice", "130", "Create")
    worker.run_once()
    # QuickBooks moved the invoice to customer 7 without a webhook of its own.
    qb.put("Invoice", invoice(token=1, CustomerRef={"value": "7"}))
    qb.put("Customer", customer(7, "Survivor"))
    qb.put("Customer", {**customer(24), "Active": False})
    add_event(store, "Customer", "7", "Merge", deleted_id="24")
    qb.queries.clear()

    worker.run_once()

    moved = org.get("QB_Transaction__c", key("Invoice", 130))
    assert moved["Account__c"] == survivor["Id"]
    assert qb.queries == [("Customer", ["7"]), ("Invoice", ["130"])]
    assert outcomes(store)[("Customer", "7")][0] == "done"


def test_a_merge_moves_the_invoices_also_when_the_survivor_was_synced_already(
    store, org, qb, worker
):
    with_customer_and_items(org)
    qb.put("Invoice", invoice())
    add_event(store, "Invoice", "130", "Create")
    worker.run_once()
    qb.put("Invoice", invoice(token=1, CustomerRef={"value": "7"}))
    qb.put("Customer", customer(7, "Survivor"))
    qb.put("Customer", {**customer(24), "Active": False})
    # Reconciliation (or the survivor's own webhook) applies its current version first.
    add_event(store, "Customer", "7", "Update")
    worker.run_once()
    survivor = org.get("Account", key("Customer", 7))
    add_event(store, "Customer", "7", "Merge", deleted_id="24")

    worker.run_once()

    assert org.get("QB_Transaction__c", key("Invoice", 130))["Account__c"] == survivor["Id"]
    assert outcomes(store)[("Customer", "7")][0] == "done"


def paying(*links):
    payment = copy.deepcopy(quickbooks_sample("payment"))
    payment["CustomerRef"] = {"value": "24"}
    payment["Line"] = [
        {"Amount": amount, "LinkedTxn": [{"TxnId": txn, "TxnType": "Invoice"}]}
        for txn, amount in links
    ]
    return payment


def test_an_invoice_a_payment_no_longer_pays_gets_its_balance_back(store, org, qb, worker):
    with_customer_and_items(org)
    for id_ in ("70", "71"):
        qb.put("Invoice", invoice(id_, lines=[(1, 100.0)], token=1, TotalAmt=100.0, Balance=0))
    qb.put("Payment", paying(("70", 100.0), ("71", 100.0)))
    add_event(store, "Payment", "163", "Create")
    worker.run_once()
    # The payment now pays invoice 70 only; QuickBooks gave 71 its balance back.
    qb.put("Payment", {**paying(("70", 100.0)), "SyncToken": "1",
                       "MetaData": {"LastUpdatedTime": "2015-01-17T10:00:00-08:00"}})  # fmt: skip
    qb.records["Invoice"]["71"]["Balance"] = 100.0
    add_event(store, "Payment", "163", "Update", n=1)
    qb.queries.clear()

    worker.run_once()

    assert org.get("QB_Transaction__c", key("Invoice", 71))["Balance__c"] == 100
    assert qb.queries == [("Payment", ["163"]), ("Invoice", ["70", "71"])]
    assert list(org.records["QB_Payment_Line__c"]) == [f"{key('Payment', 163)}-Invoice70"]


def test_a_deleted_payment_gives_its_invoices_their_balance_back(store, org, qb, worker):
    with_customer_and_items(org)
    qb.put("Invoice", invoice("70", lines=[(1, 100.0)], token=1, TotalAmt=100.0, Balance=0))
    qb.put("Payment", paying(("70", 100.0)))
    add_event(store, "Payment", "163", "Create")
    worker.run_once()
    assert org.get("QB_Transaction__c", key("Invoice", 70))["Balance__c"] == 0
    del qb.records["Payment"]["163"]
    qb.records["Invoice"]["70"]["Balance"] = 100.0
    add_event(store, "Payment", "163", "Delete")

    worker.run_once()

    assert org.records["QB_Payment__c"] == {} and org.records["QB_Payment_Line__c"] == {}
    assert org.get("QB_Transaction__c", key("Invoice", 70))["Balance__c"] == 100


def test_a_void_whose_version_was_applied_already_still_marks_the_record(store, org, qb, worker):
    with_customer_and_items(org)
    voided = invoice(token=1, TotalAmt=0, Balance=0)
    qb.put("Invoice", voided)
    add_event(store, "Invoice", "130", "Update")  # as reconciliation would enqueue it
    worker.run_once()
    assert org.get("QB_Transaction__c", key("Invoice", 130)).get("Voided__c") is None
    add_event(store, "Invoice", "130", "Void")

    worker.run_once()

    assert org.get("QB_Transaction__c", key("Invoice", 130))["Voided__c"] is True
